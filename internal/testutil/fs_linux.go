package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TraversableTempDir is t.TempDir() with it and its parent made 0755, so
// that processes running as other users (the mapped IDs of a test) can
// reach what is below it.
func TraversableTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Unmount detaches the mount at dir (MNT_DETACH) when t ends.
func Unmount(t testing.TB, dir string) {
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			t.Errorf("cleanup: umount %s: %v", dir, err)
		}
	})
}

// Tmpfs mounts a fresh tmpfs on a new directory and returns it.
func Tmpfs(t testing.TB) string {
	t.Helper()
	RequireMountNS(t)
	dir := filepath.Join(TraversableTempDir(t), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	Unmount(t, dir)
	return dir
}

// mkfsArgs says how to make each loop filesystem type on an image file.
var mkfsArgs = map[string][]string{
	"ext4":  {"mkfs.ext4", "-q", "-F"},
	"ext2":  {"mkfs.ext2", "-q", "-F"},
	"xfs":   {"mkfs.xfs", "-q", "-f"},
	"btrfs": {"mkfs.btrfs", "-q", "-f"},
}

// LoopFS makes a filesystem of type fstype ("ext4", "ext2", "xfs",
// "btrfs") on a sparse 512 MiB image file, mounts it through a loop device
// that detaches itself on unmount (mount -o loop sets LO_FLAGS_AUTOCLEAR),
// and returns the mount point. Everything goes away when t ends.
func LoopFS(t testing.TB, fstype string) string {
	t.Helper()
	RequireMountNS(t)
	mkfs, ok := mkfsArgs[fstype]
	if !ok {
		t.Fatalf("LoopFS: no recipe for %q", fstype)
	}
	RequireCmd(t, mkfs[0])
	base := TraversableTempDir(t)
	img := filepath.Join(base, fstype+".img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 512<<20); err != nil {
		t.Fatal(err)
	}
	Run(t, mkfs[0], append(mkfs[1:], img)...)
	dir := filepath.Join(base, "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	Run(t, "mount", "-o", "loop", img, dir)
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
		out, _ := exec.Command("losetup", "-j", img).Output()
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("cleanup: loop device still attached after umount: %s", s)
			for _, line := range strings.Split(s, "\n") {
				dev, _, _ := strings.Cut(line, ":")
				_ = exec.Command("losetup", "-d", dev).Run()
			}
		}
	})
	return dir
}

// MountInfo returns the text of /proc/self/mountinfo, to compare the mount
// table before and after an operation.
func MountInfo(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
