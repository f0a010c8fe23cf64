package idmapmount

import (
	"os"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// BenchmarkIDMappedBind measures one idmapped bind mount: clone, idmap,
// attach and detach, with a cached user namespace and with a fresh one
// made for every mount.
func BenchmarkIDMappedBind(b *testing.B) {
	testutil.RequireMountNS(b)
	base := testutil.Tmpfs(b)
	src, dst := base+"/src", base+"/dst"
	os.Mkdir(src, 0o755)
	os.Mkdir(dst, 0o755)
	cycle := func(b *testing.B, userns *os.File) {
		if err := Mount(src, dst, userns, Options{}); err != nil {
			b.Fatal(err)
		}
		if err := unix.Unmount(dst, unix.MNT_DETACH); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cached-userns", func(b *testing.B) {
		for b.Loop() {
			userns, err := UsernsFD(b100k)
			if err != nil {
				b.Fatal(err)
			}
			cycle(b, userns)
			userns.Close()
		}
	})
	b.Run("fresh-userns", func(b *testing.B) {
		for b.Loop() {
			userns, err := NewUsernsFD(b100k)
			if err != nil {
				b.Fatal(err)
			}
			cycle(b, userns)
			userns.Close()
		}
	})
}
