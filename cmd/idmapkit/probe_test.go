//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/fsprobe"
	"github.com/idmapkit/idmapkit/internal/testutil"
)

// These tests only probe: nothing is attached, so they need no private
// mount namespace.

func TestProbeCLIJSON(t *testing.T) {
	testutil.RequireRoot(t)
	r := runApp(t, "probe", "--format", "json", "/proc")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep probeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rep.Mounts) != 1 || rep.Mounts[0].Supported != fsprobe.No || rep.Mounts[0].Errno != "EINVAL" || rep.Mounts[0].Reason != fsprobe.ReasonFSUnsupported {
		t.Errorf("mounts = %+v, want /proc: no, EINVAL, fs-unsupported", rep.Mounts)
	}
	if len(rep.Kernel.Checks) != 5 {
		t.Errorf("kernel checks = %+v, want 5", rep.Kernel.Checks)
	}
	if !strings.Contains(r.stdout, `"blockers": []`) {
		t.Errorf("blockers is not an empty array:\n%s", r.stdout)
	}
}

func TestProbeCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"probe", filepath.Join(t.TempDir(), "missing")},
		{"probe", "--format", "yaml"},
		{"probe", "--all", "/"},
		{"probe", "--all", "--recursive"},
		{"probe", "--matrix", "/"},
	} {
		if r := runApp(t, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
}

var nfdLine = regexp.MustCompile(`^idmap\.[A-Za-z0-9][A-Za-z0-9._-]*=[A-Za-z0-9._-]+$`)

func TestProbeCLIAllNFD(t *testing.T) {
	testutil.RequireRoot(t)
	r := runApp(t, "probe", "--all", "--format", "nfd")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	for _, l := range lines {
		if !nfdLine.MatchString(l) {
			t.Errorf("not a feature line: %q", l)
		}
	}
	for _, want := range []string{"idmap.fs.proc=false", "idmap.mounts=true", "idmap.kernel="} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in\n%s", want, r.stdout)
		}
	}
}

func TestProbeCLIRecursiveTable(t *testing.T) {
	testutil.RequireRoot(t)
	r := runApp(t, "probe", "--recursive", "--kernel", "/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"PATH  ", "IDMAP", "submounts that would make a recursive idmapped mount fail:", "/proc", "CHECK", "overlay.fd-layers"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in\n%s", want, r.stdout)
		}
	}
}

func TestProbeCLIMatrix(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"mkfs.ext2", "mkfs.xfs"} {
		testutil.RequireCmd(t, tool)
	}
	r := runApp(t, "probe", "--matrix")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	row := regexp.MustCompile(`(?m)^ext2 as ext4\s+-\s+ext4\s+/dev/loop\d+\s+yes\s`)
	if !strings.HasPrefix(r.stdout, "FILESYSTEM") || !row.MatchString(r.stdout) || !strings.Contains(r.stdout, "ramfs") {
		t.Errorf("matrix table:\n%s", r.stdout)
	}
}

const cliChildEnv = "IDMAPKIT_PROBE_CLI_CHILD"

// TestProbeCLIUnprivileged runs "idmapkit probe /" as uid 65534 in a copy
// of this test binary (TestProbeCLIChild).
func TestProbeCLIUnprivileged(t *testing.T) {
	testutil.RequireRoot(t)
	bin := filepath.Join(testutil.TraversableTempDir(t), "idmapkit.test")
	testutil.CopyExecutable(t, os.Args[0], bin)
	cmd := exec.Command(bin, "-test.run=^TestProbeCLIChild$")
	cmd.Env = []string{cliChildEnv + "=1"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitFailed {
		t.Fatalf("as uid 65534: %v, want exit %d\nstdout:\n%s\nstderr:\n%s", err, exitFailed, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "CAP_SYS_ADMIN") || !strings.Contains(out.String(), "unknown") {
		t.Fatalf("want an unknown row and a CAP_SYS_ADMIN error\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}

func TestProbeCLIChild(t *testing.T) {
	if os.Getenv(cliChildEnv) == "" {
		t.Skip("helper run by TestProbeCLIUnprivileged")
	}
	if err := newApp().Run([]string{"idmapkit", "probe", "/"}); err != nil {
		fmt.Fprintf(os.Stderr, "idmapkit: %v\n", err)
		os.Exit(exitCode(err))
	}
	os.Exit(0)
}
