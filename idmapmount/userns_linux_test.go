package idmapmount

import (
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.MainInMountNS(m)) }

var benchMapping = Mapping{UID: IDMap{{0, 100000, 65536}}, GID: IDMap{{0, 100000, 65536}}}

func TestNewUsernsFDMaps(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireCmd(t, "nsenter")
	m := Mapping{UID: IDMap{{0, 100000, 65536}}, GID: IDMap{{0, 200000, 1000}, {1000, 300000, 10}}}
	f, err := NewUsernsFD(m)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Read the maps from inside the namespace.
	cmd := exec.Command("nsenter", "--user=/proc/self/fd/3", "--", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	got, err := ParseProcIDMap(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append(IDMap{}, m.UID...), m.GID...); !reflect.DeepEqual(got, want) {
		t.Fatalf("maps inside the namespace: %v, want uid %v then gid %v", got, m.UID, m.GID)
	}
}

// TestLargestMapsTheKernelTakes: the limits Validate enforces are the
// kernel's: the longest map that passes it is accepted, so that a spec
// is refused as bad input up front rather than by a failed write.
func TestLargestMapsTheKernelTakes(t *testing.T) {
	testutil.RequireRoot(t)
	for _, base := range []uint32{1000, 100000} { // all 340 extents; as many as fit in 4095 bytes
		specs := extentSpecs(MaxExtents, base)
		for len(specs) > 0 {
			if _, err := ParseSpecs(specs...); err == nil {
				break
			}
			specs = specs[:len(specs)-1]
		}
		m, err := ParseSpecs(specs...)
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewUsernsFD(m)
		if err != nil {
			t.Fatalf("%d extents (%d bytes): the kernel refuses a map Validate passed: %v", len(m.UID), len(procIDMapText(m.UID)), err)
		}
		f.Close()
	}
}

func TestUsernsFDCachedIsSameNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	a, err := UsernsFD(benchMapping)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := UsernsFD(benchMapping.Sorted())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	la, _ := os.Readlink("/proc/self/fd/" + itoa(a.Fd()))
	lb, _ := os.Readlink("/proc/self/fd/" + itoa(b.Fd()))
	if la != lb || !strings.HasPrefix(la, "user:[") || a.Fd() == b.Fd() {
		t.Fatalf("cached fds: %q (fd %d) and %q (fd %d), want two fds of one user namespace", la, a.Fd(), lb, b.Fd())
	}
}

func TestNoHelperProcessLeft(t *testing.T) {
	testutil.RequireRoot(t)
	for range 20 {
		f, err := NewUsernsFD(benchMapping)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// The helpers are killed before NewUsernsFD returns and reaped in the
	// background; give that a bounded while (each takes well under 1 ms).
	var left string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if left = childrenOfSelf(t); left == "" {
			return
		}
	}
	t.Fatalf("helper processes left behind: %s", left)
}

func childrenOfSelf(t *testing.T) string {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var children []byte
	for _, task := range tasks {
		c, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		children = append(children, c...)
	}
	return strings.TrimSpace(string(children))
}

func BenchmarkUsernsFD(b *testing.B) {
	testutil.RequireRoot(b)
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			f, err := NewUsernsFD(benchMapping)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			f, err := UsernsFD(benchMapping)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

func itoa(u uintptr) string { return strconv.Itoa(int(u)) }
