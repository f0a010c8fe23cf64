package chownfallback

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// meta is what a shift may and may not change about an inode, as a test
// compares it. ctime is left out: every change sets it.
type meta struct {
	Mode     uint32
	UID, GID uint32
	Size     int64
	Mtime    unix.Timespec
	Rdev     uint64
	Nlink    uint64
	Link     string            // symlink target
	Xattrs   map[string]string // all of them, raw
	Content  string            // regular files under 4 KiB
	Ino      uint64
	LinkedTo string // the first path seen with the same inode
}

// snapshot records every inode under root, walking by fd (paths may be
// longer than PATH_MAX), without crossing mounts.
func snapshot(t testing.TB, root string) map[string]meta {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	out := map[string]meta{}
	inodes := map[uint64]string{}
	out["."] = statMeta(t, fd, ".", &st, inodes, ".")
	snapDir(t, fd, "", st.Dev, out, inodes)
	return out
}

func snapDir(t testing.TB, dir int, prefix string, dev uint64, out map[string]meta, inodes map[uint64]string) {
	f := os.NewFile(uintptr(dir), prefix)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		t.Fatalf("readdir %q: %v", prefix, err)
	}
	sort.Strings(names)
	for _, name := range names {
		rel := prefix + name
		var st unix.Stat_t
		if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatalf("stat %q: %v", rel, err)
		}
		out[rel] = statMeta(t, dir, name, &st, inodes, rel)
		if st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Dev == dev {
			sub, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatalf("open %q: %v", rel, err)
			}
			snapDir(t, sub, rel+"/", dev, out, inodes)
		}
	}
}

func statMeta(t testing.TB, dir int, name string, st *unix.Stat_t, inodes map[uint64]string, rel string) meta {
	m := meta{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size, Mtime: st.Mtim, Rdev: st.Rdev, Nlink: st.Nlink, Ino: st.Ino, Xattrs: map[string]string{}}
	if first, ok := inodes[st.Ino]; ok {
		m.LinkedTo = first
	} else {
		inodes[st.Ino] = rel
	}
	p := procFD(dir) + "/" + name
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			t.Fatalf("readlink %q: %v", rel, err)
		}
		m.Link = string(buf[:n])
	case unix.S_IFREG:
		if st.Size < 4096 {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("read %q: %v", rel, err)
			}
			m.Content = string(b)
		}
	}
	if name == "." {
		p = procFD(dir)
	}
	list := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, list)
	if name == "." {
		n, err = unix.Listxattr(p, list)
	}
	if err != nil {
		t.Fatalf("listxattr %q: %v", rel, err)
	}
	for _, attr := range strings.Split(strings.TrimRight(string(list[:n]), "\x00"), "\x00") {
		if attr == "" {
			continue
		}
		val := make([]byte, 64<<10)
		get := unix.Lgetxattr
		if name == "." {
			get = unix.Getxattr
		}
		vn, err := get(p, attr, val)
		if err != nil {
			t.Fatalf("getxattr %q %s: %v", rel, attr, err)
		}
		m.Xattrs[attr] = string(val[:vn])
	}
	return m
}

// diffSnapshots lists how two snapshots differ (at most max lines).
func diffSnapshots(a, b map[string]meta, max int) []string {
	var out []string
	add := func(format string, args ...any) {
		if len(out) < max {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		x, okx := a[k]
		y, oky := b[k]
		switch {
		case !okx || !oky:
			add("%q: only in one (%v, %v)", k, okx, oky)
		case !sameMeta(x, y):
			add("%q:\n  %+v\n  %+v", k, x, y)
		}
	}
	return out
}

// sameMeta compares everything but the inode number itself (two copies of
// a tree differ there); hardlinks compare by LinkedTo.
func sameMeta(x, y meta) bool {
	x.Ino, y.Ino = 0, 0
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func requireSame(t testing.TB, what string, want, got map[string]meta) {
	t.Helper()
	if d := diffSnapshots(want, got, 20); len(d) > 0 {
		t.Fatalf("%s: %d+ differences:\n%s", what, len(d), strings.Join(d, "\n"))
	}
}
