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

// TestOverlaySharedUpperRefused: a second overlay whose upper or work
// directory is, holds or sits in one an overlay mounted here uses is
// refused before anything changes, whoever made the first overlay, even
// when it is covered or the directory is reached through a symlink or a
// bind mount; once the first is unmounted the directories are free again.
func TestOverlaySharedUpperRefused(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	if _, err := Overlay(o.target, o.config(b100k, MethodAuto)); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, o.target)
	// A second overlay, made by mount(8), and covered by a tmpfs.
	u2, w2, t2 := o.base+"/u2", o.base+"/w2", o.base+"/t2"
	for _, d := range []string{u2, w2, t2, o.base + "/alias", o.base + "/second", o.base + "/free", o.base + "/freework"} {
		mkdir755(t, d)
	}
	mountFS(t, "overlay", t2, "lowerdir="+o.bottom+",upperdir="+u2+",workdir="+w2)
	mountFS(t, "tmpfs", t2, "")
	if err := unix.Mount(o.base, o.base+"/alias", "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, o.base+"/alias")
	if err := os.Symlink(o.upper, o.base+"/upperlink"); err != nil {
		t.Fatal(err)
	}
	b200k := Mapping{UID: IDMap{{0, 200000, 65536}}, GID: IDMap{{0, 200000, 65536}}}
	for _, tc := range []struct{ name, upper, work, which, owner string }{
		{"same upper", o.upper, o.base + "/freework", "upper", o.target},
		{"same work", o.base + "/free", o.work, "work", o.target},
		{"upper through a symlink", o.base + "/upperlink", o.base + "/freework", "upper", o.target},
		{"upper through a bind mount", o.base + "/alias/upper", o.base + "/alias/freework", "upper", o.target},
		{"work inside a work directory", o.base + "/free", o.work + "/work", "work", o.target},
		{"upper of a covered overlay made by mount(8)", u2, o.base + "/freework", "upper", t2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := o.config(b200k, MethodAuto)
			cfg.Upper, cfg.Work = tc.upper, tc.work
			before := testutil.MountInfo(t)
			_, err := Overlay(o.base+"/second", cfg)
			if err == nil {
				testutil.Unmount(t, o.base+"/second")
			}
			if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "check "+tc.which+" directory") || !strings.Contains(err.Error(), "the overlay at "+tc.owner+" already uses") {
				t.Errorf("%v, want EBUSY naming the overlay at %s", err, tc.owner)
			}
			if testutil.MountInfo(t) != before {
				t.Fatal("a refused overlay changed the mount table")
			}
		})
	}
	if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
		t.Fatal(err)
	}
	if _, err := Overlay(o.base+"/second", o.config(b100k, MethodAuto)); err != nil {
		t.Fatalf("upper and work free again after the unmount: %v", err)
	}
	testutil.Unmount(t, o.base+"/second")
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{`/a\054b`: "/a,b", `/a\040b\134`: `/a b\`, `/plain`: "/plain", `/x\9`: `/x\9`, `\01`: `\01`} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
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
