//go:build linux

package idmapmount

import (
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
	abs, err := resolve(path)
	if err != nil {
		return nil, "", err
	}
	id, err := mountID(abs)
	if err != nil {
		return nil, abs, err
	}
	mounts, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.ID != id, i.ID == id
	})
	if err != nil {
		return nil, abs, fmt.Errorf("read mount table: %w", err)
	}
	if len(mounts) == 0 {
		return nil, abs, fmt.Errorf("find mount of %s: mount id %d not in /proc/self/mountinfo", abs, id)
	}
	return mounts[0], abs, nil
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
// mount tree), in mount-table order.
func Submounts(m *mountinfo.Info) ([]*mountinfo.Info, error) {
	all, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
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
	return out, nil
}

// IsIDMapped reports whether a mount-table entry is an idmapped mount.
func IsIDMapped(m *mountinfo.Info) bool {
	return slices.Contains(strings.Split(m.Options, ","), "idmapped")
}
