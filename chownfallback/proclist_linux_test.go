package chownfallback

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// TestShiftWithoutListxattrat runs the full fixture through the path kernels
// before 6.13 take (xattrs listed through /proc/self/fd/DIR/NAME) and
// checks it ends exactly like the listxattrat path.
func TestShiftWithoutListxattrat(t *testing.T) {
	base := testutil.Tmpfs(t)
	fast, slow := filepath.Join(base, "fast"), filepath.Join(base, "slow")
	for _, d := range []string{fast, slow} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		buildFixture(t, d, fullFixture)
	}
	m := mapping(t, "b:0:100000:65536")
	want := mustShift(t, fast, m, Options{})
	forceProcList = true
	t.Cleanup(func() { forceProcList = false })
	got := mustShift(t, slow, m, Options{})
	if got.Changed != want.Changed || got.Seen != want.Seen || got.ErrorCount != 0 {
		t.Fatalf("proc path changed %d of %d (errors %d: %v), listxattrat path %d of %d (errors %d: %v)",
			got.Changed, got.Seen, got.ErrorCount, got.Errors, want.Changed, want.Seen, want.ErrorCount, want.Errors)
	}
	requireSame(t, "shifted through /proc vs listxattrat", withoutTimes(snapshot(t, fast)), withoutTimes(snapshot(t, slow)))
}
