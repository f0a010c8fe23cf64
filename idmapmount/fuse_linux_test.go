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

// TestIDMappedBindFUSE: a FUSE mount whose server opts in is idmapped
// like any other filesystem (its root, 0:0 as the server says, shows as
// 100000:100000); one whose server does not is refused with EINVAL and a
// hint that says why, and the mount table is left as it was.
func TestIDMappedBindFUSE(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "FUSE servers can opt in to idmapped mounts")
	base := testutil.Tmpfs(t)
	yes, no := testutil.FUSE(t, base, true), testutil.FUSE(t, base, false)
	dst := filepath.Join(base, "dst")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	checkOwner(t, yes, 0, 0)
	if err := MountMapping(yes, dst, b100k, Options{}); err != nil {
		t.Fatalf("MountMapping of an opted-in FUSE mount: %v", err)
	}
	testutil.Unmount(t, dst)
	checkOwner(t, dst, 100000, 100000)
	if err := unix.Unmount(dst, 0); err != nil {
		t.Fatal(err)
	}

	table := testutil.MountInfo(t)
	err := MountMapping(no, dst, b100k, Options{})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "FUSE server did not opt in") || !strings.Contains(err.Error(), testutil.FUSEType) {
		t.Errorf("MountMapping of a FUSE mount without opt-in: %v, want EINVAL with a FUSE hint", err)
	}
	if testutil.MountInfo(t) != table {
		t.Error("a failed mount changed the mount table")
	}
}
