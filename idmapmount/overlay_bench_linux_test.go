package idmapmount

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// BenchmarkOverlay100 mounts 100 overlays of one two-layer image for 100
// different mappings, each with its own upper, as 100 users logging in
// would, then unmounts them. Every mapping gets a fresh user namespace (a
// new idmapkit process has an empty cache). The metric ms/100-overlays is
// the mount phase only; the target is under 1000. The reference in the
// same run, plain-overlay, mounts the same 100 overlays from the same
// layers without idmapping them: the floor for any overlay.
func BenchmarkOverlay100(b *testing.B) {
	testutil.RequireMountNS(b)
	const n = 100
	base := testutil.Tmpfs(b)
	img := benchImage(b, base)
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = fmt.Sprintf("%s/u%d", base, i)
		for _, d := range []string{dirs[i], dirs[i] + "/upper", dirs[i] + "/work", dirs[i] + "/target"} {
			if err := os.Mkdir(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
	}
	mountAll := map[string]func(b *testing.B, i int, d string){
		"fd-layers":     func(b *testing.B, i int, d string) { benchIDMapped(b, img, i, d, MethodFDLayers) },
		"staging":       func(b *testing.B, i int, d string) { benchIDMapped(b, img, i, d, MethodStaging) },
		"plain-overlay": func(b *testing.B, i int, d string) { benchPlain(b, img, d) },
	}
	for _, name := range []string{"fd-layers", "staging", "plain-overlay"} {
		b.Run(name, func(b *testing.B) {
			var mounting time.Duration
			for b.Loop() {
				start := time.Now()
				for i, d := range dirs {
					mountAll[name](b, i, d)
				}
				mounting += time.Since(start)
				for _, d := range dirs {
					if err := unix.Unmount(d+"/target", 0); err != nil {
						b.Fatal(err)
					}
					os.RemoveAll(d + "/upper")
					os.Mkdir(d+"/upper", 0o755)
				}
			}
			b.ReportMetric(float64(mounting.Milliseconds())/float64(b.N), "ms/100-overlays")
		})
	}
}

// benchImage makes a two-layer image of a few hundred files.
func benchImage(b *testing.B, base string) []Layer {
	var img []Layer
	for _, l := range []string{"top", "bottom"} {
		dir := base + "/" + l
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range 200 {
			if err := os.WriteFile(fmt.Sprintf("%s/f%d", dir, i), []byte(l), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		img = append(img, Layer{Dir: dir})
	}
	return img
}

func benchIDMapped(b *testing.B, img []Layer, i int, d string, method OverlayMethod) {
	m := userMapping(i)
	userns, err := NewUsernsFD(m)
	if err != nil {
		b.Fatal(err)
	}
	defer userns.Close()
	cfg := OverlayConfig{Lower: img, Upper: d + "/upper", Work: d + "/work", Mapping: m, Userns: userns,
		Method: method, StateDir: d + "/state"}
	if _, err := Overlay(d+"/target", cfg); err != nil {
		b.Fatal(err)
	}
}

func benchPlain(b *testing.B, img []Layer, d string) {
	data := "lowerdir=" + img[0].Dir + ":" + img[1].Dir + ",upperdir=" + d + "/upper,workdir=" + d + "/work"
	if err := unix.Mount("plain", d+"/target", "overlay", 0, data); err != nil {
		b.Fatal(err)
	}
}
