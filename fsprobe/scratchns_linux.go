package fsprobe

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inScratchNS runs f on an OS thread of its own in a new, private mount
// namespace (unshare CLONE_NEWNS, every mount made private so nothing
// propagates back). What f attaches there is seen by no other thread or
// process, and goes away with the namespace: the thread is never
// unlocked, so it exits with the goroutine, dropping its namespace.
// For the few checks that need a mount attached somewhere (statmount
// only looks up mounts in a namespace; older overlayfs takes only
// attached layers).
func inScratchNS(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread is never ended (the runtime wedges it
			// instead), and its namespace is the one /proc/self shows to
			// every thread. Hold it while another thread does the work:
			// a locked, blocked thread runs no other goroutine.
			defer runtime.UnlockOSThread()
			errc <- inScratchNS(f)
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- fmt.Errorf("make / private in the scratch mount namespace: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// attach moves a detached mount onto target (move_mount, Linux 5.2); only
// ever called inside inScratchNS.
func attach(mnt *os.File, target string) error {
	err := unix.MoveMount(int(mnt.Fd()), "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
	runtime.KeepAlive(mnt)
	if err != nil {
		return &os.PathError{Op: "move_mount", Path: target, Err: err}
	}
	return nil
}
