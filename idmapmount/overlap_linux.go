//go:build linux

package idmapmount

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

type devIno struct{ dev, ino uint64 }

// idChain returns the device and inode of real (an absolute path without
// symlinks) and of each directory above it, up to /.
func idChain(real string) ([]devIno, error) {
	var out []devIno
	for p := real; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return nil, err
		}
		out = append(out, devIno{st.Dev, st.Ino})
		if p == "/" {
			return out, nil
		}
	}
}

// Overlapping reports whether directories a and b are the same or one is
// inside the other. It compares devices and inodes, so that the same tree
// reached through a symlink or a bind mount counts as the same; a path
// that cannot be resolved overlaps nothing.
func Overlapping(a, b string) bool {
	ta, err := newTree(a)
	if err != nil {
		return false
	}
	tb, err := newTree(b)
	if err != nil {
		return false
	}
	return slices.Contains(ta.chain, tb.chain[0]) || slices.Contains(tb.chain, ta.chain[0])
}

// tree is a directory to check against many others: its real path and
// the devices and inodes of it and its ancestors, found once.
type tree struct {
	real  string
	chain []devIno
}

func newTree(path string) (tree, error) {
	real, err := resolve(path)
	if err != nil {
		return tree{}, err
	}
	chain, err := idChain(real)
	return tree{real, chain}, err
}

// overlaps reports whether other, an absolute path without symlinks (as
// the mount table gives one), is t, holds t, or lies inside t. The first
// two are told by device and inode, so an alias of other through a bind
// mount is caught; the third by path, which costs one stat per other
// directory instead of one per ancestor.
func (t tree) overlaps(other string) bool {
	var st unix.Stat_t
	if unix.Stat(other, &st) != nil {
		return false
	}
	return slices.Contains(t.chain, devIno{st.Dev, st.Ino}) || within(other, t.real)
}

// overlayDirsInUse returns the upper and work directories of the overlays
// in the mount table (mounted here, covered or not), by whoever made
// them, that are given as absolute paths (a relative one, as mount(8)
// passes it through, says nothing without the mounter's working directory).
func overlayDirsInUse() (map[string]string, error) {
	all, err := mountTable()
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{} // directory -> mount point
	for _, m := range all {
		if m.FSType != "overlay" {
			continue
		}
		for _, opt := range strings.Split(m.VFSOptions, ",") {
			key, val, ok := strings.Cut(opt, "=")
			if ok && (key == "upperdir" || key == "workdir") {
				if val = unescapeOctal(val); filepath.IsAbs(val) {
					dirs[val] = m.Mountpoint
				}
			}
		}
	}
	return dirs, nil
}

// unescapeOctal undoes the \NNN escapes the kernel writes in mount
// options (for ',', ' ', tab, newline and '\').
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
