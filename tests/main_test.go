//go:build linux

// Package tests drives the built idmapkit binary as a user would: real
// commands, real mounts (in a private mount namespace), checking output
// and exit codes.
package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// binary is the idmapkit built for this test run.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The re-executed child in the private mount namespace reuses the
	// binary its parent built.
	if b := os.Getenv("IDMAPKIT_TEST_BINARY"); b != "" {
		binary = b
		return testutil.MainInMountNS(m)
	}
	dir, err := os.MkdirTemp("", "idmapkit-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "idmapkit")
	build := exec.Command("go", "build", "-o", binary, "../cmd/idmapkit")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build idmapkit: %v\n", err)
		return 1
	}
	os.Setenv("IDMAPKIT_TEST_BINARY", binary)
	return testutil.MainInMountNS(m)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// idmapkit runs the binary with args as the test's user.
func idmapkit(t *testing.T, args ...string) result {
	t.Helper()
	return runAs(t, nil, args...)
}

// runAs runs the binary with credentials cred (nil: unchanged).
func runAs(t *testing.T, cred *syscall.Credential, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run idmapkit %q: %v", args, err)
	}
	return r
}

// expect checks the exit code and that stderr holds each of wantErr.
func expect(t *testing.T, r result, code int, wantErr ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.code, code, r)
	}
	for _, w := range wantErr {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q\n%s", w, r)
		}
	}
}
