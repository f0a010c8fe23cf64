package chownfallback

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// The crash tests kill a real "idmapkit shift" with SIGKILL right after
// its Nth write to the tree (IDMAPKIT_TEST_KILL_AFTER, see
// cmd/idmapkit/shift_testhook.go), for every N, run it again, and check
// the tree is exactly what one uninterrupted shift makes.

var (
	binaryOnce sync.Once
	binaryDir  string // removed by TestMain
	binaryPath string
	binaryErr  error
)

// idmapkitBinary builds cmd/idmapkit once per test binary.
func idmapkitBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "idmapkit-crash-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryDir, binaryPath = dir, filepath.Join(dir, "idmapkit")
		out, err := exec.Command("go", "build", "-o", binaryPath, "github.com/idmapkit/idmapkit/cmd/idmapkit").CombinedOutput()
		if err != nil {
			binaryErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if binaryErr != nil {
		t.Fatalf("build idmapkit: %v", binaryErr)
	}
	return binaryPath
}

// runShift runs the binary's shift on dir, killed after killAfter writes
// (0: not killed). It reports whether the process was killed.
func runShift(t *testing.T, dir string, killAfter int, args ...string) bool {
	t.Helper()
	cmd := exec.Command(idmapkitBinary(t), append(append([]string{"shift"}, args...), dir)...)
	cmd.Env = append(os.Environ(), "IDMAPKIT_TEST_KILL_AFTER="+strconv.Itoa(killAfter))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL && killAfter > 0 {
			return true
		}
	}
	if err != nil {
		t.Fatalf("idmapkit shift %v %s (kill after %d): %v\n%s", args, dir, killAfter, err, out)
	}
	return false
}

// withoutTimes drops what differs between two builds of one fixture.
func withoutTimes(s map[string]meta) map[string]meta {
	for k, m := range s {
		m.Mtime.Sec, m.Mtime.Nsec = 0, 0
		s[k] = m
	}
	return s
}

func TestCrashAtEveryWrite(t *testing.T) {
	for _, jobs := range []string{"1", "2"} {
		t.Run("jobs="+jobs, func(t *testing.T) {
			base := testutil.Tmpfs(t)
			fresh := func(name string) string {
				dir := filepath.Join(base, name)
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				buildFixture(t, dir, fullFixture)
				return dir
			}
			args := []string{"--map", "b:0:100000:65536", "--jobs", jobs}
			ref := fresh("ref")
			original := withoutTimes(snapshot(t, ref))
			runShift(t, ref, 0, args...)
			want := withoutTimes(snapshot(t, ref))
			step := 1
			if jobs != "1" {
				step = 3 // the order varies; a sample of points is enough
			}
			points := 0
			for n := 1; ; n += step {
				dir := fresh("run" + strconv.Itoa(n))
				if !runShift(t, dir, n, args...) {
					break // finished before its nth write: every point was tried
				}
				// Kill the rerun too, half way, then finish.
				runShift(t, dir, n/2+1, args...)
				runShift(t, dir, 0, args...)
				requireSame(t, "killed after write "+strconv.Itoa(n)+", then rerun", want, withoutTimes(snapshot(t, dir)))
				os.RemoveAll(dir)
				if n%4 == 1 {
					// Changing one's mind: --reverse after a killed run
					// returns the tree to where it started.
					dir := fresh("back" + strconv.Itoa(n))
					runShift(t, dir, n, args...)
					runShift(t, dir, 0, append(args, "--reverse")...)
					requireSame(t, "killed after write "+strconv.Itoa(n)+", then --reverse", original, withoutTimes(snapshot(t, dir)))
					os.RemoveAll(dir)
				}
				points++
			}
			if points*step < 50 {
				t.Fatalf("only %d kill points: the hook did not fire?", points)
			}
			t.Logf("%d kill points", points)
		})
	}
}

// TestCrashDebianRootfs kills shifts of a real rootfs (setuid binaries,
// a file capability, hardlinks) at random points, two workers.
func TestCrashDebianRootfs(t *testing.T) {
	base := testutil.Tmpfs(t)
	ref := testutil.DebianRootfsIn(t, mkdir(t, base, "ref"))
	runShift(t, ref, 0, "--map", "b:0:100000:65536")
	want := snapshot(t, ref)
	os.RemoveAll(ref)
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 4))
	for i := range 3 {
		dir := testutil.DebianRootfsIn(t, mkdir(t, base, "run"+strconv.Itoa(i)))
		n := 1 + rng.IntN(6500) // a shift of its 6,800 inodes writes at least 6,800 times
		if !runShift(t, dir, n, "--map", "b:0:100000:65536") {
			t.Fatalf("not killed after %d writes", n)
		}
		runShift(t, dir, 0, "--map", "b:0:100000:65536")
		requireSame(t, "rootfs killed after write "+strconv.Itoa(n)+", then rerun", want, snapshot(t, dir))
		os.RemoveAll(dir)
	}
}

func mkdir(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
