//go:build linux

package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// layers makes a two-layer image (top shadows bottom's "f"), an empty
// upper and work directory and a target on a scratch tmpfs, and points
// idmapkit's state directory at a fresh directory.
func layers(t *testing.T) (base string) {
	t.Helper()
	t.Setenv("IDMAPKIT_STATE_DIR", t.TempDir())
	base = testutil.Tmpfs(t)
	for _, d := range []string{"top", "bottom", "upper", "work", "target"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, owner := range map[string]int{"top/f": 5, "bottom/f": 0, "bottom/g": 7} {
		p := filepath.Join(base, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, owner, owner); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func overlayArgs(base string, extra ...string) []string {
	args := []string{"overlay", "--lower", base + "/top", "--lower", base + "/bottom",
		"--upper", base + "/upper", "--work", base + "/work", "--map", "b:0:100000:65536"}
	return append(append(args, extra...), base+"/target")
}

// listEntry is the part of "list --format json" these tests read.
type listEntry struct {
	Mountpoint string `json:"mountpoint"`
	Overlay    bool   `json:"overlay"`
	IDMapped   bool   `json:"idmapped"`
	Mapping    string `json:"mapping"`
	UIDMap     []struct {
		From, To, Count uint32
	} `json:"uid_map"`
	Layers []struct {
		Dir string `json:"dir"`
	} `json:"layers"`
	Fallback      string `json:"fallback"`
	ShiftedSource string `json:"shifted_source"`
}

func listJSON(t *testing.T) map[string]listEntry {
	t.Helper()
	r := idmapkit(t, "list", "--format", "json")
	expect(t, r, 0)
	var es []listEntry
	if err := json.Unmarshal([]byte(r.stdout), &es); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, r.stdout)
	}
	m := map[string]listEntry{}
	for _, e := range es {
		m[e.Mountpoint] = e
	}
	return m
}

func TestOverlayListUmount(t *testing.T) {
	for _, method := range []string{"auto", "staging"} {
		t.Run(method, func(t *testing.T) {
			t.Setenv("IDMAPKIT_OVERLAY_METHOD", method)
			base := layers(t)
			target := base + "/target"
			before := testutil.MountInfo(t)
			r := idmapkit(t, overlayArgs(base)...)
			expect(t, r, 0)
			testutil.Unmount(t, target)
			if r.stderr != "" {
				t.Errorf("overlay wrote to stderr:\n%s", r)
			}
			for f, want := range map[string]string{"f": "100005:100005", "g": "100007:100007", ".": "100000:100000"} {
				if got := ownerOf(t, filepath.Join(target, f)); got != want {
					t.Errorf("%s through the overlay: %s, want %s", f, got, want)
				}
			}
			table := idmapkit(t, "list")
			expect(t, table, 0)
			want := target + "  overlay  idmapkit  b:0:100000:65536  " + base + "/top:" + base + "/bottom  " + base + "/upper"
			if !strings.Contains(table.stdout, "MOUNTPOINT") || !strings.Contains(table.stdout, want) {
				t.Errorf("list lacks %q:\n%s", want, table.stdout)
			}
			e, ok := listJSON(t)[target]
			if !ok || !e.Overlay || e.IDMapped || len(e.Layers) != 2 || e.Layers[0].Dir != base+"/top" || len(e.UIDMap) != 1 {
				t.Errorf("list --format json entry for %s: %+v", target, e)
			}
			expect(t, idmapkit(t, "umount", target), 0)
			if after := testutil.MountInfo(t); after != before {
				t.Errorf("mount table after overlay+umount differs:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if _, ok := listJSON(t)[target]; ok {
				t.Errorf("still listed after umount")
			}
		})
	}
}

func TestOverlayReadOnlyCLI(t *testing.T) {
	base := layers(t)
	target := base + "/target"
	expect(t, idmapkit(t, "overlay", "--lower", base+"/top", "--map", "b:0:100000:65536", target), 0)
	testutil.Unmount(t, target)
	if err := os.WriteFile(target+"/new", nil, 0o644); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write to an overlay without --upper: %v, want EROFS", err)
	}
	expect(t, idmapkit(t, "umount", target), 0)
}

func TestOverlayUsage(t *testing.T) {
	base := layers(t)
	target := base + "/target"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"overlay", "--map", "b:0:1:1", target}, "--lower"},
		{[]string{"overlay", "--lower", base + "/top", "--upper", base + "/upper", "--map", "b:0:1:1", target}, "--upper and --work together"},
		{[]string{"overlay", "--lower", base + "/top", "--map", "b:0:1:1"}, "want TARGET"},
		{[]string{"overlay", "--lower", base + "/top", "--fallback", "copy", "--map", "b:0:1:1", target}, "want none or chown"},
		{[]string{"overlay", "--lower", base + "/top", target}, "--map"},
		{[]string{"list", "--format", "yaml"}, "want table or json"},
		{[]string{"list", "extra"}, "got 1 argument"},
	} {
		expect(t, idmapkit(t, tc.args...), 2, tc.want)
	}
}

// TestOverlayUnsupportedLayer: a layer on ramfs cannot be idmapped. With
// the default --fallback=none the error says to pass --fallback=chown and
// nothing is left mounted. (tests/fallback_test.go covers --fallback=chown.)
func TestOverlayUnsupportedLayer(t *testing.T) {
	base := layers(t)
	if err := unix.Mount("ramfs", base+"/bottom", "ramfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, base+"/bottom")
	before := testutil.MountInfo(t)
	expect(t, idmapkit(t, overlayArgs(base)...), 1, "mount_setattr", "filesystem ramfs", "--fallback=chown")
	if after := testutil.MountInfo(t); after != before {
		t.Errorf("mount table changed by a failed overlay")
	}
	if got := ownerOf(t, base+"/upper"); got != "0:0" {
		t.Errorf("upper root owner %s after a failed overlay, want 0:0 again", got)
	}
}

func TestListIDMappedMountJSON(t *testing.T) {
	_, src, dst := srcDst(t)
	expect(t, idmapkit(t, "mount", "--map", "b:0:100000:65536", src, dst), 0)
	testutil.Unmount(t, dst)
	e, ok := listJSON(t)[dst]
	if !ok || !e.IDMapped || e.Overlay || len(e.Layers) != 0 {
		t.Fatalf("list entry for %s: %+v", dst, e)
	}
	if e.Mapping != "b:0:100000:65536" || len(e.UIDMap) != 1 || e.UIDMap[0].To != 100000 {
		t.Errorf("list entry mapping %q %+v, want b:0:100000:65536 (statmount, Linux 6.15+)", e.Mapping, e.UIDMap)
	}
}
