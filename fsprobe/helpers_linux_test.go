package fsprobe

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { os.Exit(testutil.MainInMountNS(m)) }

// srcTree is a small directory tree to build read-only images from.
func srcTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// imageFS builds a read-only image with tool (mksquashfs or mkfs.erofs)
// and mounts it through a self-clearing loop device.
func imageFS(t *testing.T, fstype string) string {
	t.Helper()
	testutil.RequireMountNS(t)
	src := srcTree(t)
	img := filepath.Join(t.TempDir(), fstype+".img")
	switch fstype {
	case "squashfs":
		testutil.RequireCmd(t, "mksquashfs")
		testutil.Run(t, "mksquashfs", src, img, "-quiet", "-noappend", "-no-progress")
	case "erofs":
		testutil.RequireCmd(t, "mkfs.erofs")
		testutil.Run(t, "mkfs.erofs", "--quiet", img, src)
	default:
		t.Fatalf("imageFS: no recipe for %s", fstype)
	}
	dir := mkdir(t, "mnt")
	testutil.Run(t, "mount", "-t", fstype, "-o", "loop,ro", img, dir)
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
		out, _ := exec.Command("losetup", "-j", img).Output()
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("cleanup: loop device still attached: %s", s)
		}
	})
	return dir
}

// kernelFS mounts a filesystem that needs no device (ramfs, proc, ...).
func kernelFS(t *testing.T, fstype, data string) string {
	t.Helper()
	testutil.RequireMountNS(t)
	dir := mkdir(t, fstype)
	if err := unix.Mount(fstype, dir, fstype, 0, data); err != nil {
		t.Fatalf("mount %s on %s: %v", fstype, dir, err)
	}
	testutil.Unmount(t, dir)
	return dir
}

// overlayFS mounts a read-only overlay of two directories.
func overlayFS(t *testing.T) string {
	t.Helper()
	testutil.RequireMountNS(t)
	lower1, lower2, dir := mkdir(t, "l1"), mkdir(t, "l2"), mkdir(t, "ovl")
	if err := unix.Mount("overlay", dir, "overlay", 0, "lowerdir="+lower1+":"+lower2); err != nil {
		t.Fatalf("mount overlay on %s: %v", dir, err)
	}
	testutil.Unmount(t, dir)
	return dir
}

func mkdir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(testutil.TraversableTempDir(t), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameMountTable fails t if the mount table differs from before.
func sameMountTable(t *testing.T, before string) {
	t.Helper()
	if after := testutil.MountInfo(t); after != before {
		t.Errorf("the probe changed the mount table:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
