package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const mntnsEnv = "IDMAPKIT_TEST_MNTNS"

// MainInMountNS runs the test binary's tests in a private mount namespace,
// so that whatever a test mounts, even if it dies before its cleanup, never
// reaches the host's mount table. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.MainInMountNS(m)) }
//
// As root it re-executes the test binary with CLONE_NEWNS and makes every
// mount in the copy private; otherwise it runs the tests as they are (the
// tests that need root skip or, under CI, fail).
func MainInMountNS(m *testing.M) int {
	if os.Geteuid() != 0 || os.Getenv(mntnsEnv) != "" {
		if os.Getenv(mntnsEnv) != "" {
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				fmt.Fprintf(os.Stderr, "make / private in the test mount namespace: %v\n", err)
				return 1
			}
		}
		return m.Run()
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), mntnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "re-run tests in a new mount namespace: %v\n", err)
		return 1
	}
	return 0
}

// InPrivateMountNS reports whether MainInMountNS moved this binary into its
// own mount namespace.
func InPrivateMountNS() bool { return os.Getenv(mntnsEnv) != "" }

// RequireMountNS needs root and a private mount namespace: the condition
// for any test that mounts.
func RequireMountNS(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if !InPrivateMountNS() {
		t.Fatalf("mutating test outside a private mount namespace: call testutil.MainInMountNS from TestMain")
	}
}
