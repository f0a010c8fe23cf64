//go:build linux

package idmapmount

import (
	"os"

	"golang.org/x/sys/unix"
)

// singleLayer mounts a read-only view of one lower layer with no upper.
// overlayfs refuses to build that (without an upper it needs two lower
// layers), and it would add nothing: a read-only idmapped bind mount of
// the layer presents exactly the same tree. The result is listed and
// unmounted as the idmapped mount it is, so no overlay record is written;
// an AsIs layer (a shifted copy, from the chown fallback) makes a plain
// bind, which is recorded as a fallback bind (RecordBind) for the same
// reason.
func singleLayer(target string, cfg OverlayConfig, userns *os.File) (*OverlayRecord, error) {
	l := cfg.Lower[0]
	var tree *os.File
	var err error
	if l.AsIs {
		tree, err = readOnlyClone(l.Dir)
	} else {
		tree, err = Tree(l.Dir, userns, Options{ReadOnly: true})
	}
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	id, unique, err := fdMountID(tree)
	if err != nil {
		return nil, &StepError{Step: "statx(STATX_MNT_ID_UNIQUE)", Path: l.Dir, Err: err}
	}
	var bind *BindRecord
	if l.AsIs {
		bind, err = RecordBind(tree, target, BindRecord{Source: l.Dir, Mapping: cfg.Mapping.Sorted().String(), Method: "chown"}, cfg.stateDir())
		if err != nil {
			return nil, err
		}
	}
	if err := Attach(tree, target); err != nil {
		if bind != nil {
			_ = ForgetBind(bind, cfg.stateDir())
		}
		return nil, err
	}
	abs, err := resolve(target)
	if err != nil {
		abs = target
	}
	return &OverlayRecord{Target: abs, MountID: id, UniqueID: unique, Lower: cfg.Lower,
		Mapping: cfg.Mapping.String(), ReadOnly: true, Method: "bind"}, nil
}

// readOnlyClone is a detached read-only bind mount of dir, not idmapped.
func readOnlyClone(dir string) (_ *os.File, retErr error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	})
	if err != nil {
		return nil, &StepError{Step: "open_tree", Flags: "OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), dir)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY, Propagation: unix.MS_PRIVATE}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		f.Close()
		return nil, &StepError{Step: "mount_setattr", Flags: "MOUNT_ATTR_RDONLY", Path: dir, Err: err}
	}
	return f, nil
}
