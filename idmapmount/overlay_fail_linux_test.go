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

// TestOverlayFailures breaks an overlay at each step, by both methods, and
// checks that the error names the step, and that the mount table, the
// lower layers, the upper's root and the state directory are as they were.
func TestOverlayFailures(t *testing.T) {
	testutil.RequireMountNS(t)
	for _, tc := range []struct {
		name      string
		setup     func(t *testing.T, o ovl, cfg *OverlayConfig) (target string)
		errno     error
		wantInErr string
	}{
		{"missing target", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			return o.base + "/nope"
		}, unix.ENOENT, "stat target"},
		{"missing upper", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			cfg.Upper = o.base + "/nope"
			return o.target
		}, unix.ENOENT, "resolve upper directory"},
		{"missing second layer", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			cfg.Lower = append(cfg.Lower, Layer{Dir: o.base + "/nope"})
			return o.target
		}, unix.ENOENT, "stat lower layer"},
		{"second layer is a file", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			writeOwned(t, o.base+"/file", "not a layer", 0, 0)
			cfg.Lower = append(cfg.Lower, Layer{Dir: o.base + "/file"})
			return o.target
		}, unix.ENOTDIR, "check lower layer"},
		{"second layer on ramfs", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			ram := o.base + "/ram"
			mkdir755(t, ram)
			mountFS(t, "ramfs", ram, "")
			cfg.Lower = append(cfg.Lower, Layer{Dir: ram})
			return o.target
		}, unix.EINVAL, "does not support idmapped mounts"},
		{"work on another filesystem", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			other := o.base + "/other"
			mkdir755(t, other)
			mountFS(t, "tmpfs", other, "")
			cfg.Work = other
			return o.target
		}, unix.EXDEV, "same filesystem"},
		{"upper inside a lower layer", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			cfg.Upper = o.bottom + "/dir"
			return o.target
		}, ErrBadOverlay, "put --upper and --work outside every --lower"},
		{"record cannot be written", func(t *testing.T, o ovl, cfg *OverlayConfig) string {
			if err := os.MkdirAll(o.state, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(o.state+"/overlays", nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return o.target
		}, unix.ENOTDIR, "make state directory"},
	} {
		for _, method := range overlayMethods {
			t.Run(tc.name+"/"+method.String(), func(t *testing.T) {
				base := testutil.Tmpfs(t)
				o := newOvl(t, base)
				cfg := o.config(b100k, method)
				target := tc.setup(t, o, &cfg)
				lower := treeState(t, o.bottom)
				maps(lower, treeState(t, o.top))
				before := testutil.MountInfo(t)
				_, err := Overlay(target, cfg)
				if err == nil {
					testutil.Unmount(t, target)
					t.Fatalf("Overlay succeeded, want an error")
				}
				if after := testutil.MountInfo(t); after != before {
					t.Errorf("mount table changed by a failed overlay:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				if tc.errno != nil && !errors.Is(err, tc.errno) {
					t.Errorf("error %v, want errno %v", err, tc.errno)
				}
				if !strings.Contains(err.Error(), tc.wantInErr) {
					t.Errorf("error lacks %q:\n%v", tc.wantInErr, err)
				}
				after := treeState(t, o.bottom)
				maps(after, treeState(t, o.top))
				checkSameTree(t, "lower layers", lower, after)
				checkOwner(t, o.upper, 0, 0)
				checkNoLeftovers(t, o.state)
			})
		}
	}
}

// checkNoLeftovers fails if the state directory holds a staging
// directory or an overlay record.
func checkNoLeftovers(t *testing.T, state string) {
	t.Helper()
	for _, sub := range []string{"staging", "overlays"} {
		ents, err := os.ReadDir(filepath.Join(state, sub))
		if err != nil {
			continue
		}
		for _, e := range ents {
			t.Errorf("left behind: %s", filepath.Join(state, sub, e.Name()))
		}
	}
}
