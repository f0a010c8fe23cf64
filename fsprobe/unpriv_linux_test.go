package fsprobe

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

const unprivEnv = "FSPROBE_TEST_UNPRIVILEGED"

// TestProbeUnprivileged runs TestUnprivilegedChild in a copy of this test
// binary as uid and gid 65534.
func TestProbeUnprivileged(t *testing.T) {
	testutil.RequireRoot(t)
	bin := filepath.Join(testutil.TraversableTempDir(t), "fsprobe.test")
	testutil.CopyExecutable(t, os.Args[0], bin)
	cmd := exec.Command(bin, "-test.run=^TestUnprivilegedChild$", "-test.v", "-test.count=1")
	// Without testutil's marker, the child runs its tests as they are
	// instead of trying to make / private in a namespace it cannot own.
	cmd.Env = []string{unprivEnv + "=1", "PATH=" + os.Getenv("PATH")}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestUnprivilegedChild") {
		t.Fatalf("child as uid 65534: %v\n%s", err, out)
	}
}

func TestUnprivilegedChild(t *testing.T) {
	if os.Getenv(unprivEnv) == "" {
		t.Skip("helper run by TestProbeUnprivileged")
	}
	r, err := Probe("/")
	if err != nil {
		t.Fatal(err)
	}
	if r.Supported != Unknown || r.Reason != ReasonNotPrivileged || r.Errno != "EPERM" {
		t.Fatalf("as uid %d: %s/%s/%s (%s), want unknown/not-privileged/EPERM", os.Getuid(), r.Supported, r.Reason, r.Errno, r.Detail)
	}
	if !errors.Is(r.Err(), ErrNotPrivileged) || !errors.Is(r.Err(), syscall.EPERM) {
		t.Fatalf("Err() = %v, want ErrNotPrivileged and EPERM", r.Err())
	}
}
