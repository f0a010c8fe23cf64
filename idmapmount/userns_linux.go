//go:build linux

package idmapmount

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

var usernsCache struct {
	sync.Mutex
	fds map[string]*os.File
}

// UsernsFD returns a file descriptor for a user namespace whose uid_map and
// gid_map are m (inside = on-disk ID, outside = presented ID), as
// MOUNT_ATTR_IDMAP wants it. One namespace is made per canonical mapping for
// the life of the process; each call returns a new dup of it, which the
// caller closes. Making one needs CAP_SETUID and CAP_SETGID over the IDs
// mapped (root) and Linux 5.2 (CLONE_PIDFD).
func UsernsFD(m Mapping) (*os.File, error) {
	key := m.String()
	usernsCache.Lock()
	defer usernsCache.Unlock()
	f, ok := usernsCache.fds[key]
	if !ok {
		var err error
		if f, err = NewUsernsFD(m); err != nil {
			return nil, err
		}
		if usernsCache.fds == nil {
			usernsCache.fds = map[string]*os.File{}
		}
		usernsCache.fds[key] = f
	}
	return dupFile(f)
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("dup userns fd", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// NewUsernsFD makes a new user namespace with the maps of m and returns a
// file descriptor for it, bypassing the cache. The helper process it
// clones is killed and reaped before NewUsernsFD returns, also on error.
func NewUsernsFD(m Mapping) (_ *os.File, retErr error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var pidfd int32 = -1
	pid, errno := forkUserns(&pidfd)
	if errno != 0 {
		return nil, fmt.Errorf("clone(CLONE_NEWUSER): %w", userNsHint(errno))
	}
	defer reap(int(pidfd))()
	proc := "/proc/" + strconv.Itoa(int(pid))
	for _, x := range []struct {
		file string
		im   IDMap
	}{{"uid_map", orPlaceholder(m.UID)}, {"gid_map", orPlaceholder(m.GID)}} {
		if err := writeProcFile(proc+"/"+x.file, procIDMapText(x.im)); err != nil {
			return nil, fmt.Errorf("write %s of the user namespace for %q: %w", x.file, m.String(), userNsHint(err))
		}
	}
	fd, err := unix.Open(proc+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open user namespace: %w", &os.PathError{Op: "open", Path: proc + "/ns/user", Err: err})
	}
	return os.NewFile(uintptr(fd), proc+"/ns/user"), nil
}

// writeProcFile writes data to a /proc file in one write(2), as uid_map
// and gid_map require. It uses the raw system calls, not os.File: an
// os.File would start the runtime's poller (epoll_create, eventfd, a
// failed EPOLL_CTL_ADD) for nothing, in a process that may make one mount
// and exit.
func writeProcFile(path, data string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(data))
	if err == nil && n != len(data) {
		err = unix.EIO
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// placeholder stands in for an empty map: mount_setattr refuses a user
// namespace without both maps (EINVAL), but a u:-only spec means "every gid
// unmapped". Mapping only (gid_t)-2 to itself comes closest: no real file
// has it, and every other ID still shows as the overflow ID.
var placeholder = IDMap{{From: NoID - 1, To: NoID - 1, Count: 1}}

func orPlaceholder(im IDMap) IDMap {
	if len(im) == 0 {
		return placeholder
	}
	return im
}

// reap kills the helper process behind pidfd at once and returns a
// function that, deferred, waits for it and closes the pidfd in the
// background: the namespace fd is already open, and the helper's exit
// (tearing down its copy of our address space, ~0.15 ms) need not delay the
// caller. A killed helper cannot run again; if this process exits first, it
// is reaped by init like any orphan.
func reap(pidfd int) func() {
	return func() {
		_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		go func() {
			var info unix.Siginfo
			for unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED, nil) == unix.EINTR {
			}
			_ = unix.Close(pidfd)
		}()
	}
}

func userNsHint(err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%w (making a user namespace with arbitrary maps needs root: CAP_SETUID and CAP_SETGID)", err)
	}
	if errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("%w (user.max_user_namespaces reached?)", err)
	}
	return err
}
