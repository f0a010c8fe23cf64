package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	file := filepath.Join(Tmpfs(t), "mntns")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The kernel refuses (EINVAL) to bind a mount namespace's file into a
	// namespace whose ID is not lower (against reference loops), and IDs
	// are not handed out in creation order: on Linux 6.18 here, two
	// namespaces made one after the other on different CPUs get IDs
	// thousands apart, either way round. A new namespace made on the
	// wrong CPU is refused; the next try lands on a CPU at random, so
	// pinAttempts refusals in a row are as likely as 2^-32 on two CPUs.
	const pinAttempts = 32
	var out []byte
	var err error
	for range pinAttempts {
		out, err = exec.Command("unshare", "--mount="+file, "--propagation", "private", "sh", "-ec", setup).CombinedOutput()
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
