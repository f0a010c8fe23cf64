package fsprobe

import (
	"testing"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/idmapkit/idmapkit/internal/testutil"
	"github.com/moby/sys/mountinfo"
)

// BenchmarkProbeAll is "probe --all" without the process start: a new
// Prober (one shared user namespace fd, one control probe) over every
// mount of the table. The references in the same run: reading the mount
// table alone (the floor), and the same probes with a new user namespace
// for each mount (what sharing saves).
func BenchmarkProbeAll(b *testing.B) {
	testutil.RequireRoot(b)
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d mounts", len(mounts))
	b.Run("shared-userns", func(b *testing.B) {
		for b.Loop() {
			p := NewProber()
			if _, err := p.All(); err != nil {
				b.Fatal(err)
			}
			p.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(mounts)), "ns/mount")
	})
	b.Run("ref-mount-table-only", func(b *testing.B) {
		for b.Loop() {
			if _, err := mountinfo.GetMounts(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ref-userns-per-mount", func(b *testing.B) {
		for b.Loop() {
			for _, m := range mounts {
				userns, err := idmapmount.NewUsernsFD(probeMapping)
				if err != nil {
					b.Fatal(err)
				}
				if t, err := idmapmount.Tree(m.Mountpoint, userns, idmapmount.Options{}); err == nil {
					t.Close()
				}
				userns.Close()
			}
		}
	})
}

// BenchmarkKernel is the kernel checks of --format json and nfd.
func BenchmarkKernel(b *testing.B) {
	testutil.RequireRoot(b)
	for b.Loop() {
		p := NewProber()
		p.Kernel()
		p.Close()
	}
}
