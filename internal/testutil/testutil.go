// Package testutil holds the helpers idmapkit's tests share: the root and
// tool requirements (which fail instead of skipping when CI=true), a private
// mount namespace for each test binary, and scratch filesystems on tmpfs and
// on loop files that are removed again when the test ends.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a test that
// cannot run must fail rather than skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips t with the reason, or fails it under CI.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("cannot run under CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// RequireRoot needs euid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root (euid is %d)", os.Geteuid())
	}
}

// RequireCmd needs an executable on PATH and returns its path.
func RequireCmd(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "needs %s on PATH (.ci/run installs it): %v", name, err)
	}
	return p
}

// Run runs a command and fails t with its output if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}
