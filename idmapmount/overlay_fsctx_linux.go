//go:build linux

package idmapmount

import (
	"errors"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// fsContext is an overlayfs filesystem context being configured (fsopen,
// Linux 5.2). Closing it before fsmount discards it: nothing was mounted.
type fsContext struct {
	f *os.File
}

func openOverlayContext() (*fsContext, error) {
	fd, err := retryEINTR(func() (int, error) { return unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC) })
	if err != nil {
		se := &StepError{Step: "fsopen", Flags: "FSOPEN_CLOEXEC", Path: "overlay", Err: err}
		if errors.Is(err, unix.ENODEV) {
			se.Hint = "the kernel has no overlayfs: load it with modprobe overlay"
		}
		return nil, se
	}
	return &fsContext{f: os.NewFile(uintptr(fd), "overlay")}, nil
}

func (c *fsContext) Close() error { return c.f.Close() }

// setString sets a string parameter (FSCONFIG_SET_STRING).
func (c *fsContext) setString(key, value string) error {
	_, err := retryEINTR(func() (int, error) { return 0, unix.FsconfigSetString(int(c.f.Fd()), key, value) })
	runtime.KeepAlive(c.f)
	if err != nil {
		return c.stepError("fsconfig(FSCONFIG_SET_STRING)", key+"="+value, err)
	}
	return nil
}

// setFD sets a parameter to the object behind an fd (FSCONFIG_SET_FD).
// name says what the fd is, for the error.
func (c *fsContext) setFD(key string, f *os.File, name string) error {
	_, err := retryEINTR(func() (int, error) { return 0, unix.FsconfigSetFd(int(c.f.Fd()), key, int(f.Fd())) })
	runtime.KeepAlive(c.f)
	runtime.KeepAlive(f)
	if err != nil {
		return c.stepError("fsconfig(FSCONFIG_SET_FD)", key+"="+name, err)
	}
	return nil
}

// create makes the superblock (FSCONFIG_CMD_CREATE).
func (c *fsContext) create() error {
	_, err := retryEINTR(func() (int, error) { return 0, unix.FsconfigCreate(int(c.f.Fd())) })
	runtime.KeepAlive(c.f)
	if err != nil {
		se := c.stepError("fsconfig(FSCONFIG_CMD_CREATE)", "overlay", err)
		if se.Hint == "" {
			// overlayfs reports most failures of building the
			// superblock to the kernel log, not the context's.
			se.Hint = "the kernel logs why: dmesg | grep overlayfs"
		}
		return se
	}
	return nil
}

// mount makes a detached mount of the created superblock (fsmount).
func (c *fsContext) mount(attr int) (*os.File, error) {
	fd, err := retryEINTR(func() (int, error) { return unix.Fsmount(int(c.f.Fd()), unix.FSMOUNT_CLOEXEC, attr) })
	runtime.KeepAlive(c.f)
	if err != nil {
		return nil, c.stepError("fsmount", "overlay", err)
	}
	return os.NewFile(uintptr(fd), "overlay"), nil
}

// stepError wraps err with the kernel's own explanation, which overlayfs
// writes to the context's log ("overlayfs: failed to resolve ...") and
// which is far more precise than the errno.
func (c *fsContext) stepError(step, path string, err error) *StepError {
	se := &StepError{Step: step, Path: path, Err: err}
	if msg := c.log(); msg != "" {
		se.Hint = "the kernel says: " + msg
	}
	return se
}

// log drains the context's message log (read on the fsopen fd; each
// message starts with "e ", "w " or "i ").
func (c *fsContext) log() string {
	var msgs []string
	buf := make([]byte, 1024)
	for {
		n, err := unix.Read(int(c.f.Fd()), buf)
		if err != nil || n <= 0 {
			break
		}
		msg := string(buf[:n])
		if len(msg) > 2 && msg[1] == ' ' {
			msg = msg[2:]
		}
		msgs = append(msgs, strings.TrimSpace(msg))
	}
	runtime.KeepAlive(c.f)
	return strings.Join(msgs, "; ")
}
