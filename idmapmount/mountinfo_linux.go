//go:build linux

package idmapmount

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// MountOf returns the mount-table entry of the mount that holds path,
// matched by mount ID (statx STATX_MNT_ID, Linux 5.8), so over-mounts and
// bind mounts are told apart. The returned path is absolute and resolved.
func MountOf(path string) (*mountinfo.Info, string, error) {
	m, abs, _, err := mountAndTable(path)
	return m, abs, err
}

// mountAndTable is MountOf that also returns the whole mount table it read,
// for callers that need more of it (one read of /proc/self/mountinfo).
func mountAndTable(path string) (*mountinfo.Info, string, []*mountinfo.Info, error) {
	abs, err := resolve(path)
	if err != nil {
		return nil, "", nil, err
	}
	id, err := mountID(abs)
	if err != nil {
		return nil, abs, nil, err
	}
	all, err := mountTable()
	if err != nil {
		return nil, abs, nil, err
	}
	for _, m := range all {
		if m.ID == id {
			return m, abs, all, nil
		}
	}
	return nil, abs, all, fmt.Errorf("find mount of %s: mount id %d not in /proc/self/mountinfo", abs, id)
}

// resolve makes path absolute and resolves its symlinks, as mountinfo
// filters want.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	return real, nil
}

func mountID(path string) (int, error) {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID, &st)
	if err != nil {
		return 0, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	return int(st.Mnt_id), nil
}

// Submounts returns the mounts below the mount m (its descendants in the
// mount tree), parents before children.
func Submounts(m *mountinfo.Info) ([]*mountinfo.Info, error) {
	all, err := mountTable()
	if err != nil {
		return nil, err
	}
	return submountsIn(all, m), nil
}

// mountTable reads and parses the caller's mount table, as
// mountinfo.GetMounts(nil) does, but with raw reads: os.File would start
// the runtime's poller (/proc/*/mountinfo is pollable) in a process that
// reads the table once and exits. The file is read in one pass so the
// kernel gives a consistent snapshot when it fits the buffer.
func mountTable() ([]*mountinfo.Info, error) {
	const path = "/proc/thread-self/mountinfo"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 16<<10)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read mount table: %w", &os.PathError{Op: "read", Path: path, Err: err})
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	all, err := mountinfo.GetMountsFromReader(bytes.NewReader(buf), nil)
	if err != nil {
		return nil, fmt.Errorf("parse mount table %s: %w", path, err)
	}
	return all, nil
}

func submountsIn(all []*mountinfo.Info, m *mountinfo.Info) []*mountinfo.Info {
	children := map[int][]*mountinfo.Info{}
	for _, i := range all {
		if i.ID != i.Parent {
			children[i.Parent] = append(children[i.Parent], i)
		}
	}
	var out []*mountinfo.Info
	for queue := children[m.ID]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0].ID]...)
	}
	return out
}

// IsIDMapped reports whether a mount-table entry is an idmapped mount.
func IsIDMapped(m *mountinfo.Info) bool {
	return slices.Contains(strings.Split(m.Options, ","), "idmapped")
}
