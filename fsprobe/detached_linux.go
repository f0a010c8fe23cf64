package fsprobe

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// fsParam is one fsconfig(FSCONFIG_SET_STRING) key and value.
type fsParam struct{ key, value string }

// newDetached makes a new filesystem of type fstype and returns its
// detached, never attached mount (fsopen, fsconfig, fsmount: Linux 5.2).
// Closing the file frees it; no unmount is needed. source may be empty.
func newDetached(fstype, source string, params ...fsParam) (*os.File, error) {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "fsopen", Path: fstype, Err: err}
	}
	defer unix.Close(fsfd)
	if source != "" {
		params = append([]fsParam{{"source", source}}, params...)
	}
	for _, p := range params {
		if err := unix.FsconfigSetString(fsfd, p.key, p.value); err != nil {
			return nil, fmt.Errorf("fsconfig %s %s=%s: %w", fstype, p.key, p.value, err)
		}
	}
	name := source
	if name == "" {
		name = fstype
	}
	return createAndMount(fsfd, name)
}

// createAndMount creates the superblock of a configured filesystem
// context and returns a detached mount of it.
func createAndMount(fsfd int, what string) (*os.File, error) {
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("fsconfig(FSCONFIG_CMD_CREATE) %s: %w", what, err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("fsmount %s: %w", what, err)
	}
	return os.NewFile(uintptr(mfd), what), nil
}

// idmapDetached applies MOUNT_ATTR_IDMAP with userns to a detached mount
// (mount_setattr, Linux 5.12). Only a mount never attached can be
// idmapped, which is what makes this safe to try.
func idmapDetached(mnt, userns *os.File) error {
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	err := unix.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH, &attr)
	runtime.KeepAlive(mnt)
	runtime.KeepAlive(userns)
	if err != nil {
		return &os.PathError{Op: "mount_setattr(MOUNT_ATTR_IDMAP)", Path: mnt.Name(), Err: err}
	}
	return nil
}

// idmappedTmpfs returns a detached, idmapped tmpfs.
func idmappedTmpfs(userns *os.File) (*os.File, error) {
	mnt, err := newDetached("tmpfs", "probe", fsParam{"mode", "0755"})
	if err != nil {
		return nil, err
	}
	if err := idmapDetached(mnt, userns); err != nil {
		mnt.Close()
		return nil, err
	}
	return mnt, nil
}

// idmapScratchTmpfs is the control probe: can a private tmpfs be idmapped?
func idmapScratchTmpfs(userns *os.File) error {
	mnt, err := idmappedTmpfs(userns)
	if err != nil {
		return err
	}
	return mnt.Close()
}
