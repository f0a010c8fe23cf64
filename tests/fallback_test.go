//go:build linux

package tests

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

const fbSpec = "b:0:100000:65536"

// fbInode is what a reader sees of one inode.
type fbInode struct {
	Mode, UID, GID uint32
	Size           int64
	Nlink          uint64
	Rdev           uint64
	Mtime          unix.Timespec
	Link           string
	Content        string // sha256 of a regular file
	Xattrs         string // every xattr, raw, sorted by name
	HardlinkOf     string // the first path with the same inode
}

// fbView is a reader's view of a tree: every inode by path, and what
// getfacl -n and getcap -n print for it.
type fbView struct {
	inodes        map[string]fbInode
	getfacl, caps string
}

// readView reads the tree at root as any reader would, through whatever
// mount it is.
func readView(t *testing.T, root string) fbView {
	t.Helper()
	v := fbView{inodes: map[string]fbInode{}}
	first := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		in := fbInode{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size, Nlink: uint64(st.Nlink), Rdev: st.Rdev, Mtime: st.Mtim}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if f, seen := first[st.Ino]; seen {
				in.HardlinkOf = f
			} else {
				first[st.Ino] = rel
			}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			in.Link, _ = os.Readlink(p)
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			in.Content = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		in.Xattrs = rawXattrs(t, p)
		v.inodes[rel] = in
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	v.getfacl = toolOutput(t, root, "getfacl", "-R", "-n", "-p", ".")
	v.caps = toolOutput(t, root, "getcap", "-n", "-r", ".")
	return v
}

func rawXattrs(t *testing.T, p string) string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("llistxattr %s: %v", p, err)
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		val := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			t.Fatalf("lgetxattr %s %s: %v", p, name, err)
		}
		fmt.Fprintf(&b, "%s=%x;", name, val[:m])
	}
	return b.String()
}

// toolOutput runs a tool in dir, its output lines sorted (the walk
// order of a copy differs).
func toolOutput(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testutil.RequireCmd(t, name), args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v in %s: %v", name, args, dir, err)
	}
	blocks := strings.Split(string(out), "\n\n") // getfacl: one block per file
	if name != "getfacl" {
		blocks = strings.Split(string(out), "\n")
	}
	sort.Strings(blocks)
	return strings.Join(blocks, "\n--\n")
}

// sameView fails t where two views differ, leaving out the paths in
// skip.
func sameView(t *testing.T, what string, want, got fbView, skip ...string) {
	t.Helper()
	if len(want.inodes) != len(got.inodes) {
		t.Errorf("%s: %d inodes, want %d", what, len(got.inodes), len(want.inodes))
	}
	for p, w := range want.inodes {
		if contains(skip, p) {
			continue
		}
		if g, ok := got.inodes[p]; !ok || g != w {
			t.Errorf("%s: %q\n got %+v\nwant %+v", what, p, g, w)
		}
	}
	if len(skip) == 0 && want.getfacl != got.getfacl {
		t.Errorf("%s: getfacl -n differs:\n%s\nwant\n%s", what, got.getfacl, want.getfacl)
	}
	if want.caps != got.caps {
		t.Errorf("%s: getcap -n differs:\n%s\nwant\n%s", what, got.caps, want.caps)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// richTree builds a tree with what the mapping must carry: owners in
// and out of the range, setuid and setgid bits, ACLs (access and
// default), file capabilities (v2 and v3 with a rootid), hardlinks,
// symlinks, a device and a FIFO.
func richTree(t *testing.T, root string) {
	t.Helper()
	for _, c := range []struct {
		path       string
		mode       uint32
		uid, gid   int
		dir, fifo  bool
		dev        uint64
		link, hard string
	}{
		{path: "d", mode: 0o755, dir: true},
		{path: "d/file", mode: 0o644},
		{path: "d/user", mode: 0o640, uid: 1000, gid: 1000},
		{path: "d/suid", mode: 0o4755},
		{path: "d/sgid", mode: 0o2755, gid: 50},
		{path: "d/cap", mode: 0o755},
		{path: "d/cap3", mode: 0o750, uid: 1000},
		{path: "d/acl", mode: 0o640},
		{path: "d/dacl", mode: 0o2775, dir: true},
		{path: "d/dacl/inner", mode: 0o644, uid: 9},
		{path: "d/out", mode: 0o644, uid: 70000, gid: 70001},
		{path: "d/fifo", mode: 0o600, fifo: true},
		{path: "d/null", mode: 0o666, dev: unix.Mkdev(1, 3)},
		{path: "d/sl", uid: 5, gid: 5, link: "file"},
		{path: "d/hard", hard: "d/file"},
	} {
		p := filepath.Join(root, c.path)
		var err error
		switch {
		case c.dir:
			err = os.Mkdir(p, 0o700)
		case c.fifo:
			err = unix.Mkfifo(p, 0o600)
		case c.dev != 0:
			err = unix.Mknod(p, unix.S_IFCHR|0o600, int(c.dev))
		case c.link != "":
			err = os.Symlink(c.link, p)
		case c.hard != "":
			err = os.Link(filepath.Join(root, c.hard), p)
		default:
			err = os.WriteFile(p, []byte(c.path), 0o600)
		}
		if err == nil && c.hard == "" {
			err = os.Lchown(p, c.uid, c.gid)
		}
		if err == nil && c.link == "" && c.hard == "" {
			err = os.Chmod(p, fs.FileMode(c.mode&0o777)|modeBits(c.mode))
		}
		if err != nil {
			t.Fatalf("fixture %s: %v", c.path, err)
		}
	}
	testutil.Run(t, testutil.RequireCmd(t, "setfacl"), "-m", "u:5:rw,g:7:r", filepath.Join(root, "d/acl"))
	testutil.Run(t, "setfacl", "-d", "-m", "u:9:rx,g:9:rx", filepath.Join(root, "d/dacl"))
	testutil.Run(t, testutil.RequireCmd(t, "setcap"), "cap_net_raw+ep", filepath.Join(root, "d/cap"))
	testutil.Run(t, "setcap", "-n", "1000", "cap_net_raw+ep", filepath.Join(root, "d/cap3"))
}

func modeBits(m uint32) fs.FileMode {
	var b fs.FileMode
	if m&0o4000 != 0 {
		b |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		b |= fs.ModeSetgid
	}
	return b
}

// fbBase is a tmpfs with the rich tree in "src", a copy of it in "copy",
// and a cache directory; idmapkit's state goes to a fresh directory.
func fbBase(t *testing.T) (base string) {
	t.Helper()
	t.Setenv("IDMAPKIT_STATE_DIR", t.TempDir())
	base = testutil.Tmpfs(t)
	t.Setenv("IDMAPKIT_CACHE_DIR", filepath.Join(base, "cache"))
	for _, d := range []string{"src", "top", "A", "B", "C", "D"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	richTree(t, base+"/src")
	if err := os.WriteFile(base+"/top/topfile", []byte("top"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "cp", "-a", "--preserve=xattr", base+"/src", base+"/copy")
	return base
}

// TestFallbackInvariant is the invariant that ties the toolkit together:
// for one mapping, a reader sees exactly the same tree (owners, modes with
// setuid bits, ACLs, file capabilities with their rootid, contents,
// links) through an idmapped mount as after the chown fallback, for
// "mount" and for "overlay". The fallback is forced on tmpfs, which could
// be idmapped, because ramfs holds no xattrs at all (the real trigger on
// ramfs is TestFallbackOnRamfs). The one difference is by design: an ID
// in no extent shows as 65534 through the mount and is kept by the shift.
func TestFallbackInvariant(t *testing.T) {
	base := fbBase(t)
	force := "--force-fallback"
	expect(t, idmapkit(t, "mount", "--map", fbSpec, base+"/src", base+"/A"), 0)
	testutil.Unmount(t, base+"/A")
	r := idmapkit(t, "mount", "--fallback=chown", force, "--map", fbSpec, base+"/copy", base+"/B")
	expect(t, r, 0, "fallback forced", "shifted "+base+"/copy in place", "bind-mounted it", "uids 70000")
	testutil.Unmount(t, base+"/B")
	layers := []string{"--lower", base + "/top", "--lower", base + "/src"}
	expect(t, idmapkit(t, append(append([]string{"overlay", "--map", fbSpec}, layers...), base+"/C")...), 0)
	testutil.Unmount(t, base+"/C")
	r = idmapkit(t, append(append([]string{"overlay", "--fallback=chown", force, "--map", fbSpec}, layers...), base+"/D")...)
	expect(t, r, 0, "layer "+base+"/src: tmpfs at "+base+"/src: fallback forced", "made a shifted copy "+base+"/cache/")
	testutil.Unmount(t, base+"/D")

	mounted, shifted := readView(t, base+"/A"), readView(t, base+"/B")
	checkMappedView(t, mounted)
	out := "d/out"
	if o := mounted.inodes[out]; o.UID != 65534 || o.GID != 65534 {
		t.Errorf("d/out through the idmapped mount: %d:%d, want the overflow ID", o.UID, o.GID)
	}
	if o := shifted.inodes[out]; o.UID != 70000 || o.GID != 70001 {
		t.Errorf("d/out after the shift: %d:%d, want 70000:70001 kept", o.UID, o.GID)
	}
	sameView(t, "mount --fallback=chown vs idmapped mount", mounted, shifted, out)
	sameView(t, "overlay --fallback=chown vs idmapped overlay", readView(t, base+"/C"), readView(t, base+"/D"), out)
}

// checkMappedView checks the idmapped view against the mapping itself, so
// that two equally wrong views cannot pass.
func checkMappedView(t *testing.T, v fbView) {
	t.Helper()
	for p, want := range map[string][2]uint32{"d/file": {100000, 100000}, "d/user": {101000, 101000}, "d/sgid": {100000, 100050}, "d/sl": {100005, 100005}} {
		if in := v.inodes[p]; in.UID != want[0] || in.GID != want[1] {
			t.Errorf("%s: %d:%d, want %d:%d", p, in.UID, in.GID, want[0], want[1])
		}
	}
	if v.inodes["d/suid"].Mode&unix.S_ISUID == 0 || v.inodes["d/hard"].HardlinkOf != "d/file" {
		t.Errorf("setuid bit or hardlink lost: %+v %+v", v.inodes["d/suid"], v.inodes["d/hard"])
	}
	for _, want := range []string{"user:100005:rw-", "group:100007:r--", "default:user:100009:r-x"} {
		if !strings.Contains(v.getfacl, want) {
			t.Errorf("getfacl -n lacks %q:\n%s", want, v.getfacl)
		}
	}
	for _, want := range []string{"d/cap cap_net_raw=ep [rootid=100000]", "d/cap3 cap_net_raw=ep [rootid=101000]"} {
		if !strings.Contains(v.caps, want) {
			t.Errorf("getcap -n lacks %q:\n%s", want, v.caps)
		}
	}
}

// fbRamfs mounts a ramfs (which cannot be idmapped) on base/name with a
// small tree: ramfs holds no xattrs, so no ACLs, capabilities or setuid
// files (whose shift needs a trusted.* record).
func fbRamfs(t *testing.T, base, name string) string {
	t.Helper()
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("ramfs", dir, "ramfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dir)
	for _, e := range []struct {
		p     string
		owner int
	}{{"bin", 0}, {"bin/sh", 0}, {"home", 1000}, {"home/f", 1000}} {
		p, owner := e.p, e.owner
		var err error
		if !strings.Contains(p, "/") {
			err = os.Mkdir(filepath.Join(dir, p), 0o755)
		} else {
			err = os.WriteFile(filepath.Join(dir, p), []byte(p), 0o644)
		}
		if err == nil {
			err = os.Lchown(filepath.Join(dir, p), owner, owner)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "home"), 0o2775); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFallbackOnRamfs is the automatic trigger: ramfs cannot be idmapped.
// "mount" fails with a hint and changes nothing, and with --fallback=chown
// shifts SOURCE in place and bind-mounts it.
func TestFallbackOnRamfs(t *testing.T) {
	t.Setenv("IDMAPKIT_STATE_DIR", t.TempDir())
	base := testutil.Tmpfs(t)
	src, dst := fbRamfs(t, base, "src"), filepath.Join(base, "dst")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	table := testutil.MountInfo(t)
	expect(t, idmapkit(t, "mount", "--map", fbSpec, src, dst), 1, "mount_setattr", "filesystem ramfs", "--fallback=chown")
	if testutil.MountInfo(t) != table || ownerOf(t, src+"/home/f") != "1000:1000" {
		t.Fatal("a failed mount changed the mount table or the source")
	}
	r := idmapkit(t, "mount", "--fallback=chown", "--read-only", "--map", fbSpec, src, dst)
	expect(t, r, 0, "idmapkit: ramfs at "+src+" cannot be idmapped (EINVAL): shifted "+src+" in place (5 inodes changed) and bind-mounted it")
	testutil.Unmount(t, dst)
	if got := ownerOf(t, dst+"/home/f"); got != "101000:101000" {
		t.Errorf("home/f through the bind: %s", got)
	}
	if got := ownerOf(t, src+"/home/f"); got != "101000:101000" {
		t.Errorf("home/f in SOURCE: %s; the fallback shifts it on disk", got)
	}
	if err := os.WriteFile(dst+"/x", nil, 0o644); err == nil {
		t.Error("wrote to a --read-only fallback mount")
	}
	// A plain bind, not an idmapped mount, but recorded: list shows it
	// as the fallback, and umount takes it, record and all.
	e, ok := listJSON(t)[dst]
	if !ok || e.Fallback != "chown" || e.ShiftedSource != src || e.Mapping != fbSpec || e.IDMapped || e.Overlay {
		t.Errorf("list entry of the fallback bind: %+v (listed: %v), want fallback chown of %s with %s", e, ok, src, fbSpec)
	}
	// The tree on disk has one set of owners: a second fallback mount of
	// it under another mapping is refused, and nothing changes.
	dst2 := filepath.Join(base, "dst2")
	if err := os.Mkdir(dst2, 0o755); err != nil {
		t.Fatal(err)
	}
	// Nor does reaching the tree through a symlink, or a subdirectory of
	// it, or covering the first bind, hide it.
	if err := os.Symlink(src, base+"/srclink"); err != nil {
		t.Fatal(err)
	}
	for _, alias := range []string{src, base + "/srclink", src + "/home"} {
		withBind := testutil.MountInfo(t)
		expect(t, idmapkit(t, "mount", "--fallback=chown", "--map", "b:0:200000:65536", alias, dst2), 1,
			"check source", "device or resource busy", "shifted on disk with "+fbSpec, "--reverse --map "+fbSpec+" "+src)
		if got := ownerOf(t, src+"/home/f"); got != "101000:101000" || testutil.MountInfo(t) != withBind {
			t.Errorf("a refused second mapping of %s changed the source (home/f %s) or the mount table", alias, got)
		}
	}
	if err := unix.Mount("tmpfs", dst, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	expect(t, idmapkit(t, "mount", "--fallback=chown", "--map", "b:0:200000:65536", src, dst2), 1, "shifted on disk with "+fbSpec)
	if err := unix.Unmount(dst, 0); err != nil {
		t.Fatal(err)
	}
	// The same mapping, split differently, is the same mapping.
	expect(t, idmapkit(t, "mount", "--fallback=chown", "--map", "b:0:100000:1000", "--map", "b:1000:101000:64536", src, dst2), 0)
	expect(t, idmapkit(t, "umount", dst2), 0)
	table2 := idmapkit(t, "list")
	expect(t, table2, 0)
	if want := strings.Join([]string{dst, "ramfs", src, fbSpec, "-", "-", "fallback-chown"}, " "); !tableHasRow(table2.stdout, want) {
		t.Errorf("list lacks the row %q:\n%s", want, table2.stdout)
	}
	expect(t, idmapkit(t, "umount", dst), 0)
	if testutil.MountInfo(t) != table {
		t.Error("mount table not as before after umount")
	}
	if ents, err := os.ReadDir(os.Getenv("IDMAPKIT_STATE_DIR") + "/binds"); err != nil || len(ents) != 0 {
		t.Errorf("bind records left after umount: %v %v", ents, err)
	}
	// Any other plain bind is still refused without --force.
	testutil.Run(t, "mount", "--bind", src, dst)
	testutil.Unmount(t, dst)
	expect(t, idmapkit(t, "umount", dst), 2, "not an idmapped mount", "no fallback bind recorded")
	expect(t, idmapkit(t, "umount", "--force", dst), 0)
	if testutil.MountInfo(t) != table {
		t.Error("mount table not as before after umount --force")
	}
	expect(t, idmapkit(t, "mount", "--fallback", "copy", "--map", fbSpec, src, dst), 2, "want none or chown")
	expect(t, idmapkit(t, "mount", "--force-fallback", "--map", fbSpec, src, dst), 2, "needs --fallback=chown")
}

// TestOverlayFallbackOnRamfs: an image whose bottom layer is on ramfs,
// for two users. The layer is copied and shifted once per mapping, and
// reused; each user's writes land in their own upper; the image is not
// changed, inode for inode.
func TestOverlayFallbackOnRamfs(t *testing.T) {
	t.Setenv("IDMAPKIT_STATE_DIR", t.TempDir())
	base := testutil.Tmpfs(t)
	t.Setenv("IDMAPKIT_CACHE_DIR", filepath.Join(base, "cache"))
	bottom := fbRamfs(t, base, "img/bottom")
	top := filepath.Join(base, "img/top")
	if err := os.MkdirAll(top, 0o755); err != nil {
		t.Fatal(err)
	}
	image := map[string]fbView{bottom: readViewIno(t, bottom), top: readViewIno(t, top)}
	user := func(i int, spec string) (target string, r result) {
		d := filepath.Join(base, fmt.Sprintf("u%d", i))
		for _, s := range []string{"upper", "work", "target"} {
			if err := os.MkdirAll(filepath.Join(d, s), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		r = idmapkit(t, "overlay", "--fallback=chown", "--lower", top, "--lower", bottom,
			"--upper", d+"/upper", "--work", d+"/work", "--map", spec, d+"/target")
		return d, r
	}
	alice, r := user(0, fbSpec)
	expect(t, r, 0, "layer "+top+": idmapped", "layer "+bottom+": ramfs at "+bottom+" cannot be idmapped (EINVAL): made a shifted copy "+base+"/cache/")
	bob, r := user(1, "b:0:200000:65536")
	expect(t, r, 0, "made a shifted copy")
	again, r := user(2, fbSpec)
	expect(t, r, 0, "reused the shifted copy")
	for _, d := range []string{alice, bob, again} {
		testutil.Unmount(t, d+"/target")
	}
	if got := ownerOf(t, alice+"/target/home/f"); got != "101000:101000" {
		t.Errorf("alice sees home/f as %s", got)
	}
	if got := ownerOf(t, bob+"/target/home/f"); got != "201000:201000" {
		t.Errorf("bob sees home/f as %s", got)
	}
	runAsUser(t, 101000, "sh", "-c", "echo alice >"+alice+"/target/home/f")
	if b, _ := os.ReadFile(alice + "/upper/home/f"); string(b) != "alice\n" {
		t.Errorf("alice's write is not in her upper: %q", b)
	}
	if b, _ := os.ReadFile(bob + "/target/home/f"); string(b) != "home/f" {
		t.Errorf("bob sees %q after alice's write", b)
	}
	for dir, v := range image {
		sameView(t, "image layer "+dir, v, readViewIno(t, dir))
	}
	list := listJSON(t)[alice+"/target"]
	if len(list.Layers) != 2 || !strings.HasPrefix(list.Layers[1].Dir, base+"/cache/") {
		t.Errorf("list shows alice's layers as %+v, want the cache entry second", list.Layers)
	}
	expect(t, idmapkit(t, "umount", alice+"/target"), 0)
}

// readViewIno is readView with inode numbers in the link field of every
// inode, to check that a tree is unchanged inode for inode.
func readViewIno(t *testing.T, root string) fbView {
	v := readView(t, root)
	for p, in := range v.inodes {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatal(err)
		}
		in.Link += fmt.Sprintf(" ino=%d ctime=%v", st.Ino, st.Ctim)
		v.inodes[p] = in
	}
	return v
}

func runAsUser(t *testing.T, uid uint32, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v as %d: %v\n%s", name, args, uid, err, out)
	}
}

// TestOverlayFallbackFailures: a failure at any step leaves the mount
// table as it was, the layers and the existing cache entries unchanged,
// and no half-made entry.
func TestOverlayFallbackFailures(t *testing.T) {
	t.Setenv("IDMAPKIT_STATE_DIR", t.TempDir())
	base := testutil.Tmpfs(t)
	cache := filepath.Join(base, "cache")
	t.Setenv("IDMAPKIT_CACHE_DIR", cache)
	bottom := fbRamfs(t, base, "bottom")
	for _, d := range []string{"top", "upper", "target", "rocache"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	otherFS := testutil.Tmpfs(t)
	if err := os.Mkdir(otherFS+"/work", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", base+"/rocache", "tmpfs", unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, base+"/rocache")
	suid := fbRamfs(t, base, "suid")
	if err := unix.Chmod(suid+"/bin/sh", 0o4755); err != nil {
		t.Fatal(err)
	}
	// A cache on ramfs, which has no trusted.* xattrs for the crash
	// records of setuid files.
	ramCache := filepath.Join(fbRamfs(t, base, "ramcache"), "cache")
	args := func(lower, target string, extra ...string) []string {
		a := []string{"overlay", "--fallback=chown", "--lower", base + "/top", "--lower", lower, "--map", fbSpec}
		return append(append(a, extra...), target)
	}
	// An entry made before, which must survive every failure unchanged.
	expect(t, idmapkit(t, args(bottom, base+"/target")...), 0, "made a shifted copy")
	expect(t, idmapkit(t, "umount", base+"/target"), 0)
	entries := readViewIno(t, cache)
	table, layer := testutil.MountInfo(t), readViewIno(t, bottom)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"cache on a read-only filesystem", args(suid, base+"/target", "--cache-dir", base+"/rocache"), "read-only file system"},
		{"shift fails in the cache", args(suid, base+"/target", "--cache-dir", ramCache), "could not be shifted"},
		{"overlayfs refuses", args(bottom, base+"/target", "--upper", base+"/upper", "--work", otherFS+"/work"), "must be on the same filesystem"},
		{"no target", args(bottom, base+"/missing"), "create the mount point first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, idmapkit(t, tc.args...), 1, tc.want)
			if testutil.MountInfo(t) != table {
				t.Fatal("mount table changed")
			}
			sameView(t, "layer", layer, readViewIno(t, bottom))
			sameView(t, "cache", entries, readViewIno(t, cache))
			if des, _ := os.ReadDir(ramCache); len(des) > 0 && hasTemp(des) {
				t.Errorf("temporary entry left in %s", ramCache)
			}
		})
	}
	if got := ownerOf(t, base+"/upper"); got != "0:0" {
		t.Errorf("upper root owner %s after the failures, want 0:0 again", got)
	}
}

func hasTemp(des []os.DirEntry) bool {
	for _, d := range des {
		if d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			return true
		}
	}
	return false
}

// tableHasRow reports whether a table printed by idmapkit has a row whose
// fields, separated by single spaces, are row.
func tableHasRow(table, row string) bool {
	for _, line := range strings.Split(table, "\n") {
		if strings.Join(strings.Fields(line), " ") == row {
			return true
		}
	}
	return false
}

// TestCacheCommands: "cache list" shows each shifted copy and the mounts
// that use it; "cache prune" removes the copies no mount uses, and only
// those, so an overlay in use keeps working; bad usage exits 2.
func TestCacheCommands(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	t.Setenv("IDMAPKIT_STATE_DIR", t.TempDir())
	base := testutil.Tmpfs(t)
	cache := filepath.Join(base, "cache")
	t.Setenv("IDMAPKIT_CACHE_DIR", cache)
	layer := fbRamfs(t, base, "layer")
	for _, d := range []string{"kept", "gone"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, idmapkit(t, "overlay", "--fallback=chown", "--lower", layer, "--map", fbSpec, base+"/kept"), 0, "made a shifted copy")
	testutil.Unmount(t, base+"/kept")
	expect(t, idmapkit(t, "overlay", "--fallback=chown", "--lower", layer, "--map", "b:0:300000:65536", base+"/gone"), 0, "made a shifted copy")
	expect(t, idmapkit(t, "umount", base+"/gone"), 0)

	var listed []struct {
		Info   struct{ Mapping string }
		UsedBy []struct{ Mountpoint string } `json:"used_by"`
	}
	r := idmapkit(t, "cache", "list", "--format", "json")
	expect(t, r, 0)
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("cache list: %v\n%s", err, r.stdout)
	}
	for _, e := range listed {
		want := map[string]int{fbSpec: 1, "b:0:300000:65536": 0}[e.Info.Mapping]
		if len(e.UsedBy) != want || want == 1 && e.UsedBy[0].Mountpoint != base+"/kept" {
			t.Errorf("cache list: %s used by %+v, want %d mount(s)", e.Info.Mapping, e.UsedBy, want)
		}
	}
	entries := readViewIno(t, cache)
	expect(t, idmapkit(t, "cache", "prune", "--dry-run"), 0)
	sameView(t, "cache after prune --dry-run", entries, readViewIno(t, cache))
	if r := idmapkit(t, "cache", "prune", "--dry-run"); !strings.Contains(r.stdout, "would remove 1 entries") || strings.Count(r.stdout, "  would remove\n") != 1 {
		t.Errorf("prune --dry-run:\n%s", r)
	}
	if r := idmapkit(t, "cache", "prune"); r.code != 0 || !strings.Contains(r.stdout, "removed 1 entries") || !strings.Contains(r.stdout, "kept 1") {
		t.Errorf("prune:\n%s", r)
	}
	if got := ownerOf(t, base+"/kept/bin/sh"); got != "100000:100000" {
		t.Errorf("the overlay in use after prune: owner %s, want 100000:100000", got)
	}
	expect(t, idmapkit(t, "umount", base+"/kept"), 0)
	if r := idmapkit(t, "cache", "prune"); !strings.Contains(r.stdout, "removed 1 entries") {
		t.Errorf("prune after umount:\n%s", r)
	}
	if r := idmapkit(t, "cache", "list"); strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("cache list of an empty cache:\n%s", r)
	}

	for _, args := range [][]string{{"cache"}, {"cache", "nosuch"}, {"cache", "list", "extra"}, {"cache", "prune", "--format", "xml"},
		{"cache", "prune", "--cache-dir", ""}} {
		expect(t, idmapkit(t, args...), 2)
	}
	// A directory that is not a cache (a mistyped --cache-dir) is bad
	// input, and nothing in it is touched.
	expect(t, idmapkit(t, "cache", "prune", "--cache-dir", base), 2, "not an idmapkit layer cache", "check --cache-dir")
	expect(t, idmapkit(t, "cache", "list", "--cache-dir", base+"/nonexistent"), 0, "does not exist")
	// Not root: told so, not that the cache is not one.
	expect(t, runAs(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "cache", "list"), 1, "permission denied", "run as root")
}
