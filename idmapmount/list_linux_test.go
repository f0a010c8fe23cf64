package idmapmount

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

func TestStatmountLayout(t *testing.T) {
	// sizeof(struct statmount) without its string area, on every arch.
	if n := unsafe.Sizeof(statmountFixed{}); n != 512 {
		t.Fatalf("statmountFixed is %d bytes, struct statmount is 512", n)
	}
}

func findEntry(t *testing.T, opts ListOptions, mountpoint string) *ListEntry {
	t.Helper()
	es, err := List(opts)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for i := range es {
		if es[i].Mountpoint == mountpoint {
			return &es[i]
		}
	}
	return nil
}

func TestListIDMappedMount(t *testing.T) {
	for _, spec := range []string{"b:0:100000:65536", "u:0:100000:65536 g:0:200000:1000 g:1000:300000:5"} {
		t.Run(spec, func(t *testing.T) {
			_, src, dst := scratch(t)
			m, err := ParseSpecs(spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := MountMapping(src, dst, m, Options{}); err != nil {
				t.Fatal(err)
			}
			testutil.Unmount(t, dst)
			e := findEntry(t, ListOptions{}, dst)
			if e == nil || !e.IDMapped || e.Overlay || e.FSType != "tmpfs" {
				t.Fatalf("List entry for %s = %+v", dst, e)
			}
			if kernelBefore(6, 15) {
				t.Skip("statmount gives no idmap before Linux 6.15")
			}
			if e.Mapping != m.String() || !slices.Equal(e.UIDMap, m.Sorted().UID) {
				t.Errorf("List mapping %q %v, want %q", e.Mapping, e.UIDMap, m.String())
			}
		})
	}
}

// TestListCovered: a listed mount covered by another at its mount point
// keeps its mapping, and a covered fallback bind is still listed: records
// and maps are found by mount ID (listmount, statmount), not through the
// path, which only the mount on top answers for.
func TestListCovered(t *testing.T) {
	if kernelBefore(6, 15) {
		testutil.Unavailable(t, "needs listmount and statmount with idmaps (Linux 6.15)")
	}
	o := newOvl(t, testutil.Tmpfs(t))
	idm := o.base + "/idmapped"
	mkdir755(t, idm)
	if err := MountMapping(o.bottom, idm, b100k, Options{}); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, idm)
	if _, err := Overlay(o.target, OverlayConfig{Lower: []Layer{{Dir: o.top, AsIs: true}}, Mapping: b100k, StateDir: o.state}); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, o.target)
	mountFS(t, "tmpfs", idm, "")
	mountFS(t, "tmpfs", o.target, "")
	es, err := List(ListOptions{StateDir: o.state})
	if err != nil {
		t.Fatal(err)
	}
	var sawIDMapped, sawBind bool
	for _, e := range es {
		switch {
		case e.Mountpoint == idm && e.IDMapped:
			sawIDMapped = e.Mapping == b100k.String()
		case e.Mountpoint == o.target && e.Fallback == "chown":
			sawBind = e.ShiftedSource == o.top && e.Mapping == b100k.String()
		case e.FSType == "tmpfs" && (e.Mountpoint == idm || e.Mountpoint == o.target):
			t.Errorf("the covering tmpfs is listed: %+v", e)
		}
	}
	if !sawIDMapped || !sawBind {
		t.Errorf("covered idmapped mount listed with its mapping: %v; covered fallback bind listed: %v\n%+v", sawIDMapped, sawBind, es)
	}
}

func TestListOverlay(t *testing.T) {
	for _, method := range overlayMethods {
		t.Run(method.String(), func(t *testing.T) {
			o := newOvl(t, testutil.Tmpfs(t))
			opts := ListOptions{StateDir: o.state}
			mountOvl(t, o.target, o.config(b100k, method))
			e := findEntry(t, opts, o.target)
			if e == nil || !e.Overlay || e.IDMapped || e.Source != OverlaySource {
				t.Fatalf("List entry for %s = %+v", o.target, e)
			}
			want := []Layer{{Dir: o.top}, {Dir: o.bottom}}
			if !slices.Equal(e.Layers, want) || e.Upper != o.upper || e.Mapping != b100k.String() {
				t.Errorf("List entry %+v, want layers %v, upper %s, mapping %s", e, want, o.upper, b100k)
			}
			// Without its record the overlay is still listed, with no layers.
			e = findEntry(t, ListOptions{StateDir: t.TempDir()}, o.target)
			if e == nil || len(e.Layers) != 0 || e.Mapping != "" {
				t.Errorf("List entry without a record = %+v", e)
			}
			if err := Unmount(o.target, UnmountOptions{StateDir: o.state}); err != nil {
				t.Fatal(err)
			}
			if e := findEntry(t, opts, o.target); e != nil {
				t.Errorf("listed after umount: %+v", e)
			}
		})
	}
}

// FuzzDecodeStatmount feeds arbitrary kernel replies to the decoder: it
// may refuse them but must not panic or read out of bounds.
func FuzzDecodeStatmount(f *testing.F) {
	f.Add(make([]byte, 600))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 512 {
			b = append(b, make([]byte, 512-len(b))...)
		}
		_, _ = decodeStatmount(b)
	})
}
