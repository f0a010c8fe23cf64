//go:build linux

package idmapmount

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Unmount unmounts the idmapped mount at target (umount2). It refuses a
// path that is not a mount point, and, unless opts.Force, a mount that is
// neither idmapped nor an overlay made by Overlay, so that a typo cannot
// unmount the wrong thing. The submounts of a recursive idmapped mount are
// unmounted with it, and an overlay's record is removed with it (Overlay
// leaves nothing else attached: its layers are private to the overlay). A
// bind made by the chown fallback counts as idmapped when its record
// (RecordBind) is found in opts.StateDir, and its record goes with it.
func Unmount(target string, opts UnmountOptions) error {
	m, abs, all, err := mountAndTable(target)
	if err != nil {
		return &StepError{Step: "find mount", Path: target, Err: errnoOf(err)}
	}
	if m.Mountpoint != abs {
		return &StepError{Step: "check target", Path: target, Err: ErrNotMountPoint,
			Hint: fmt.Sprintf("%s is inside the mount at %s", abs, m.Mountpoint)}
	}
	stateDir := opts.StateDir
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	overlay := IsIDMapkitOverlay(m)
	var bind *BindRecord
	if !IsIDMapped(m) && !overlay {
		if bind, err = bindRecordAt(stateDir, abs); err != nil {
			return err
		}
		if bind == nil && !opts.Force {
			return &StepError{Step: "check target", Path: target, Err: ErrNotIDMapped,
				Hint: fmt.Sprintf("%s is a %s mount without the idmapped option, and no fallback bind recorded in %s; pass --force to unmount it anyway", abs, m.FSType, stateDir)}
		}
	}
	subs := submountsIn(all, m)
	for _, sub := range subs {
		if !IsIDMapped(sub) && !IsIDMapkitOverlay(sub) && !opts.Force {
			return &StepError{Step: "check submounts", Path: sub.Mountpoint, Err: ErrNotIDMapped,
				Hint: fmt.Sprintf("a %s mount not made by idmapkit sits below %s; unmount it first or pass --force", sub.FSType, abs)}
		}
	}
	// A recursive idmapped mount brought its submounts along: unmount
	// them deepest first, then the mount itself.
	for i := len(subs) - 1; i >= 0; i-- {
		if err := umount(subs[i].Mountpoint, opts); err != nil {
			return err
		}
	}
	switch {
	case overlay:
		return umountOverlay(abs, opts)
	case bind != nil:
		if err := umount(abs, opts); err != nil {
			return err
		}
		return ForgetBind(bind, stateDir)
	}
	return umount(abs, opts)
}

// umountOverlay unmounts an overlay made by Overlay and removes its
// record. The record is found by the mount ID read before the unmount.
func umountOverlay(abs string, opts UnmountOptions) error {
	id, _, err := pathMountID(abs)
	if err != nil {
		return &StepError{Step: "statx(STATX_MNT_ID_UNIQUE)", Path: abs, Err: err}
	}
	if err := umount(abs, opts); err != nil {
		return err
	}
	dir := opts.StateDir
	if dir == "" {
		dir = DefaultStateDir
	}
	return removeRecord(dir, id)
}

func umount(path string, opts UnmountOptions) error {
	flags := unix.UMOUNT_NOFOLLOW
	if opts.Lazy {
		flags |= unix.MNT_DETACH
	}
	if _, err := retryEINTR(func() (int, error) { return 0, unix.Unmount(path, flags) }); err != nil {
		se := &StepError{Step: "umount2", Flags: umountFlags(opts), Path: path, Err: err}
		switch err {
		case unix.EBUSY:
			se.Hint = "the mount is in use; pass --lazy to detach it now and free it when it is no longer busy"
		case unix.EPERM:
			se.Hint = "unmounting needs CAP_SYS_ADMIN: run as root"
		}
		return se
	}
	return nil
}

func umountFlags(opts UnmountOptions) string {
	if opts.Lazy {
		return "UMOUNT_NOFOLLOW|MNT_DETACH"
	}
	return "UMOUNT_NOFOLLOW"
}
