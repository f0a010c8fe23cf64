//go:build linux

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// srcDst makes SOURCE (holding a file owned 0:0) and an empty TARGET on a
// scratch tmpfs.
func srcDst(t *testing.T) (base, src, dst string) {
	base = testutil.Tmpfs(t)
	src, dst = filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return base, src, dst
}

func ownerOf(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(int(st.Uid)) + ":" + strconv.Itoa(int(st.Gid))
}

func TestMountUmount(t *testing.T) {
	_, src, dst := srcDst(t)
	before := testutil.MountInfo(t)
	r := idmapkit(t, "mount", "--map", "b:0:100000:65536", src, dst)
	expect(t, r, 0)
	testutil.Unmount(t, dst)
	if got := ownerOf(t, filepath.Join(dst, "f")); got != "100000:100000" {
		t.Errorf("owner through the mount: %s, want 100000:100000", got)
	}
	if got := ownerOf(t, filepath.Join(src, "f")); got != "0:0" {
		t.Errorf("owner on disk changed: %s", got)
	}
	expect(t, idmapkit(t, "umount", dst), 0)
	if after := testutil.MountInfo(t); after != before {
		t.Errorf("mount table after mount+umount differs")
	}
}

func TestMountSpecForms(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--map", "u:0:100000:65536", "--map", "g:0:200000:65536"}, "100000:200000"},
		{[]string{"--map", "u 0 300000 65536", "--map", "g 0 300000 65536"}, "300000:300000"},
		{[]string{"--map", "0:400000:65536"}, "400000:400000"},
		{[]string{"--map", "uid:0:500000:1 gid:0:500001:1"}, "500000:500001"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, src, dst := srcDst(t)
			expect(t, idmapkit(t, append(append([]string{"mount"}, tc.args...), src, dst)...), 0)
			testutil.Unmount(t, dst)
			if got := ownerOf(t, filepath.Join(dst, "f")); got != tc.want {
				t.Errorf("owner %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMountUIDOnlyWarns(t *testing.T) {
	_, src, dst := srcDst(t)
	r := idmapkit(t, "mount", "--map", "u:0:100000:65536", src, dst)
	expect(t, r, 0, "warning", "65534")
	testutil.Unmount(t, dst)
	if got := ownerOf(t, filepath.Join(dst, "f")); got != "100000:65534" {
		t.Errorf("owner %s, want 100000:65534", got)
	}
}

func TestMountUser(t *testing.T) {
	_, src, dst := srcDst(t)
	// /etc/subuid and /etc/subgid are replaced only inside this test
	// binary's private mount namespace.
	dir := t.TempDir()
	for name, content := range map[string]string{"subuid": "alice:700000:65536\n", "subgid": "alice:800000:65536\n"} {
		f := filepath.Join(dir, name)
		os.WriteFile(f, []byte(content), 0o644)
		if err := unix.Mount(f, "/etc/"+name, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		testutil.Unmount(t, "/etc/"+name)
	}
	expect(t, idmapkit(t, "mount", "--user", "alice", src, dst), 0)
	testutil.Unmount(t, dst)
	if got := ownerOf(t, filepath.Join(dst, "f")); got != "700000:800000" {
		t.Errorf("owner %s, want 700000:800000", got)
	}
	expect(t, idmapkit(t, "mount", "--user", "nobody-here", src, dst), 2, "no entry in /etc/subuid", "usermod")
}

func TestMountUserns(t *testing.T) {
	_, src, dst := srcDst(t)
	holder := exec.Command("sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 900000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 910000, Size: 65536}},
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	ns := "/proc/" + strconv.Itoa(holder.Process.Pid) + "/ns/user"
	expect(t, idmapkit(t, "mount", "--userns", ns, src, dst), 0)
	testutil.Unmount(t, dst)
	if got := ownerOf(t, filepath.Join(dst, "f")); got != "900000:910000" {
		t.Errorf("owner %s, want 900000:910000", got)
	}
	expect(t, idmapkit(t, "mount", "--userns", "/proc/self/ns/mnt", src, dst), 1, "NS_GET_NSTYPE", "user namespace file")

	// What the kernel refuses in a user namespace is told from what a
	// filesystem refuses: the initial namespace (EPERM), and one with a
	// uid_map but no gid_map (EINVAL on a filesystem that can be idmapped).
	expect(t, idmapkit(t, "mount", "--userns", "/proc/self/ns/user", src, dst2(t, src)), 1,
		"operation not permitted", "the initial one, which the kernel never idmaps with")
	uidOnly := exec.Command("unshare", "--user", "--map-user=0", "sleep", "60")
	if err := uidOnly.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uidOnly.Process.Kill(); uidOnly.Wait() })
	waitForUidMap(t, uidOnly.Process.Pid)
	r := idmapkit(t, "mount", "--userns", "/proc/"+strconv.Itoa(uidOnly.Process.Pid)+"/ns/user", src, dst2(t, src))
	expect(t, r, 1, "invalid argument", "refuses this user namespace: it needs both a uid_map and a gid_map")
	if strings.Contains(r.stderr, "does not support idmapped mounts") {
		t.Errorf("the filesystem blamed for the namespace:\n%s", r.stderr)
	}
}

// dst2 is a fresh mount point beside src.
func dst2(t *testing.T, src string) string {
	t.Helper()
	d, err := os.MkdirTemp(filepath.Dir(src), "dst")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitForUidMap waits until unshare(1) has written pid's uid_map.
func waitForUidMap(t *testing.T, pid int) {
	t.Helper()
	// Until unshare(2) has run, the process is still in the initial user
	// namespace, whose uid_map is not empty either: wait for a namespace
	// of its own first, then for its uid_map.
	self, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	for range 500 {
		ns, err := os.Readlink(proc + "/ns/user")
		if err == nil && ns != self {
			if b, err := os.ReadFile(proc + "/uid_map"); err == nil && len(b) > 0 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("unshare %d made no user namespace with a uid_map in 5 s", pid)
}

func TestMountReadOnlyRecursive(t *testing.T) {
	_, src, dst := srcDst(t)
	sub := filepath.Join(src, "sub")
	os.Mkdir(sub, 0o755)
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, sub)
	os.WriteFile(filepath.Join(sub, "g"), nil, 0o644)
	expect(t, idmapkit(t, "mount", "--map", "b:0:100000:65536", "--recursive", "--read-only", src, dst), 0)
	testutil.Unmount(t, filepath.Join(dst))
	if got := ownerOf(t, filepath.Join(dst, "sub", "g")); got != "100000:100000" {
		t.Errorf("submount owner %s, want 100000:100000", got)
	}
	if err := os.Chmod(filepath.Join(dst, "f"), 0o600); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("chmod through --read-only: %v, want EROFS", err)
	}
	before := testutil.MountInfo(t)
	expect(t, idmapkit(t, "umount", dst), 0)
	if after := testutil.MountInfo(t); strings.Contains(after, dst) {
		t.Errorf("umount left mounts under %s:\nbefore:\n%s\nafter:\n%s", dst, before, after)
	}
	// -r is read-only, as in mount(8); -R is recursive.
	expect(t, idmapkit(t, "mount", "-rR", "--map", "b:0:100000:65536", src, dst), 0)
	testutil.Unmount(t, dst)
	if err := os.Chmod(filepath.Join(dst, "f"), 0o600); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("chmod through -r: %v, want EROFS", err)
	}
	if got := ownerOf(t, filepath.Join(dst, "sub", "g")); got != "100000:100000" {
		t.Errorf("submount owner through -R: %s, want 100000:100000", got)
	}
	expect(t, idmapkit(t, "umount", dst), 0)
}

func TestMountErrors(t *testing.T) {
	base, src, dst := srcDst(t)
	ramfs := filepath.Join(base, "ramfs")
	os.Mkdir(ramfs, 0o755)
	if err := unix.Mount("ramfs", ramfs, "ramfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, ramfs)
	file := filepath.Join(src, "f")
	m := "--map=b:0:100000:65536"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no args", []string{"mount", m}, 2, []string{"want SOURCE TARGET"}},
		{"no mapping", []string{"mount", src, dst}, 2, []string{"--map SPEC"}},
		{"bad spec", []string{"mount", "--map", "b:0:x:1", src, dst}, 2, []string{`"x" is not an ID`, "example: b:0:100000:65536"}},
		{"overlapping spec", []string{"mount", "--map", "b:0:100000:10", "--map", "b:5:200000:10", src, dst}, 2, []string{"overlap"}},
		{"two sources", []string{"mount", m, "--user", "x", src, dst}, 2, []string{"only one of"}},
		{"bad propagation", []string{"mount", m, "--propagation", "weird", src, dst}, 2, []string{"--propagation"}},
		{"unknown flag", []string{"mount", "--bogus", src, dst}, 2, []string{"bogus"}},
		{"missing source", []string{"mount", m, base + "/nope", dst}, 1, []string{"stat source", "/nope", "no such file"}},
		{"missing target", []string{"mount", m, src, base + "/nope"}, 1, []string{"stat target", "create the mount point"}},
		{"file target", []string{"mount", m, src, file}, 1, []string{"check target", "not a directory"}},
		{"ramfs", []string{"mount", m, ramfs, dst}, 1, []string{"mount_setattr(MOUNT_ATTR_IDMAP)", "invalid argument", "filesystem ramfs", "--fallback=chown"}},
		{"umount not a mount point", []string{"umount", dst}, 2, []string{"not a mount point"}},
		{"umount not idmapped", []string{"umount", ramfs}, 2, []string{"not an idmapped mount", "--force"}},
		{"umount no args", []string{"umount"}, 2, []string{"want TARGET"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.MountInfo(t)
			r := idmapkit(t, tc.args...)
			expect(t, r, tc.code, append([]string{"idmapkit: "}, tc.want...)...)
			if after := testutil.MountInfo(t); after != before {
				t.Errorf("mount table changed by a failed command")
			}
		})
	}
}

func TestMountNotRoot(t *testing.T) {
	_, src, dst := srcDst(t)
	before := testutil.MountInfo(t)
	r := runAs(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "mount", "--map", "b:0:100000:65536", src, dst)
	expect(t, r, 1, "operation not permitted", "root")
	if after := testutil.MountInfo(t); after != before {
		t.Errorf("mount table changed by a failed command")
	}
	expect(t, idmapkit(t, "mount", "--map", "b:0:100000:65536", src, dst), 0)
	testutil.Unmount(t, dst)
	r = runAs(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "umount", dst)
	expect(t, r, 1, "umount2", dst, "operation not permitted", "run as root")
}

func TestHelpTeaches(t *testing.T) {
	for _, cmd := range []string{"mount", "umount"} {
		r := idmapkit(t, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("idmapkit %s --help: want exit 0 and examples\n%s", cmd, r)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
	}{{nil, 2}, {[]string{"bogus"}, 2}, {[]string{"help", "mount"}, 0}} {
		if r := idmapkit(t, tc.args...); r.code != tc.code {
			t.Errorf("idmapkit %q: exit %d, want %d\n%s", tc.args, r.code, tc.code, r)
		}
	}
	r := idmapkit(t, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "FROM+i, is presented as TO+i") {
		t.Errorf("idmapkit --help does not state the mapping rule\n%s", r)
	}
}
