package chownfallback

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// Refusals (nothing changed), failed inodes (reported, the rest done,
// finished by a rerun) and warnings.

func TestShiftRefuses(t *testing.T) {
	base := testutil.Tmpfs(t)
	root := filepath.Join(base, "tree")
	buildFixture(t, base, "d tree 0:0 0755\nf tree/f 0:0 0644\nf file 0:0 0644")
	before := snapshot(t, root)
	ro := filepath.Join(base, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(root, ro, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, ro)
	if err := unix.Mount("", ro, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, spec string
		want            error
	}{
		{"overlapping ranges", root, "b:0:1000:65536", ErrOverlap},
		{"identity extent", root, "b:0:0:10", ErrOverlap},
		{"not a directory", filepath.Join(base, "file"), "b:0:100000:65536", ErrNotDir},
		{"read-only mount", ro, "b:0:100000:65536", ErrReadOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Shift(tc.dir, mapping(t, tc.spec), Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Shift = %v, want %v", err, tc.want)
			}
			requireSame(t, "after a refused shift", before, snapshot(t, root))
		})
	}
}

func TestShiftUnmappedFail(t *testing.T) {
	root := testutil.Tmpfs(t)
	buildFixture(t, root, "f a 0:0 0644\nf b 70000:0 0644")
	before := snapshot(t, root)
	res, err := Shift(root, mapping(t, "b:0:100000:65536"), Options{Unmapped: UnmappedFail})
	if !errors.Is(err, ErrUnmapped) || !strings.Contains(err.Error(), "70000") {
		t.Fatalf("Shift = %v, want ErrUnmapped naming 70000", err)
	}
	if res == nil || res.Unmapped != 1 {
		t.Fatalf("result %+v, want 1 unmapped inode", res)
	}
	requireSame(t, "after --unmapped=fail", before, snapshot(t, root))
	if err := os.Chown(filepath.Join(root, "b"), 5, 0); err != nil {
		t.Fatal(err)
	}
	if res := mustShift(t, root, mapping(t, "b:0:100000:65536"), Options{Unmapped: UnmappedFail}); res.Changed != 3 {
		t.Fatalf("changed %d, want 3", res.Changed)
	}
}

// TestShiftFailedInodes: an immutable inode is reported with its path and
// errno, the rest is shifted, and a rerun after chattr -i finishes.
func TestShiftFailedInodes(t *testing.T) {
	testutil.RequireCmd(t, "chattr")
	root := filepath.Join(testutil.LoopFS(t, "ext4"), "tree")
	buildFixture(t, filepath.Dir(root), "d tree 0:0 0755\nf tree/ok 0:0 0644\nf tree/stuck 0:0 0644\nf tree/stuck-suid 0:0 4755\ncap tree/stuck-suid v2\nf tree/ok2 1:1 0644")
	for _, f := range []string{"stuck", "stuck-suid"} {
		testutil.Run(t, "chattr", "+i", filepath.Join(root, f))
		t.Cleanup(func() { _ = testutilRun("chattr", "-i", filepath.Join(root, f)) })
	}
	before := snapshot(t, root)
	m := mapping(t, "b:0:100000:65536")
	res, err := Shift(root, m, Options{})
	if !errors.Is(err, ErrIncomplete) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("Shift = %v, want ErrIncomplete wrapping EPERM", err)
	}
	if res.ErrorCount != 2 || res.Changed != 3 {
		t.Fatalf("errors %d, changed %d; want 2 and 3 (%v)", res.ErrorCount, res.Changed, res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.Contains(e.Path, "stuck") || !strings.Contains(e.Error(), "operation not permitted") || !strings.Contains(e.Error(), "chattr") {
			t.Errorf("error %v: want the path, the errno and the chattr hint", e)
		}
	}
	stuck := snapshot(t, root)
	for _, f := range []string{"stuck", "stuck-suid"} {
		if !sameMeta(stuck[f], before[f]) {
			t.Errorf("%s changed although immutable", f)
		}
		testutil.Run(t, "chattr", "-i", filepath.Join(root, f))
	}
	res = mustShift(t, root, m, Options{})
	if res.Changed != 2 {
		t.Errorf("rerun changed %d, want the 2 that failed", res.Changed)
	}
	mustShift(t, root, m.Inverse(), Options{})
	requireSame(t, "round trip after the rerun", before, snapshot(t, root))
}

func testutilRun(name string, args ...string) error {
	return execCommand(name, args...)
}

func TestShiftWarnsOnOverlayfs(t *testing.T) {
	base := testutil.Tmpfs(t)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	buildFixture(t, base, "f lower/f 0:0 0644")
	merged := filepath.Join(base, "merged")
	opts := "lowerdir=" + base + "/lower,upperdir=" + base + "/upper,workdir=" + base + "/work"
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		testutil.Unavailable(t, "mount overlay: %v", err)
	}
	testutil.Unmount(t, merged)
	res := mustShift(t, merged, mapping(t, "b:0:100000:65536"), Options{DryRun: true})
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "overlayfs") {
		t.Fatalf("warnings %q, want one about overlayfs", res.Warnings)
	}
}
