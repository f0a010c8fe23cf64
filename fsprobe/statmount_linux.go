package fsprobe

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// tryStatmountUIDMap attaches an idmapped tmpfs in a scratch mount
// namespace (statmount finds mounts only in a namespace, not detached
// ones) and asks statmount for its uid map, which must be probeMapping's.
func tryStatmountUIDMap(dir string, userns *os.File) error {
	target, err := scratchDir(dir, "statmount")
	if err != nil {
		return err
	}
	return inScratchNS(func() error {
		if err := attachIDMappedTmpfs(target, userns); err != nil {
			return err
		}
		var st unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, target, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID_UNIQUE, &st); err != nil {
			return &os.PathError{Op: "statx", Path: target, Err: err}
		}
		if st.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
			return &refusal{"statx gives no unique mount ID (STATX_MNT_ID_UNIQUE, Linux 6.8), so there is no statmount", unix.ENOSYS}
		}
		r, err := idmapmount.Statmount(st.Mnt_id, idmapmount.StatmountMntUIDMap)
		switch {
		case errors.Is(err, unix.ENOSYS):
			return &refusal{"the kernel has no statmount (Linux 6.8)", err}
		case errors.Is(err, unix.EINVAL):
			return &refusal{"statmount does not take STATMOUNT_MNT_UIDMAP", err}
		case err != nil:
			return fmt.Errorf("statmount %s: %w", target, err)
		case r.Mask&idmapmount.StatmountMntUIDMap == 0:
			return &refusal{"statmount leaves out STATMOUNT_MNT_UIDMAP (Linux 6.15)", unix.EOPNOTSUPP}
		}
		want := fmt.Sprintf("%d %d %d", probeMapping.UID[0].From, probeMapping.UID[0].To, probeMapping.UID[0].Count)
		if got := strings.Join(strings.Fields(strings.Join(r.UIDMap, "\n")), " "); got != want {
			return fmt.Errorf("statmount %s: uid map %q, want %q", target, got, want)
		}
		return nil
	})
}
