package idmapmount

import (
	"os"
	"strconv"
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
