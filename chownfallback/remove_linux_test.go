package chownfallback

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestRemoveTree: removeTree deletes a tree (deep, with files, symlinks,
// a FIFO) but stops, deleting nothing there, at something mounted inside
// it, and never follows a symlink out.
func TestRemoveTree(t *testing.T) {
	base := testutil.Tmpfs(t)
	outside := mkdir(t, base, "outside")
	writeFile(t, filepath.Join(outside, "keep"), "x")
	tree := mkdir(t, base, "tree")
	deep := tree
	for range 50 {
		deep = mkdir(t, deep, "d")
	}
	writeFile(t, filepath.Join(deep, "f"), "x")
	if err := os.Symlink(outside, filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(tree, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	mnt := mkdir(t, tree, "mnt")
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, mnt)
	writeFile(t, filepath.Join(mnt, "other-fs"), "x")

	if err := removeTree(tree); !errors.Is(err, unix.EXDEV) {
		t.Fatalf("removeTree over a mount point: %v, want EXDEV", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "other-fs")); err != nil {
		t.Fatalf("a file on the mount inside the tree was deleted: %v", err)
	}
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	if err := removeTree(tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tree still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("removeTree followed a symlink out: %v", err)
	}
}

// TestRemoveTreeMountedOn: a directory that is itself a mount point (a
// bind of another directory on a leftover's name) is not entered.
func TestRemoveTreeMountedOn(t *testing.T) {
	base := testutil.Tmpfs(t)
	precious := mkdir(t, base, "precious")
	writeFile(t, filepath.Join(precious, "important"), "keep")
	top := mkdir(t, base, "top")
	if err := unix.Mount(precious, top, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, top)
	if err := removeTree(top); !errors.Is(err, unix.EXDEV) {
		t.Fatalf("removeTree of a mount point: %v, want EXDEV", err)
	}
	if _, err := os.Stat(filepath.Join(precious, "important")); err != nil {
		t.Fatalf("the bind-mounted directory was emptied: %v", err)
	}
}
