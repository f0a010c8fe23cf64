package fsprobe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// loopDevice is a loop device bound to an image with LO_FLAGS_AUTOCLEAR:
// the kernel unbinds it when its last user goes (the fd here and the
// filesystem mounted from it), so a crash or Ctrl-C cannot leak it.
type loopDevice struct {
	f *os.File
	n int
}

// loopGetFreeTries bounds the race with other processes between
// LOOP_CTL_GET_FREE and LOOP_CONFIGURE (EBUSY: someone took the device
// first); util-linux's losetup retries the same way.
const loopGetFreeTries = 16

// newLoop binds image to a free loop device (LOOP_CTL_GET_FREE, then
// LOOP_CONFIGURE, Linux 5.8) with LO_FLAGS_AUTOCLEAR.
func newLoop(image string) (*loopDevice, error) {
	img, err := os.OpenFile(image, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	for range loopGetFreeTries {
		l, err := tryLoop(ctl, img)
		if !errors.Is(err, unix.EBUSY) {
			return l, err
		}
	}
	return nil, fmt.Errorf("bind %s to a loop device: every free device was taken first %d times: %w", image, loopGetFreeTries, unix.EBUSY)
}

func tryLoop(ctl, img *os.File) (*loopDevice, error) {
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		return nil, &os.PathError{Op: "ioctl(LOOP_CTL_GET_FREE)", Path: ctl.Name(), Err: err}
	}
	dev := fmt.Sprintf("/dev/loop%d", n)
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cfg := unix.LoopConfig{Fd: uint32(img.Fd())}
	cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
	if err := unix.IoctlLoopConfigure(int(f.Fd()), &cfg); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "ioctl(LOOP_CONFIGURE)", Path: dev, Err: err}
	}
	return &loopDevice{f: f, n: n}, nil
}

func (l *loopDevice) Path() string { return fmt.Sprintf("/dev/loop%d", l.n) }

// loopClearTimeout bounds the wait for the kernel to unbind a device after
// its last user went; it takes well under a millisecond here, but the
// final release may run from a workqueue.
const loopClearTimeout = 5 * time.Second

// Close drops this fd and waits until the device is unbound, which it
// is once the filesystem on it is gone too.
func (l *loopDevice) Close() error {
	l.f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), loopClearTimeout)
	defer cancel()
	for bound(l.n) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still bound %v after its last user went", l.Path(), loopClearTimeout)
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// bound reports whether loop device n has a backing file: its sysfs
// "loop" directory exists only then.
func bound(n int) bool {
	_, err := os.Stat(fmt.Sprintf("/sys/block/loop%d/loop", n))
	return err == nil
}
