package chownfallback

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	code := testutil.MainInMountNS(m)
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// fsDirs makes a scratch directory on each filesystem the tests cover.
func fsDirs() map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"tmpfs": func(t *testing.T) string { return testutil.Tmpfs(t) },
		"ext4":  func(t *testing.T) string { return testutil.LoopFS(t, "ext4") },
		"xfs":   func(t *testing.T) string { return testutil.LoopFS(t, "xfs") },
	}
}

func mapping(t testing.TB, spec string) idmapmount.Mapping {
	t.Helper()
	m, err := idmapmount.ParseSpecs(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustShift(t testing.TB, dir string, m idmapmount.Mapping, opts Options) *Result {
	t.Helper()
	res, err := Shift(dir, m, opts)
	if err != nil {
		t.Fatalf("Shift(%s, %s): %v", dir, m, err)
	}
	return res
}

// mountTmpfsAt mounts a tmpfs with one file owned 0:0 at dir (a mount
// point inside a tree, which a shift must not cross).
func mountTmpfsAt(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "below"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShiftFixture(t *testing.T) {
	for name, mk := range fsDirs() {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(mk(t), "tree")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			buildFixture(t, root, fullFixture)
			mountTmpfsAt(t, filepath.Join(root, "a", "mnt"))
			etc := snapshotOf(t, "/etc")
			before := snapshot(t, root)
			m := mapping(t, "b:0:100000:65536")

			dry := mustShift(t, root, m, Options{DryRun: true})
			requireSame(t, "after --dry-run", before, snapshot(t, root))

			res := mustShift(t, root, m, Options{Jobs: 2})
			checkShifted(t, root, before, snapshot(t, root))
			checkResult(t, res, dry)

			again := mustShift(t, root, m, Options{})
			if again.Changed != 0 || again.AlreadyDone != res.Seen {
				t.Errorf("second shift changed %d, already done %d of %d; want 0 and all", again.Changed, again.AlreadyDone, res.Seen)
			}

			mustShift(t, root, m.Inverse(), Options{Jobs: 3})
			requireSame(t, "after shift and --reverse", before, snapshot(t, root))
			requireSame(t, "/etc (the target of a symlink in the tree)", etc, snapshotOf(t, "/etc"))
		})
	}
}

// snapshotOf snapshots one directory's own entries (not recursively).
func snapshotOf(t *testing.T, dir string) map[string]meta {
	t.Helper()
	out := map[string]meta{}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	out["."] = statMeta(t, fd, ".", &st, map[uint64]string{}, ".")
	return out
}

func checkResult(t *testing.T, res, dry *Result) {
	t.Helper()
	if res.ErrorCount != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if dry.Changed != res.Changed || dry.Seen != res.Seen {
		t.Errorf("dry run would change %d of %d, the shift changed %d of %d", dry.Changed, dry.Seen, res.Changed, res.Seen)
	}
	if want := []string{filepathJoin(res.Dir, "a/mnt")}; !slices.Equal(res.MountPoints, want) {
		t.Errorf("mount points = %q, want %q", res.MountPoints, want)
	}
	if got := FormatRanges(res.UnmappedUIDs); got != "70000" {
		t.Errorf("unmapped uids = %s, want 70000", got)
	}
	if got := FormatRanges(res.UnmappedGIDs); got != "70001-70002" {
		t.Errorf("unmapped gids = %s, want 70001-70002", got)
	}
	if res.Unmapped != 2 {
		t.Errorf("inodes with unmapped IDs = %d, want 2", res.Unmapped)
	}
	if res.AlreadyDone != 1 {
		t.Errorf("already done = %d, want 1 (a/outside-ids)", res.AlreadyDone)
	}
}

func filepathJoin(a, b string) string { return a + "/" + b }

// checkShifted checks every kind of inode in fullFixture after a shift by
// b:0:100000:65536.
func checkShifted(t *testing.T, root string, before, after map[string]meta) {
	t.Helper()
	for path, b := range before {
		a, ok := after[path]
		if !ok {
			t.Errorf("%q vanished", path)
			continue
		}
		wantUID, wantGID := shifted(b.UID), shifted(b.GID)
		if strings.HasPrefix(path, "a/mnt/") || path == "a/mnt" {
			wantUID, wantGID = b.UID, b.GID // on another mount
		}
		if a.UID != wantUID || a.GID != wantGID {
			t.Errorf("%q: owner %d:%d, want %d:%d", path, a.UID, a.GID, wantUID, wantGID)
		}
		if a.Mode != b.Mode || a.Mtime != b.Mtime || a.Size != b.Size || a.Link != b.Link || a.Content != b.Content || a.Rdev != b.Rdev || a.Nlink != b.Nlink {
			t.Errorf("%q: changed beyond owners:\n  %+v\n  %+v", path, b, a)
		}
		for k, v := range b.Xattrs {
			// XFS lists its ACLs as trusted.SGI_ACL_FILE and _DEFAULT too.
			if k == XattrCaps || strings.HasPrefix(k, "system.posix_acl") || strings.HasPrefix(k, "trusted.SGI_ACL") {
				continue
			}
			if a.Xattrs[k] != v {
				t.Errorf("%q: xattr %s = %q, want %q", path, k, a.Xattrs[k], v)
			}
		}
		if _, ok := a.Xattrs[XattrRecord]; ok {
			t.Errorf("%q: %s left behind", path, XattrRecord)
		}
	}
	wantCaps := map[string][]byte{
		"a/ping":     fixtureCaps("v3:100000"),
		"a/suid-cap": fixtureCaps("v3:100000"),
		"a/hard-cap": fixtureCaps("v3:100000"),
		"a/cap3":     fixtureCaps("v3:101000"),
	}
	for path, want := range wantCaps {
		if got := after[path].Xattrs[XattrCaps]; got != string(want) {
			t.Errorf("%q: capability %x, want %x", path, got, want)
		}
	}
	wantACL := map[string]string{
		"a/acl":  "user:100005:rw- group:100007:r--",
		"a/fifo": "user:100003:rw-",
		"a/dacl": "user:100008:rwx",
	}
	for path, want := range wantACL {
		checkACL(t, after[path].Xattrs[XattrACLAccess], path, want)
	}
	checkACL(t, after["a/dacl"].Xattrs[XattrACLDefault], "a/dacl (default)", "user:100009:r-x group:100009:r-x")
}

// shifted is the b:0:100000:65536 mapping applied to one ID.
func shifted(id uint32) uint32 {
	if id < 65536 {
		return id + 100000
	}
	return id
}

// checkACL checks an ACL's named entries, written as getfacl would.
func checkACL(t *testing.T, raw, path, want string) {
	t.Helper()
	acl, err := ParseACL([]byte(raw))
	if err != nil {
		t.Errorf("%s: ACL: %v", path, err)
		return
	}
	var got []string
	for _, e := range acl {
		if hasID(e.Tag) {
			got = append(got, tagName(e.Tag)+":"+itoa(e.ID)+":"+permString(e.Perm))
		}
	}
	if strings.Join(got, " ") != want {
		t.Errorf("%s: named ACL entries %q, want %q", path, strings.Join(got, " "), want)
	}
}

func itoa(id uint32) string { return strings.TrimSpace(strings.Repeat(" ", 0) + uitoa(id)) }

func uitoa(id uint32) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + id%10)}, b...)
		if id /= 10; id == 0 {
			return string(b)
		}
	}
}

func permString(p uint16) string {
	s := []byte("---")
	for i, c := range "rwx" {
		if p&(4>>i) != 0 {
			s[i] = byte(c)
		}
	}
	return string(s)
}

func TestCensus(t *testing.T) {
	root := testutil.Tmpfs(t)
	buildFixture(t, root, fullFixture)
	c, err := TakeCensus(root, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatRanges(c.UIDs); got != "0,3-5,7-9,1000,70000" {
		t.Errorf("uids %s", got)
	}
	if got := FormatRanges(c.GIDs); got != "0,3-7,9,50,1000,70001-70002" {
		t.Errorf("gids %s", got)
	}
	// a/acl 2, a/dacl 1 + 2 default, a/dacl/inner 2 inherited, a/fifo 1
	if c.Capabilities != 3 || c.ACLEntries != 8 {
		t.Errorf("capabilities %d, ACL entries %d; want 3 and 8", c.Capabilities, c.ACLEntries)
	}
	var uses uint64
	for _, r := range c.UIDs {
		uses += r.Uses
	}
	// an owner per inode, 5 named user ACL entries, 3 capability owners
	if want := c.Inodes + 5 + 3; uses != want {
		t.Errorf("uid uses %d, want %d", uses, want)
	}
}

// TestShiftLeavesShiftedIDs: IDs already in a to range are done, and a
// tree that mixes shifted and unshifted IDs ends fully shifted.
func TestShiftLeavesShiftedIDs(t *testing.T) {
	root := testutil.Tmpfs(t)
	buildFixture(t, root, "f a 0:0 0644\nf b 100005:100007 0644\nf c 5:100000 0644")
	res := mustShift(t, root, mapping(t, "b:0:100000:65536"), Options{})
	if res.Changed != 3 || res.AlreadyDone != 1 || res.Unmapped != 0 {
		t.Fatalf("changed %d, done %d, unmapped %d; want 3 (root, a, c), 1, 0", res.Changed, res.AlreadyDone, res.Unmapped)
	}
	after := snapshot(t, root)
	for path, want := range map[string][2]uint32{"a": {100000, 100000}, "b": {100005, 100007}, "c": {100005, 100000}} {
		if got := [2]uint32{after[path].UID, after[path].GID}; got != want {
			t.Errorf("%s: owner %v, want %v", path, got, want)
		}
	}
}

// TestShiftFlatDirectory: a directory too large for one getdents batch is
// shared between workers (batches handed off); every entry is shifted
// once.
func TestShiftFlatDirectory(t *testing.T) {
	root := testutil.Tmpfs(t)
	var spec strings.Builder
	spec.WriteString("d flat 0:0 0755\n")
	for i := range 6000 {
		fmt.Fprintf(&spec, "f flat/%d 0:%d 0644\n", i, i%100)
	}
	buildFixture(t, root, spec.String())
	before := snapshot(t, root)
	res := mustShift(t, root, mapping(t, "b:0:100000:65536"), Options{Jobs: 4})
	if res.Seen != 6002 || res.Changed != 6002 {
		t.Fatalf("seen %d, changed %d; want 6002 (the root, flat, 6000 files)", res.Seen, res.Changed)
	}
	after := snapshot(t, root)
	for path, b := range before {
		if a := after[path]; a.UID != b.UID+100000 || a.GID != b.GID+100000 {
			t.Fatalf("%s: %d:%d, want %d:%d", path, a.UID, a.GID, b.UID+100000, b.GID+100000)
		}
	}
}

func TestEstimateInodes(t *testing.T) {
	root := testutil.Tmpfs(t)
	buildFixture(t, root, "d a 0:0 0755\nf a/b 0:0 0644\nf c 0:0 0644")
	if n, ok := EstimateInodes(root); !ok || n < 4 || n > 5 {
		t.Errorf("EstimateInodes(tmpfs root) = %d, %v; want 4 (tmpfs may count one more)", n, ok)
	}
	if n, ok := EstimateInodes(filepath.Join(root, "a")); ok {
		t.Errorf("EstimateInodes(a subdirectory) = %d, true; want false", n)
	}
}
