//go:build linux

package idmapmount

import (
	"fmt"
	"os"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// fdMountID returns the mount ID of the mount f is on: the unique one
// (Linux 6.8) where the kernel has it, else the reusable one.
func fdMountID(f *os.File) (uint64, bool, error) {
	var st unix.Statx_t
	err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID_UNIQUE|unix.STATX_MNT_ID, &st)
	if err != nil {
		return 0, false, err
	}
	return st.Mnt_id, st.Mask&unix.STATX_MNT_ID_UNIQUE != 0, nil
}

// kernelBefore reports whether the running kernel is older than
// major.minor. It only interprets an EINVAL from FSCONFIG_CMD_CREATE:
// 6.13 and 6.14 take layer fds but fail to clone a detached mount, with
// nothing in the context log to tell that from a bad layer. A backport
// that does take them only costs the staging detour.
func kernelBefore(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma < major || ma == major && mi < minor
}

// pathMountID is fdMountID for the mount at path (not following a final
// symlink).
func pathMountID(path string) (uint64, bool, error) {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID_UNIQUE|unix.STATX_MNT_ID, &st)
	if err != nil {
		return 0, false, err
	}
	return st.Mnt_id, st.Mask&unix.STATX_MNT_ID_UNIQUE != 0, nil
}

// IsIDMapkitOverlay reports whether a mount-table entry is an overlay
// made by Overlay (source "idmapkit").
func IsIDMapkitOverlay(m *mountinfo.Info) bool {
	return m.FSType == "overlay" && m.Source == OverlaySource
}
