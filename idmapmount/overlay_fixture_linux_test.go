package idmapmount

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// ovl is a scratch overlay: two lower layers (top first), an empty upper
// and work directory, a target, and a state directory.
type ovl struct {
	base, top, bottom, upper, work, target, state string
}

// newOvl builds the layers in base: the bottom layer holds files of
// several owners, the top layer shadows one of them.
func newOvl(t *testing.T, base string) ovl {
	t.Helper()
	o := ovl{base: base, top: base + "/top", bottom: base + "/bottom", upper: base + "/upper",
		work: base + "/work", target: base + "/target", state: base + "/state"}
	for _, d := range []string{o.top, o.bottom, o.bottom + "/dir", o.upper, o.work, o.target} {
		mkdir755(t, d)
	}
	writeOwned(t, o.bottom+"/root-file", "root", 0, 0)
	writeOwned(t, o.bottom+"/shared", "bottom", 5, 6)
	writeOwned(t, o.bottom+"/dir/deep", "deep", 1000, 1000)
	writeOwned(t, o.top+"/shared", "top", 7, 8)
	writeOwned(t, o.top+"/top-only", "top-only", 0, 0)
	return o
}

func (o ovl) config(m Mapping, method OverlayMethod) OverlayConfig {
	return OverlayConfig{Lower: []Layer{{Dir: o.top}, {Dir: o.bottom}}, Upper: o.upper, Work: o.work,
		Mapping: m, Method: method, StateDir: o.state}
}

func mkdir755(t *testing.T, d string) {
	t.Helper()
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeOwned(t *testing.T, path, content string, uid, gid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mustChown(t, path, uid, gid)
}

// mountOvl makes the overlay and unmounts it when t ends.
func mountOvl(t *testing.T, target string, cfg OverlayConfig) *OverlayRecord {
	t.Helper()
	rec, err := Overlay(target, cfg)
	if err != nil {
		t.Fatalf("Overlay: %v", err)
	}
	testutil.Unmount(t, target)
	return rec
}

// runAs runs a shell command as uid:gid and returns its error and output.
func runAs(uid, gid uint32, script string) (string, error) {
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// treeState is every inode of a tree, by path: inode number, owner, mode,
// size, mtime and a hash of the content, to show a tree did not change.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	s := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		sum := ""
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		s[p] = fmt.Sprintf("ino=%d uid=%d gid=%d mode=%o size=%d mtime=%d.%d ctime=%d.%d %s", st.Ino, st.Uid, st.Gid,
			st.Mode, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkSameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s: %s disappeared", what, p)
		} else if a != b {
			t.Errorf("%s: %s changed:\nbefore %s\nafter  %s", what, p, b, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func maps(dst, src map[string]string) {
	for k, v := range src {
		dst[k] = v
	}
}
