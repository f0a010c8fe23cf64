package idmapmount

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestOverlaySharedUpperRefused: a second overlay on the upper and work
// directories of a mounted one is refused before anything changes;
// once the first is unmounted they are free again.
func TestOverlaySharedUpperRefused(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	if _, err := Overlay(o.target, o.config(b100k, MethodAuto)); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, o.target)
	second := o.base + "/second"
	mkdir755(t, second)
	b200k := Mapping{UID: IDMap{{0, 200000, 65536}}, GID: IDMap{{0, 200000, 65536}}}
	for _, shared := range []string{"upper", "work"} {
		cfg := o.config(b200k, MethodAuto)
		if shared == "work" {
			cfg.Upper = o.base + "/upper2"
			mkdir755(t, cfg.Upper)
		}
		before := testutil.MountInfo(t)
		_, err := Overlay(second, cfg)
		if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "check "+shared+" directory") || !strings.Contains(err.Error(), "the overlay at "+o.target+" already uses it") {
			t.Errorf("second overlay sharing the %s directory: %v, want EBUSY naming the first", shared, err)
		}
		if testutil.MountInfo(t) != before {
			t.Fatal("a refused overlay changed the mount table")
		}
	}
	if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
		t.Fatal(err)
	}
	if _, err := Overlay(second, o.config(b100k, MethodAuto)); err != nil {
		t.Fatalf("upper and work free again after the unmount: %v", err)
	}
	testutil.Unmount(t, second)
}

// TestOverlayRelativePathsSymlinkTarget: relative --lower/--upper/--work
// are recorded (and listed) as absolute paths, and a target that is a
// symlink is followed, as mount(8) does, and unmounted through it.
func TestOverlayRelativePathsSymlinkTarget(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	if err := os.Symlink("target", o.base+"/link"); err != nil {
		t.Fatal(err)
	}
	t.Chdir(o.base)
	cfg := OverlayConfig{Lower: []Layer{{Dir: "top"}, {Dir: "./bottom"}}, Upper: "upper", Work: "work", Mapping: b100k, StateDir: "state"}
	before := testutil.MountInfo(t)
	if _, err := Overlay("link", cfg); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, o.target)
	checkOwner(t, o.target+"/root-file", 100000, 100000)
	entries, err := List(ListOptions{StateDir: o.state})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		if e.Mountpoint == o.target {
			found = true
			if len(e.Layers) != 2 || e.Layers[0].Dir != o.top || e.Layers[1].Dir != o.bottom || e.Upper != o.upper {
				t.Errorf("listed layers %+v, upper %q; want absolute %s, %s and %s", e.Layers, e.Upper, o.top, o.bottom, o.upper)
			}
		}
	}
	if !found {
		t.Fatalf("overlay at %s not listed: %+v", o.target, entries)
	}
	if err := Unmount("link", UnmountOptions{StateDir: "state"}); err != nil {
		t.Fatal(err)
	}
	if testutil.MountInfo(t) != before {
		t.Error("mount table not as before after unmounting through the symlink")
	}
	checkNoLeftovers(t, o.state)
}

// TestSingleAsIsLayerRecorded: one lower layer taken as it is (a shifted
// copy from the chown fallback) and no upper is a plain read-only bind;
// it is recorded, so List shows it and Unmount takes it without Force.
// The target is a mount point already: the mount the bind covers is not
// taken for the bind.
func TestSingleAsIsLayerRecorded(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	mountFS(t, "tmpfs", o.target, "")
	cfg := OverlayConfig{Lower: []Layer{{Dir: o.bottom, AsIs: true}}, Mapping: b100k, StateDir: o.state}
	before := testutil.MountInfo(t)
	if _, err := Overlay(o.target, cfg); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, o.target)
	checkOwner(t, o.target+"/root-file", 0, 0) // as it is: not idmapped
	entries, err := List(ListOptions{StateDir: o.state})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Mountpoint != o.target || entries[0].Fallback != "chown" || entries[0].ShiftedSource != o.bottom || entries[0].Mapping != b100k.String() {
		t.Errorf("List: %+v, want the bind of %s as a chown fallback", entries, o.bottom)
	}
	if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
		t.Fatal(err)
	}
	if testutil.MountInfo(t) != before {
		t.Error("mount table not as before")
	}
	if ents, _ := os.ReadDir(filepath.Join(o.state, "binds")); len(ents) != 0 {
		t.Errorf("bind records left: %v", ents)
	}
}
