package chownfallback

import (
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// BenchmarkShift shifts a Debian rootfs (about 6,800 inodes) on tmpfs
// forward and back; ns/op is per shift. bench/shift.sh compares with
// chown -R on 200,000 inodes.
func BenchmarkShift(b *testing.B) {
	root := testutil.DebianRootfsIn(b, testutil.Tmpfs(b))
	m := mapping(b, "b:0:100000:65536")
	for i := 0; b.Loop(); i++ {
		mm := m
		if i%2 == 1 {
			mm = m.Inverse()
		}
		if _, err := Shift(root, mm, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/6800, "ns/inode")
}
