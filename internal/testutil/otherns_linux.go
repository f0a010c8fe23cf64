package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ProcessMountNS runs the shell script setup in a new private mount
// namespace and keeps a process in that namespace (sleep) until t ends.
// It returns the process's PID once setup has succeeded.
func ProcessMountNS(t testing.TB, setup string) int {
	t.Helper()
	RequireMountNS(t)
	RequireCmd(t, "unshare")
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-ec", setup+"\necho ready\nexec sleep 600")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("setup in a new mount namespace failed (%q, %v): %s", line, err, setup)
	}
	return cmd.Process.Pid
}

// PinnedMountNS runs the shell script setup in a new private mount
// namespace that outlives the script with no process in it: unshare
// --mount=FILE bind-mounts the namespace's nsfs file on FILE (in the
// caller's namespace), which holds it until t ends and FILE is
// unmounted.
func PinnedMountNS(t testing.TB, setup string) {
	t.Helper()
	RequireMountNS(t)
	RequireCmd(t, "unshare")
	RequireCmd(t, "taskset")
	file := filepath.Join(Tmpfs(t), "mntns")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The kernel refuses (EINVAL) to bind a mount namespace's file into a
	// namespace whose ID is not lower (against reference loops), and IDs
	// are not handed out in creation order: on Linux 6.18 here each CPU
	// hands them out from its own run, so a namespace made on another
	// CPU than the one that made the caller's may get a lower ID. The
	// CPU that made the caller's namespace always gives a higher one, so
	// the namespace is made on each CPU in turn until one is taken.
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	var out []byte
	var err error
	for cpu := range maxCPUs {
		if !set.IsSet(cpu) {
			continue
		}
		out, err = exec.Command("taskset", "-c", strconv.Itoa(cpu), "unshare", "--mount="+file, "--propagation", "private", "sh", "-ec", setup).CombinedOutput()
		if err == nil {
			Unmount(t, file)
			return
		}
		if !strings.Contains(string(out), "Invalid argument") {
			break
		}
	}
	t.Fatalf("setup in a pinned mount namespace: %v\n%s", err, out)
}

// maxCPUs bounds the CPU numbers PinnedMountNS tries: the size of a
// unix.CPUSet.
const maxCPUs = 1024
