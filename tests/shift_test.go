//go:build linux

package tests

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestShiftNotRoot: without the capabilities a shift needs, it refuses up
// front and changes nothing, instead of failing on every inode.
func TestShiftNotRoot(t *testing.T) {
	_, src, _ := srcDst(t)
	r := runAs(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "shift", "--map", "b:0:100000:65536", src)
	expect(t, r, 1, "idmapkit: shift: shifting owners needs root", "CAP_CHOWN", "nothing was changed")
	if got := ownerOf(t, filepath.Join(src, "f")); got != "0:0" {
		t.Errorf("owner after a refused shift: %s, want 0:0", got)
	}
	r = runAs(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "shift", "--dry-run", "--map", "b:0:100000:65536", src)
	expect(t, r, 0)
}
