//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/idmapkit/idmapkit/internal/testutil"
)

// These tests run shift and ids in-process on small trees in t.TempDir():
// they change owners there and mount nothing.

// shiftTree makes a tree: a/ 0:0, a/f 0:0, a/g 5:6, a/far 70000:70000.
func shiftTree(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	dir := t.TempDir()
	for _, f := range []struct {
		path     string
		uid, gid int
	}{{"a", 0, 0}, {"a/f", 0, 0}, {"a/g", 5, 6}, {"a/far", 70000, 70000}} {
		p := filepath.Join(dir, f.path)
		var err error
		if f.path == "a" {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, nil, 0o644)
		}
		if err == nil {
			err = os.Lchown(p, f.uid, f.gid)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "a")
}

func owner(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%u:%g", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestShiftCLIUsage(t *testing.T) {
	dir := shiftTree(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no dir", []string{"shift", "--map", "b:0:100000:65536"}, "want DIR"},
		{"no mapping", []string{"shift", dir}, "--map"},
		{"bad spec", []string{"shift", "--map", "b:0:1", dir}, "bad mapping spec"},
		{"overlap", []string{"shift", "--map", "b:0:1000:65536", dir}, "overlap"},
		{"not a directory", []string{"shift", "--map", "b:0:100000:65536", filepath.Join(dir, "f")}, "not a directory"},
		{"bad format", []string{"shift", "--map", "b:0:100000:65536", "--format", "xml", dir}, "--format"},
		{"bad unmapped", []string{"shift", "--map", "b:0:100000:65536", "--unmapped", "drop", dir}, "--unmapped"},
		{"ids without dir", []string{"ids"}, "want DIR"},
		{"ids bad format", []string{"ids", "--format", "yaml", dir}, "--format"},
		{"ids not a directory", []string{"ids", filepath.Join(dir, "f")}, "idmapkit: ids: open " + filepath.Join(dir, "f") + ": the root of the tree must be a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, exitUsage, tc.want, r.stderr)
			}
			if got := owner(t, filepath.Join(dir, "f")); got != "0:0" {
				t.Fatalf("a/f is %s after a refused command", got)
			}
		})
	}
}

func TestShiftCLITable(t *testing.T) {
	dir := shiftTree(t)
	r := runApp(t, "shift", "--map", "b:0:100000:65536", "--dry-run", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "WOULD CHANGE") || owner(t, filepath.Join(dir, "f")) != "0:0" {
		t.Fatalf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runApp(t, "shift", "--map", "b:0:100000:65536", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"SEEN", "CHANGED", "ALREADY DONE", "UNMAPPED", "ERRORS", "uids 70000; gids 70000"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := owner(t, filepath.Join(dir, "g")); got != "100005:100006" {
		t.Errorf("a/g is %s, want 100005:100006", got)
	}
	r = runApp(t, "shift", "--map", "b:0:100000:65536", "--reverse", dir)
	if got := owner(t, filepath.Join(dir, "g")); r.code != 0 || got != "5:6" {
		t.Errorf("--reverse: exit %d, a/g is %s, want 5:6\n%s", r.code, got, r.stderr)
	}
	r = runApp(t, "shift", "--map", "b:0:100000:65536", "--unmapped", "fail", "--dry-run", dir)
	if r.code != exitFailed || !strings.Contains(r.stderr, "70000") || !strings.Contains(r.stderr, "a run would refuse") {
		t.Errorf("--unmapped fail --dry-run: exit %d, want 1 predicting the refusal:\n%s", r.code, r.stderr)
	}
	r = runApp(t, "shift", "--map", "b:0:100000:65536", "--unmapped", "fail", dir)
	if r.code != exitFailed || !strings.Contains(r.stderr, "70000") || owner(t, filepath.Join(dir, "f")) != "0:0" {
		t.Errorf("--unmapped fail: exit %d, want 1 naming 70000 and nothing changed:\n%s", r.code, r.stderr)
	}
}

func TestShiftCLIJSON(t *testing.T) {
	dir := shiftTree(t)
	r := runApp(t, "shift", "--map", "b:0:100000:65536", "--format", "json", "--jobs", "1", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res chownfallback.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if res.Seen != 4 || res.Changed != 3 || res.Unmapped != 1 || res.Errors == nil || res.MountPoints == nil {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(r.stdout, `"errors": []`) || !strings.Contains(r.stdout, `"warnings": []`) || !strings.Contains(r.stdout, `"unmapped_uids": [`) {
		t.Errorf("lists must be arrays:\n%s", r.stdout)
	}
	r = runApp(t, "ids", "--format", "json", dir)
	var c chownfallback.Census
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || r.code != 0 {
		t.Fatalf("ids: exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if c.Inodes != 4 || chownfallback.FormatRanges(c.UIDs) != "70000,100000,100005" {
		t.Errorf("census %+v", c)
	}
}

func TestIDsCLITable(t *testing.T) {
	dir := shiftTree(t)
	r := runApp(t, "ids", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"KIND  FIRST  LAST", "uid   0      0      1    2", "gid   70000", "4 inodes"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestShiftCLIFailedInode: an inode that cannot be changed is reported
// with its path and errno, the exit code is 1, and a rerun after the
// cause is fixed finishes.
func TestShiftCLIFailedInode(t *testing.T) {
	testutil.RequireCmd(t, "chattr")
	dir := shiftTree(t)
	stuck := filepath.Join(dir, "f")
	if out, err := exec.Command("chattr", "+i", stuck).CombinedOutput(); err != nil {
		testutil.Unavailable(t, "chattr +i on %s: %v %s", dir, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", stuck).Run() })
	r := runApp(t, "shift", "--map", "b:0:100000:65536", dir)
	if r.code != exitFailed || !strings.Contains(r.stderr, stuck) || !strings.Contains(r.stderr, "operation not permitted") {
		t.Fatalf("exit %d, want 1 naming %s and EPERM:\n%s", r.code, stuck, r.stderr)
	}
	if owner(t, filepath.Join(dir, "g")) != "100005:100006" {
		t.Fatalf("the rest was not shifted")
	}
	if err := exec.Command("chattr", "-i", stuck).Run(); err != nil {
		t.Fatal(err)
	}
	if r := runApp(t, "shift", "--map", "b:0:100000:65536", dir); r.code != 0 || owner(t, stuck) != "100000:100000" {
		t.Fatalf("rerun: exit %d, a/f %s\n%s", r.code, owner(t, stuck), r.stderr)
	}
}

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		n, total uint64
		want     string
	}{
		{5, 0, ""},
		{0, 10, "[>                             ]   0% "},
		{5, 10, "[===============>              ]  50% "},
		{12, 10, "[==============================] 100% "},
	} {
		if got := bar(tc.n, tc.total); got != tc.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tc.n, tc.total, got, tc.want)
		}
	}
}
