package chownfallback

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestReadDirentsDotsOnlyBatch: a getdents64 batch holding only "." and
// ".." is not the end of the directory. The kernel returns such a batch
// when a signal is pending after the first entries (Go's preemption
// signals make that common under load); before this was handled, the walk
// took it for the end and silently skipped whole directories. On tmpfs,
// which lists "." and ".." first, a buffer with room for exactly the two
// dots' records forces the same batch.
func TestReadDirentsDotsOnlyBatch(t *testing.T) {
	dir := testutil.Tmpfs(t)
	var want []string
	for i := range 20 {
		name := "f" + strconv.Itoa(i)
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	// struct linux_dirent64 for "." and "..": 19 bytes of header plus the
	// name and its NUL, rounded up to 8: 24 bytes each.
	buf := make([]byte, 48)
	var got []string
	for {
		ents, err := readDirents(fd, buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			got = append(got, string(e.name))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("read %d entries %v, want all %d: a dots-only batch was taken for the end", len(got), got, len(want))
	}
}
