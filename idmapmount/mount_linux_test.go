package idmapmount

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

var b100k = Mapping{UID: IDMap{{0, 100000, 65536}}, GID: IDMap{{0, 100000, 65536}}}

// fsDirs returns a fresh directory on each filesystem type under test.
func fsDirs(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"tmpfs": func(t *testing.T) string { return testutil.Tmpfs(t) },
		"ext4":  func(t *testing.T) string { return testutil.LoopFS(t, "ext4") },
		"xfs":   func(t *testing.T) string { return testutil.LoopFS(t, "xfs") },
		"btrfs": func(t *testing.T) string { return testutil.LoopFS(t, "btrfs") },
	}
}

// mountB100k makes src (with files owned as the test needs) and an
// idmapped mount of it at dst, unmounted when t ends.
func mountB100k(t *testing.T, base string, opts Options) (src, dst string) {
	t.Helper()
	src, dst = filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	if err := MountMapping(src, dst, b100k, opts); err != nil {
		t.Fatalf("MountMapping: %v", err)
	}
	testutil.Unmount(t, dst)
	return src, dst
}

func owner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

func TestIDMappedBindOnFilesystems(t *testing.T) {
	testutil.RequireMountNS(t)
	for name, mk := range fsDirs(t) {
		t.Run(name, func(t *testing.T) {
			src, dst := mountB100k(t, mk(t), Options{})
			if err := os.WriteFile(filepath.Join(src, "root-file"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			mustChown(t, filepath.Join(src, "root-file"), 0, 0)
			mustWrite(t, filepath.Join(src, "mid-file"), 1000, 2000)
			mustWrite(t, filepath.Join(src, "outside-file"), 70000, 70000)

			checkOwner(t, filepath.Join(dst, "root-file"), 100000, 100000)
			checkOwner(t, filepath.Join(dst, "mid-file"), 101000, 102000)
			checkOwner(t, filepath.Join(dst, "outside-file"), OverflowID, OverflowID)

			// A process with fsuid/fsgid 100000 creates a file: 0:0 on disk.
			cmd := exec.Command("touch", filepath.Join(dst, "made-by-100000"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 100000, Gid: 100000}}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("touch as 100000 through the mount: %v\n%s", err, out)
			}
			checkOwner(t, filepath.Join(src, "made-by-100000"), 0, 0)
			checkOwner(t, filepath.Join(dst, "made-by-100000"), 100000, 100000)

			// Root is unmapped on this mount: creating a file fails.
			_, err := os.Create(filepath.Join(dst, "made-by-root"))
			if !errors.Is(err, unix.EOVERFLOW) {
				t.Fatalf("create as root through the mount: %v, want EOVERFLOW", err)
			}
		})
	}
}

func mustWrite(t *testing.T, path string, uid, gid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustChown(t, path, uid, gid)
}

func mustChown(t *testing.T, path string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func checkOwner(t *testing.T, path string, uid, gid uint32) {
	t.Helper()
	if u, g := owner(t, path); u != uid || g != gid {
		t.Errorf("%s: owner %d:%d, want %d:%d", path, u, g, uid, gid)
	}
}

func TestIDMappedBindReadOnly(t *testing.T) {
	src, dst := mountB100k(t, testutil.Tmpfs(t), Options{ReadOnly: true})
	mustWrite(t, filepath.Join(src, "f"), 0, 0)
	cmd := exec.Command("touch", filepath.Join(dst, "new"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 100000, Gid: 100000}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Read-only file system") {
		t.Fatalf("touch on a read-only idmapped mount: %v %s, want EROFS", err, out)
	}
	if err := os.Chmod(filepath.Join(dst, "f"), 0o600); !errors.Is(err, unix.EROFS) {
		t.Fatalf("chmod on a read-only idmapped mount: %v, want EROFS", err)
	}
}

func TestIDMappedBindACLAndCaps(t *testing.T) {
	testutil.RequireCmd(t, "setfacl")
	testutil.RequireCmd(t, "setcap")
	for name, mk := range fsDirs(t) {
		t.Run(name, func(t *testing.T) {
			src, dst := mountB100k(t, mk(t), Options{})
			f := filepath.Join(src, "f")
			mustWrite(t, f, 0, 0)
			testutil.Run(t, "setfacl", "-m", "u:5:rwx,g:7:r", f)
			testutil.Run(t, "setfacl", "-d", "-m", "u:9:rx", src)
			testutil.Run(t, "setcap", "cap_net_raw+ep", f)

			acl := testutil.Run(t, "getfacl", "-n", "-p", filepath.Join(dst, "f"))
			for _, want := range []string{"user:100005:rwx", "group:100007:r--", "# owner: 100000"} {
				if !strings.Contains(acl, want) {
					t.Errorf("getfacl through the mount lacks %q:\n%s", want, acl)
				}
			}
			def := testutil.Run(t, "getfacl", "-n", "-p", dst)
			if !strings.Contains(def, "default:user:100009:r-x") {
				t.Errorf("default ACL through the mount lacks default:user:100009:r-x:\n%s", def)
			}
			caps := testutil.Run(t, "getcap", "-n", filepath.Join(dst, "f"))
			if !strings.Contains(caps, "cap_net_raw=ep") || !strings.Contains(caps, "[rootid=100000]") {
				t.Errorf("getcap -n through the mount = %q, want cap_net_raw=ep [rootid=100000]", caps)
			}
		})
	}
}
