package chownfallback

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/fsprobe"
	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// ramfsFixture is what ramfs can hold: no xattrs at all (so no ACLs,
// capabilities, or the record Shift keeps for setuid files).
const ramfsFixture = `
d d 0:0 0755
f d/f 5:6 0640
f d/out 70000:70000 0644
h d/hard d/f
l d/sl f 7:7
p d/fifo 0:0 0600
c d/null 1:3 0:0 0666
d d/g 1000:1000 2775
`

// ramfs mounts a ramfs, which cannot be idmapped, at a new directory.
func ramfs(t *testing.T, parent, name string) string {
	t.Helper()
	dir := mkdir(t, parent, name)
	if err := unix.Mount("ramfs", dir, "ramfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dir)
	return dir
}

// TestMountFallbackRamfs: ramfs cannot be idmapped; without the fallback
// Mount fails and changes nothing, with it the source is shifted in place
// and bind-mounted, read-only as asked.
func TestMountFallbackRamfs(t *testing.T) {
	base := testutil.Tmpfs(t)
	src, dst := ramfs(t, base, "src"), mkdir(t, base, "dst")
	buildFixture(t, src, ramfsFixture)
	before, table := snapshot(t, src), testutil.MountInfo(t)
	state := t.TempDir()
	cfg := MountConfig{Source: src, Target: dst, Mapping: mapping(t, "b:0:100000:65536"), Options: idmapmount.Options{ReadOnly: true}, StateDir: state}
	rep, err := Mount(cfg)
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "--fallback=chown") || rep.Route != RouteIDMapped {
		t.Fatalf("Mount without fallback: %+v, %v", rep, err)
	}
	requireSame(t, "source after a failed mount", before, snapshot(t, src))
	if testutil.MountInfo(t) != table {
		t.Fatal("mount table changed by a failed mount")
	}

	cfg.Fallback = FallbackChown
	rep, err = Mount(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dst)
	if rep.Route != RouteShiftedInPlace || rep.Verdict.Reason != fsprobe.ReasonFSUnsupported || rep.Verdict.FSType != "ramfs" || rep.Shift.Changed == 0 {
		t.Fatalf("report %+v, verdict %+v", rep, rep.Verdict)
	}
	msg := rep.Message()
	for _, want := range []string{"ramfs at " + src + " cannot be idmapped (EINVAL)", "shifted " + src + " in place", "bind-mounted", "70000"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	view := snapshot(t, dst)
	if f := view["d/f"]; f.UID != 100005 || f.GID != 100006 || view["d/out"].UID != 70000 {
		t.Errorf("through the bind: d/f %d:%d, d/out %d", f.UID, f.GID, view["d/out"].UID)
	}
	if err := os.WriteFile(filepath.Join(dst, "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write to the read-only bind: %v, want EROFS", err)
	}
	// The bind is recorded, so Unmount takes it without Force and removes
	// the record with it.
	if n := bindRecords(t, state); n != 1 {
		t.Errorf("%d bind records, want 1", n)
	}
	if err := idmapmount.Unmount(dst, idmapmount.UnmountOptions{StateDir: state}); err != nil {
		t.Fatal(err)
	}
	if n := bindRecords(t, state); n != 0 || testutil.MountInfo(t) != table {
		t.Errorf("after Unmount: %d bind records, mount table as before: %v", n, testutil.MountInfo(t) == table)
	}
}

// bindRecords counts the fallback-bind records in a state directory.
func bindRecords(t *testing.T, state string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(state, "binds"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(ents)
}

// TestMountFallbackRefusals: what the fallback cannot do well it refuses
// before changing anything; errors that are not the filesystem's are not
// hidden by it.
func TestMountFallbackRefusals(t *testing.T) {
	base := testutil.Tmpfs(t)
	src := ramfs(t, base, "src")
	buildFixture(t, src, ramfsFixture)
	ramfs(t, src, "sub")
	dst, suid := mkdir(t, base, "dst"), mkSetuidRamfs(t, base)
	before, table := snapshot(t, src), testutil.MountInfo(t)
	m := mapping(t, "b:0:100000:65536")
	for name, tc := range map[string]struct {
		cfg  MountConfig
		want error
	}{
		"recursive with submounts": {MountConfig{Source: src, Target: dst, Options: idmapmount.Options{Recursive: true}}, ErrFallbackSubmounts},
		"no target":                {MountConfig{Source: src, Target: filepath.Join(base, "missing")}, unix.ENOENT},
		"setuid on ramfs":          {MountConfig{Source: suid, Target: dst}, ErrIncomplete},
	} {
		t.Run(name, func(t *testing.T) {
			tc.cfg.Mapping, tc.cfg.Fallback, tc.cfg.StateDir = m, FallbackChown, t.TempDir()
			if _, err := Mount(tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("Mount: %v, want %v", err, tc.want)
			}
			if n := bindRecords(t, tc.cfg.StateDir); n != 0 {
				t.Errorf("a failed Mount left %d bind records", n)
			}
			requireSame(t, "source", before, snapshot(t, src))
			if testutil.MountInfo(t) != table {
				t.Fatal("mount table changed")
			}
		})
	}
}

// mkSetuidRamfs is a ramfs holding a setuid file: Shift needs a trusted.*
// xattr to change its owner safely, and ramfs has none.
func mkSetuidRamfs(t *testing.T, base string) string {
	dir := ramfs(t, base, "suid")
	buildFixture(t, dir, "f f 0:0 4755")
	return dir
}

// TestOverlayFallback: in one overlay, a layer on tmpfs is idmapped and
// one on ramfs is a shifted copy from the cache; the next overlay with the
// mapping reuses the copy; the layers never change. A failed overlay
// leaves the mount table as it was and keeps the (complete) entry.
func TestOverlayFallback(t *testing.T) {
	t.Setenv("IDMAPKIT_STATE_DIR", "")
	base := testutil.Tmpfs(t)
	top, bottom := mkdir(t, base, "top"), ramfs(t, base, "bottom")
	buildFixture(t, top, "f top 9:9 0644")
	buildFixture(t, bottom, ramfsFixture)
	layersBefore := map[string]map[string]meta{top: snapshot(t, top), bottom: snapshot(t, bottom)}
	cfg := OverlayConfig{Fallback: FallbackChown, Cache: Cache{Dir: filepath.Join(base, "cache")}}
	cfg.Lower = []idmapmount.Layer{{Dir: top}, {Dir: bottom}}
	cfg.Mapping, cfg.StateDir = mapping(t, "b:0:100000:65536"), mkdir(t, base, "state")

	bad := cfg
	bad.Upper, bad.Work = mkdir(t, base, "upper"), mkdir(t, testutil.Tmpfs(t), "work") // EXDEV
	table := testutil.MountInfo(t)
	if _, err := Overlay(mkdir(t, base, "bad"), bad); err == nil {
		t.Fatal("overlay with upper and work on two filesystems worked")
	}
	if testutil.MountInfo(t) != table {
		t.Fatal("mount table changed by a failed overlay")
	}

	// The failed overlay made the entry before overlayfs refused: it is
	// complete, and both overlays now reuse it.
	for i, want := range []Route{RouteCacheReused, RouteCacheReused} {
		target := mkdir(t, base, "t"+string(rune('0'+i)))
		rep, err := Overlay(target, cfg)
		if err != nil {
			t.Fatal(err)
		}
		testutil.Unmount(t, target)
		if len(rep.Layers) != 2 || rep.Layers[0].Route != RouteIDMapped || rep.Layers[1].Route != want || !rep.FellBack() {
			t.Fatalf("overlay %d: layers %+v", i, rep.Layers)
		}
		view := snapshot(t, target)
		if view["top"].UID != 100009 || view["d/f"].UID != 100005 || view["d/g"].Mode&0o2000 == 0 {
			t.Errorf("overlay %d: top %d, d/f %d, d/g %o", i, view["top"].UID, view["d/f"].UID, view["d/g"].Mode)
		}
	}
	for dir, snap := range layersBefore {
		requireSame(t, "layer "+dir, snap, snapshot(t, dir))
	}
}
