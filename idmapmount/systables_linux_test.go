package idmapmount

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// TestSystemMountTables: the tables hold this namespace, a namespace with
// a process in it (found by its PID), and one held open with no process
// at all, which no walk of /proc can reach.
func TestSystemMountTables(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	dir := testutil.Tmpfs(t)
	mark := "idmapkit-systables-" + strconv.Itoa(os.Getpid())
	pid := testutil.ProcessMountNS(t, "mount -t tmpfs "+mark+"-process "+dir)
	testutil.PinnedMountNS(t, "mount -t tmpfs "+mark+"-pinned "+dir)
	tables, err := SystemMountTables()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]NamespaceTable{}
	for _, tb := range tables {
		for _, m := range tb.Mounts {
			if m.Source == mark+"-process" || m.Source == mark+"-pinned" || m.Mountpoint == dir {
				found[m.Source] = tb
			}
		}
	}
	if tb, ok := found[mark+"-process"]; !ok || tb.PID != pid {
		t.Errorf("the namespace of process %d: found %v (pid %d)", pid, ok, tb.PID)
	}
	if tb, ok := found[mark+"-pinned"]; !ok || tb.PID != 0 {
		t.Errorf("the pinned namespace: found %v (pid %d, want none)", ok, tb.PID)
	}
	own, ok := found["tmpfs"]
	if !ok {
		t.Fatalf("this namespace's tmpfs at %s not found", dir)
	}
	// The namespace this test binary was cloned from is older than its
	// own: the walk goes both ways.
	older := false
	for _, tb := range tables {
		older = older || tb.ID < own.ID
	}
	if !older {
		t.Errorf("no mount namespace older than this one (%d) in %d tables", own.ID, len(tables))
	}
}

// TestSystemMountTablesInContainer: from a user namespace other than the
// initial one, where the walk would miss mount namespaces, it refuses.
func TestSystemMountTablesInContainer(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireCmd(t, "unshare")
	if os.Getenv("IDMAPKIT_SYSTABLES_CHILD") == "1" {
		_, err := SystemMountTables()
		if err == nil || !strings.Contains(err.Error(), "run on the host") {
			t.Fatalf("SystemMountTables in a user namespace: %v", err)
		}
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", exe, "-test.run=^TestSystemMountTablesInContainer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "IDMAPKIT_SYSTABLES_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in a user namespace: %v\n%s", err, out)
	}
}

// TestSystemMountTablesLateNamespace: a mount namespace made after the
// walk, while the tables are read (a copy of one already read, which may
// since have lost its mounts), is read too.
func TestSystemMountTablesLateNamespace(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	dir := testutil.Tmpfs(t)
	mark := "idmapkit-late-" + strconv.Itoa(os.Getpid())
	made := false
	afterNSWalk = func() {
		if !made {
			made = true
			testutil.ProcessMountNS(t, "mount -t tmpfs "+mark+" "+dir)
		}
	}
	defer func() { afterNSWalk = nil }()
	tables, err := SystemMountTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		for _, m := range tb.Mounts {
			if m.Source == mark {
				return
			}
		}
	}
	t.Errorf("the namespace made after the walk was not read (made: %v)", made)
}

// BenchmarkSystemMountTables: one read of every mount namespace's table,
// as cache list and cache prune do (this machine: a handful of
// namespaces of about 20 mounts each).
func BenchmarkSystemMountTables(b *testing.B) {
	testutil.RequireKernel(b, 6, 12, "NS_MNT_GET_NEXT")
	for b.Loop() {
		if _, err := SystemMountTables(); err != nil {
			b.Fatal(err)
		}
	}
}
