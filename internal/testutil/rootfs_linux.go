package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// RootfsCacheDir holds the cached Debian rootfs tarball; override it with
// IDMAPKIT_ROOTFS_CACHE.
const RootfsCacheDir = "/var/cache/idmapkit-test"

// rootfsTar names the tarball; change it when the recipe changes.
const rootfsTar = "debian-bookworm-minbase-v1.tar"

// rootfsCapFile must carry a file capability in the fixture; iputils-ping
// sets cap_net_raw on it in its postinst, and buildRootfs sets it if not.
const rootfsCapFile = "usr/bin/ping"

// DebianRootfs extracts a Debian bookworm minbase rootfs (with
// iputils-ping, whose binary carries a file capability; about 6,800
// inodes, setuid binaries, hardlinks, device nodes) into a new directory
// and returns it. See DebianRootfsIn.
func DebianRootfs(t testing.TB) string {
	t.Helper()
	return DebianRootfsIn(t, TraversableTempDir(t))
}

// DebianRootfsIn extracts the rootfs into a new directory "rootfs" under
// parent (for instance a LoopFS) and returns it. The rootfs is built once
// with debootstrap (about 30 s, needs deb.debian.org) and cached as a
// tarball under RootfsCacheDir, shared by every test binary (under a
// lock); each call extracts a fresh copy with ownership, modes, xattrs
// and ACLs.
func DebianRootfsIn(t testing.TB, parent string) string {
	t.Helper()
	RequireRoot(t)
	RequireCmd(t, "tar")
	RequireCmd(t, "getcap")
	tarball := rootfsTarball(t)
	dir := filepath.Join(parent, "rootfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	Run(t, "tar", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner", "-p", "-xf", tarball, "-C", dir)
	if caps := Run(t, "getcap", filepath.Join(dir, rootfsCapFile)); !bytes.Contains([]byte(caps), []byte("cap_net_raw")) {
		t.Fatalf("fixture %s lost its file capability in extraction (getcap: %q)", rootfsCapFile, caps)
	}
	return dir
}

func rootfsCache() string {
	if d := os.Getenv("IDMAPKIT_ROOTFS_CACHE"); d != "" {
		return d
	}
	return RootfsCacheDir
}

// rootfsTarball returns the cached tarball, building it first if needed.
func rootfsTarball(t testing.TB) string {
	t.Helper()
	cache := rootfsCache()
	tarball := filepath.Join(cache, rootfsTar)
	if _, err := os.Stat(tarball); err == nil {
		return tarball
	}
	RequireCmd(t, "debootstrap")
	RequireCmd(t, "setcap")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock := lockFile(t, filepath.Join(cache, rootfsTar+".lock"))
	defer unlock()
	if _, err := os.Stat(tarball); err == nil {
		return tarball // another test binary built it while we waited
	}
	if err := buildRootfs(tarball); err != nil {
		Unavailable(t, "build the Debian rootfs fixture: %v", err)
	}
	return tarball
}

// lockFile takes an exclusive flock on path.
func lockFile(t testing.TB, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("flock %s: %v", path, err)
	}
	return func() { f.Close() }
}

// buildRootfs runs debootstrap and writes the tarball atomically.
func buildRootfs(tarball string) error {
	work, err := os.MkdirTemp(filepath.Dir(tarball), "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "rootfs")
	steps := [][]string{
		{"debootstrap", "--variant=minbase", "--include=iputils-ping", "bookworm", root, "http://deb.debian.org/debian"},
	}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %w\n%s", s, err, tail(out))
		}
	}
	// iputils-ping's postinst sets the capability where setcap works; make
	// sure, so the fixture always has one.
	capFile := filepath.Join(root, rootfsCapFile)
	if out, _ := exec.Command("getcap", capFile).Output(); !bytes.Contains(out, []byte("cap_net_raw")) {
		if out, err := exec.Command("setcap", "cap_net_raw+ep", capFile).CombinedOutput(); err != nil {
			return fmt.Errorf("setcap %s: %w: %s", capFile, err, out)
		}
	}
	tmp := tarball + ".tmp"
	tarCmd := exec.Command("tar", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner", "-cf", tmp, "-C", root, ".")
	if out, err := tarCmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tar: %w: %s", err, out)
	}
	return os.Rename(tmp, tarball)
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
