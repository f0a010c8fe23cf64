package idmapmount

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

var overlayMethods = []OverlayMethod{MethodFDLayers, MethodStaging}

// TestOverlayView checks, on tmpfs and ext4 and by both methods, that
// every layer shows under the mapping, that the upper and work
// directories are not idmapped, that an empty upper's root goes to the
// mapped root, that writes land in the upper only, and that umount leaves
// the mount table and the layers as they were.
func TestOverlayView(t *testing.T) {
	testutil.RequireMountNS(t)
	for _, fsName := range []string{"tmpfs", "ext4"} {
		for _, method := range overlayMethods {
			t.Run(fsName+"/"+method.String(), func(t *testing.T) {
				o := newOvl(t, fsDirs(t)[fsName](t))
				before := testutil.MountInfo(t)
				lowerBefore := treeState(t, o.top)
				maps(lowerBefore, treeState(t, o.bottom))
				rec := mountOvl(t, o.target, o.config(b100k, method))
				if rec.Method != method.String() || len(rec.Lower) != 2 || rec.Mapping != b100k.String() {
					t.Errorf("record %+v", rec)
				}
				checkOverlayView(t, o)
				checkOverlayWrites(t, o)
				lowerAfter := treeState(t, o.top)
				maps(lowerAfter, treeState(t, o.bottom))
				checkSameTree(t, "lower layers", lowerBefore, lowerAfter)
				if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
					t.Fatalf("Unmount: %v", err)
				}
				if after := testutil.MountInfo(t); after != before {
					t.Errorf("mount table after overlay+umount differs:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				if _, err := os.Stat(recordPath(o.state, rec.MountID)); !os.IsNotExist(err) {
					t.Errorf("record left after umount: %v", err)
				}
			})
		}
	}
}

func checkOverlayView(t *testing.T, o ovl) {
	t.Helper()
	checkOwner(t, o.target+"/root-file", 100000, 100000)
	checkOwner(t, o.target+"/shared", 100007, 100008)
	checkOwner(t, o.target+"/dir/deep", 101000, 101000)
	checkOwner(t, o.target+"/top-only", 100000, 100000)
	if got := readString(t, o.target+"/shared"); got != "top" {
		t.Errorf("shared through the overlay = %q, want the top layer's %q", got, "top")
	}
	// The empty upper's root was given to the mapped root, on disk
	// (the upper is not idmapped) and so in the overlay.
	checkOwner(t, o.upper, 100000, 100000)
	checkOwner(t, o.target, 100000, 100000)
}

func checkOverlayWrites(t *testing.T, o ovl) {
	t.Helper()
	// The mapped root creates a file in the overlay's root: stored in the
	// upper with the presented ID (an idmapped upper would store 0).
	if out, err := runAs(100000, 100000, "echo new > "+o.target+"/new"); err != nil {
		t.Fatalf("write as 100000 through the overlay: %v\n%s", err, out)
	}
	checkOwner(t, o.upper+"/new", 100000, 100000)
	// The owner of a lower file changes it: copied up with its presented
	// owner, the lower file untouched.
	if out, err := runAs(100007, 100008, "echo changed > "+o.target+"/shared"); err != nil {
		t.Fatalf("write as 100007 through the overlay: %v\n%s", err, out)
	}
	checkOwner(t, o.upper+"/shared", 100007, 100008)
	if got := readString(t, o.upper+"/shared"); got != "changed\n" {
		t.Errorf("upper/shared = %q", got)
	}
	if got := readString(t, o.target+"/shared"); got != "changed\n" {
		t.Errorf("overlay shared after write = %q", got)
	}
	// The work directory is the overlay's own and holds root's files.
	checkOwner(t, o.work+"/work", 0, 0)
}

func TestOverlayReadOnlyWithoutUpper(t *testing.T) {
	for _, method := range overlayMethods {
		t.Run(method.String(), func(t *testing.T) {
			o := newOvl(t, testutil.Tmpfs(t))
			cfg := o.config(b100k, method)
			cfg.Upper, cfg.Work = "", ""
			rec := mountOvl(t, o.target, cfg)
			if !rec.ReadOnly {
				t.Errorf("record says read-write: %+v", rec)
			}
			checkOwner(t, o.target+"/shared", 100007, 100008)
			out, err := runAs(100000, 100000, "touch "+o.target+"/new")
			if err == nil || !strings.Contains(out, "Read-only file system") {
				t.Fatalf("touch in an overlay without upper: %v %s, want EROFS", err, out)
			}
			m, _, err := MountOf(o.target)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(","+m.Options+",", ",ro,") || !IsIDMapkitOverlay(m) {
				t.Errorf("mount table entry %+v: want an ro overlay with source %s", m, OverlaySource)
			}
		})
	}
}

// TestOverlayAsIsLayer mixes an idmapped layer with one used as it is (as
// a copy shifted by the chown fallback would be).
func TestOverlayAsIsLayer(t *testing.T) {
	for _, method := range overlayMethods {
		t.Run(method.String(), func(t *testing.T) {
			o := newOvl(t, testutil.Tmpfs(t))
			cfg := o.config(b100k, method)
			cfg.Lower[1].AsIs = true
			mountOvl(t, o.target, cfg)
			checkOwner(t, o.target+"/top-only", 100000, 100000) // idmapped
			checkOwner(t, o.target+"/root-file", 0, 0)          // as is
		})
	}
}

func TestOverlayNonEmptyUpperKeepsOwner(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	writeOwned(t, o.upper+"/earlier", "x", 100000, 100000)
	mountOvl(t, o.target, o.config(b100k, MethodAuto))
	checkOwner(t, o.upper, 0, 0)
	checkOwner(t, o.target+"/earlier", 100000, 100000)
}

func TestUnmountOverlayNeedsNoForce(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	mountOvl(t, o.target, o.config(b100k, MethodAuto))
	// A plain overlay (not idmapkit's) on a second target is refused.
	plain := o.base + "/plain"
	mkdir755(t, plain)
	mountFS(t, "overlay", plain, "lowerdir="+o.top+":"+o.bottom)
	if err := Unmount(plain, UnmountOptions{StateDir: o.state}); !errors.Is(err, ErrNotIDMapped) {
		t.Errorf("Unmount of an overlay not made by idmapkit: %v, want ErrNotIDMapped", err)
	}
	if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
		t.Fatalf("Unmount of idmapkit's overlay: %v", err)
	}
	if _, _, err := MountOf(o.target); err == nil {
		if m, _, _ := MountOf(o.target); m.Mountpoint == o.target {
			t.Errorf("overlay still mounted at %s", o.target)
		}
	}
}

// TestOverlaySingleLayer: one lower layer without an upper is a
// read-only idmapped bind mount, which Unmount takes as any other.
func TestOverlaySingleLayer(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	before := testutil.MountInfo(t)
	cfg := o.config(b100k, MethodAuto)
	cfg.Lower, cfg.Upper, cfg.Work = cfg.Lower[1:], "", ""
	rec := mountOvl(t, o.target, cfg)
	if rec.Method != "bind" || !rec.ReadOnly {
		t.Errorf("record %+v, want a read-only bind", rec)
	}
	checkOwner(t, o.target+"/shared", 100005, 100006)
	if err := os.WriteFile(o.target+"/new", nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write: %v, want EROFS", err)
	}
	if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
		t.Fatal(err)
	}
	if after := testutil.MountInfo(t); after != before {
		t.Errorf("mount table after single-layer overlay+umount differs")
	}
}

// TestOverlayAutoMethod: auto takes the fd-layers path where the kernel
// has it, and falls back to staging, for good, where it has not.
func TestOverlayAutoMethod(t *testing.T) {
	o := newOvl(t, testutil.Tmpfs(t))
	want := MethodFDLayers
	if kernelBefore(6, 15) {
		want = MethodStaging
	}
	rec := mountOvl(t, o.target, o.config(b100k, MethodAuto))
	if rec.Method != want.String() {
		t.Errorf("auto on this kernel took %s, want %s", rec.Method, want)
	}
	if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
		t.Fatal(err)
	}
	simulateNoFDLayers = true
	t.Cleanup(func() { simulateNoFDLayers = false; noFDLayers.Store(false) })
	before := testutil.MountInfo(t)
	rec = mountOvl(t, o.target, o.config(b100k, MethodAuto))
	if rec.Method != MethodStaging.String() || !noFDLayers.Load() {
		t.Errorf("auto without fd layers took %s (remembered: %v), want staging", rec.Method, noFDLayers.Load())
	}
	checkOverlayView(t, o)
	if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
		t.Fatal(err)
	}
	if after := testutil.MountInfo(t); after != before {
		t.Errorf("mount table after the fallback overlay and umount differs")
	}
	checkNoLeftovers(t, o.state)
}
