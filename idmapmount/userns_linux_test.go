package idmapmount

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.MainInMountNS(m)) }

var benchMapping = Mapping{UID: IDMap{{0, 100000, 65536}}, GID: IDMap{{0, 100000, 65536}}}

func TestNewUsernsFDMaps(t *testing.T) {
	testutil.RequireRoot(t)
	m := Mapping{UID: IDMap{{0, 100000, 65536}}, GID: IDMap{{0, 200000, 1000}, {1000, 300000, 10}}}
	f, err := NewUsernsFD(m)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := usernsMapping(f.Name()) // the helper is gone: found by scanning /proc fails
	if err == nil {
		t.Fatalf("mapping of a namespace with no process left: got %v, want an error", got)
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
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var children []byte
	for _, task := range tasks {
		c, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		children = append(children, c...)
	}
	if s := strings.TrimSpace(string(children)); s != "" {
		t.Fatalf("helper processes left behind: %s", s)
	}
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
