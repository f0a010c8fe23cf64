package chownfallback

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// TestAttackerCannotRedirect runs many shifts while attackers inside the
// tree keep renaming directories and files and swapping them for symlinks
// (absolute and relative) that point outside, and checks that no inode
// outside the tree changed.
func TestAttackerCannotRedirect(t *testing.T) {
	base := testutil.Tmpfs(t)
	outside, tree := filepath.Join(base, "outside"), filepath.Join(base, "tree")
	buildFixture(t, base, `
d outside 0:0 0755
f outside/secret 0:0 0600
f outside/suid 0:0 4755
cap outside/suid v2
d outside/dir 0:0 0700
f outside/dir/file 0:0 0644
acl outside/dir/file u:5:rw
d tree 0:0 0755`)
	var spec strings.Builder
	for d := range 8 {
		fmt.Fprintf(&spec, "d tree/d%d 0:0 0755\n", d)
		for s := range 4 {
			fmt.Fprintf(&spec, "d tree/d%d/s%d 0:0 0755\n", d, s)
			for f := range 8 {
				fmt.Fprintf(&spec, "f tree/d%d/s%d/f%d 0:0 0644\n", d, s, f)
			}
		}
	}
	buildFixture(t, base, spec.String())
	want := snapshot(t, outside)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Uint64
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			attack(tree, outside, uint64(i), stop, &swaps)
		}()
	}
	m := mapping(t, "b:0:100000:65536")
	const shifts = 150
	for i := range shifts {
		mm := m
		if i%2 == 1 {
			mm = m.Inverse()
		}
		// Errors are expected (entries vanish and change type under the
		// walk); what matters is what happens outside.
		_, _ = Shift(tree, mm, Options{Jobs: 2})
	}
	close(stop)
	wg.Wait()
	if swaps.Load() < shifts {
		t.Fatalf("only %d swaps during %d shifts: the attack did not run", swaps.Load(), shifts)
	}
	requireSame(t, "outside the tree after the attack", want, snapshot(t, outside))
	t.Logf("%d swaps during %d shifts", swaps.Load(), shifts)
}

// attack swaps directories and files in tree for symlinks to outside and
// moves directories around, until stop is closed. Attacker seed works on
// tree/d{seed} and tree/d{seed+3}.
func attack(tree, outside string, seed uint64, stop chan struct{}, swaps *atomic.Uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	targets := []string{outside, filepath.Join(outside, "dir"), filepath.Join(outside, "secret"), "../../outside", "../../../outside/dir"}
	for {
		select {
		case <-stop:
			return
		default:
		}
		// Each attacker keeps to its own directories, so that no attacker
		// follows a symlink another one swapped in.
		d := fmt.Sprintf("%s/d%d", tree, int(seed)+3*rng.IntN(2))
		victim := fmt.Sprintf("%s/s%d", d, rng.IntN(4))
		if rng.IntN(2) == 0 {
			victim = fmt.Sprintf("%s/f%d", victim, rng.IntN(8))
		}
		hide := fmt.Sprintf("%s.hide%d", victim, seed)
		if os.Rename(victim, hide) != nil {
			continue
		}
		if os.Symlink(targets[rng.IntN(len(targets))], victim) == nil {
			swaps.Add(1)
			// Leave the symlink in place for a while: the walk must meet it.
			time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
			if rng.IntN(3) == 0 {
				// Move a whole directory elsewhere in the tree and back.
				other := fmt.Sprintf("%s/d%d/moved%d", tree, rng.IntN(8), seed)
				if os.Rename(hide, other) == nil {
					_ = os.Rename(other, hide)
				}
			}
			_ = os.Remove(victim)
		}
		_ = os.Rename(hide, victim)
	}
}
