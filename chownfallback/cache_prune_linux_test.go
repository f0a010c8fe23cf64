package chownfallback

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// pruneFixture makes one entry per use a cache entry can have: an
// overlay layer in this mount namespace, a bind in a namespace with a
// process, a bind in a namespace held open with no process, none at all,
// and held by a Get not yet released; plus a directory that claims to be
// an entry and does not describe itself, a foreign directory and a crashed
// build's leftover.
type pruneFixture struct {
	c                                           *Cache
	overlay, process, pinned, unused, held, bad *Entry
	foreign, foreignTmp, leftover, orphanLock   string
}

func newPruneFixture(t *testing.T) *pruneFixture {
	t.Helper()
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	layer, c := cacheLayer(t)
	f := &pruneFixture{c: c}
	for i, e := range []**Entry{&f.overlay, &f.process, &f.pinned, &f.unused, &f.held} {
		var err error
		if *e, err = c.Get(layer, mapping(t, "b:0:"+strings.Repeat("1", i+6)+":65536")); err != nil {
			t.Fatal(err)
		}
		if e != &f.held {
			(*e).Release()
		}
	}
	t.Cleanup(f.held.Release)
	base := testutil.Tmpfs(t)
	empty, target := mkdir(t, base, "empty"), mkdir(t, base, "target")
	// The other namespaces first: each starts as a copy of this one, and
	// would hold a copy of the overlay too.
	testutil.ProcessMountNS(t, "mount --bind "+f.process.Tree+" "+target)
	testutil.PinnedMountNS(t, "mount --bind "+f.pinned.Tree+" "+target)
	if err := unix.Mount("overlay", target, "overlay", unix.MS_RDONLY, "lowerdir="+f.overlay.Tree+":"+empty); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, target)

	f.bad = &Entry{Key: strings.Repeat("ab", 32)}
	f.bad.Dir = mkdir(t, c.Dir, f.bad.Key)
	writeFile(t, filepath.Join(f.bad.Dir, "entry.json"), "{")
	f.foreign = mkdir(t, c.Dir, "notes")
	f.foreignTmp = mkdir(t, c.Dir, ".tmp-notours")
	f.leftover = mkdir(t, c.Dir, tmpPrefix+"0123456789abcdef-crashed")
	f.orphanLock = filepath.Join(c.Dir, strings.Repeat("ef", 32)+".lock")
	writeFile(t, f.orphanLock, "")
	return f
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCachePrune: Prune removes the unused entry alone (and a crashed
// build's leftover); every entry a mount uses, in any mount namespace, or
// a running Get holds, or that cannot be vouched for, stays unchanged,
// and so does what is not an entry. A removed entry is made again by the
// next Get.
func TestCachePrune(t *testing.T) {
	f := newPruneFixture(t)
	kept := []*Entry{f.overlay, f.process, f.pinned, f.held, f.bad}
	before := map[string]map[string]meta{}
	for _, e := range append(kept, f.unused) {
		before[e.Key] = snapshot(t, e.Dir)
	}

	whole := snapshot(t, f.c.Dir)
	res, err := f.c.Prune(true)
	if err != nil {
		t.Fatal(err)
	}
	checkPruned(t, res, f, true)
	requireSame(t, "the cache after a dry run", whole, snapshot(t, f.c.Dir))

	if res, err = f.c.Prune(false); err != nil {
		t.Fatal(err)
	}
	checkPruned(t, res, f, false)
	for _, e := range kept {
		requireSame(t, "kept entry "+e.Key, before[e.Key], snapshot(t, e.Dir))
	}
	for _, p := range []string{f.unused.Dir, filepath.Join(f.c.Dir, f.unused.Key+".lock"), f.leftover, f.orphanLock} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Prune: %v", p, err)
		}
	}
	for _, p := range []string{f.foreign, f.foreignTmp} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s, not an entry nor a leftover, was touched: %v", p, err)
		}
	}

	// Released, the held entry goes too; the next Get makes it again.
	f.held.Release()
	if res, err = f.c.Prune(false); err != nil || res.Removed != 1 || !res.Entries[slices.IndexFunc(res.Entries, func(e CachedEntry) bool { return e.Key == f.held.Key })].Removed {
		t.Fatalf("Prune after Release: %+v, %v", res, err)
	}
	again, err := f.c.Get(f.held.Info.Layer.Path, mapping(t, f.held.Info.Mapping))
	if err != nil || again.Reused || again.Key != f.held.Key {
		t.Fatalf("Get after Prune: %+v, %v", again, err)
	}
	again.Release()
}

// TestCachePruneNotACache: a directory idmapkit did not make a cache of
// (a mistyped --cache-dir) is refused, and nothing in it is touched.
func TestCachePruneNotACache(t *testing.T) {
	dir := testutil.Tmpfs(t)
	key := strings.Repeat("cd", 32)
	for _, d := range []string{key, tmpPrefix + "0123456789abcdef-x"} {
		mkdir(t, dir, d)
	}
	writeFile(t, filepath.Join(dir, key, "entry.json"), `{"version":"v0"}`)
	before := snapshot(t, dir)
	c := &Cache{Dir: dir}
	if _, err := c.Prune(false); !errors.Is(err, ErrNotCache) {
		t.Fatalf("Prune of a directory without the tag: %v, want ErrNotCache", err)
	}
	if _, err := c.Entries(); !errors.Is(err, ErrNotCache) {
		t.Fatalf("Entries of a directory without the tag: %v, want ErrNotCache", err)
	}
	requireSame(t, "not a cache", before, snapshot(t, dir))
}

func checkPruned(t *testing.T, res *PruneResult, f *pruneFixture, dryRun bool) {
	t.Helper()
	byKey := map[string]CachedEntry{}
	for _, e := range res.Entries {
		byKey[e.Key] = e
	}
	want := []struct {
		e    *Entry
		why  string
		used int
	}{{f.overlay, "", 1}, {f.process, "", 1}, {f.pinned, "", 1}, {f.held, "busy", 0}, {f.bad, "problem", 0}, {f.unused, "removed", 0}}
	for _, w := range want {
		got, ok := byKey[w.e.Key]
		switch {
		case !ok:
			t.Errorf("entry %s not listed", w.e.Key)
		case len(got.UsedBy) != w.used:
			t.Errorf("entry %s: used by %+v, want %d mount(s)", w.e.Key, got.UsedBy, w.used)
		case (w.why == "busy") != (got.Busy != ""), (w.why == "problem") != (got.Problem != ""), (w.why == "removed") != got.Removed:
			t.Errorf("entry %s: %+v, want %s", w.e.Key, got, w.why)
		}
	}
	if len(res.Entries) != len(want) || res.Removed != 1 || res.Kept != 5 || res.DryRun != dryRun || res.Inodes != f.unused.Info.Inodes {
		t.Errorf("Prune(%v): %d entries, removed %d (%d inodes), kept %d", dryRun, len(res.Entries), res.Removed, res.Inodes, res.Kept)
	}
	if !slices.Equal(res.Leftovers, []string{f.leftover, f.orphanLock}) {
		t.Errorf("Prune(%v) leftovers %q, want %q and %q", dryRun, res.Leftovers, f.leftover, f.orphanLock)
	}
}

// TestCachePruneRace: an entry Get hands out is never removed under the
// caller until Release, however Prune runs meanwhile; and while Prune
// removes an entry and its lock file, concurrent Gets wait for each other
// and make it again once, never twice at a time (which would fail the
// second one's publish).
func TestCachePruneRace(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	layer, c := cacheLayer(t)
	m := mapping(t, "b:0:100000:65536")
	// Enough removals that Gets have raced Prune many times; the bound on
	// rounds only stops a broken run. Each getter pauses a random while
	// (up to maxPause) after each round, so that there are moments when no
	// getter holds the entry and Prune can remove it, even with one CPU
	// for all (go test -cpu 1), where a getter would otherwise rarely be
	// preempted between its rounds.
	const wantRemovals, maxRounds, getters, maxPause = 20, 20000, 3, 300 * time.Microsecond
	var removed atomic.Int64
	var pruner, gets sync.WaitGroup
	done := make(chan struct{})
	pruner.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			res, err := c.Prune(false)
			if err != nil {
				t.Error(err)
				return
			}
			removed.Add(int64(res.Removed))
		}
	})
	for range getters {
		gets.Go(func() {
			for i := 0; i < maxRounds && removed.Load() < wantRemovals; i++ {
				e, err := c.Get(layer, m)
				if err != nil {
					t.Error(err)
					return
				}
				_, err = os.Lstat(filepath.Join(e.Tree, "a", "file"))
				e.Release()
				if err != nil {
					t.Errorf("entry removed while held: %v", err)
					return
				}
				time.Sleep(rand.N(maxPause))
			}
		})
	}
	gets.Wait()
	close(done)
	pruner.Wait()
	if n := removed.Load(); n < wantRemovals && !t.Failed() {
		t.Errorf("Prune removed the entry %d times in %d rounds of %d getters, want %d: the race was not run", n, maxRounds, getters, wantRemovals)
	}
}

// TestCachePruneStuckLeftover: a leftover with something mounted on it is
// reported and kept, by Prune and by the cleanup a build does, and what
// is mounted there is not touched.
func TestCachePruneStuckLeftover(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	layer, c := cacheLayer(t)
	if err := c.ensureDir(); err != nil {
		t.Fatal(err)
	}
	precious := mkdir(t, testutil.Tmpfs(t), "precious")
	writeFile(t, filepath.Join(precious, "important"), "keep")
	stuck := mkdir(t, c.Dir, tmpPrefix+"fedcba9876543210-mounted")
	if err := unix.Mount(precious, stuck, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, stuck)
	res, err := c.Prune(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stuck) != 1 || !strings.Contains(res.Stuck[0], stuck) || len(res.Leftovers) != 0 {
		t.Errorf("Prune: leftovers %q, stuck %q; want %s stuck", res.Leftovers, res.Stuck, stuck)
	}
	if _, err := get(t, c, layer, mapping(t, "b:0:100000:65536")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(precious, "important")); err != nil {
		t.Fatalf("a directory mounted on a leftover was emptied: %v", err)
	}
}

// TestCachePruneConcurrent: prunes running at once over the same unused
// entries remove each once between them, and none fails.
func TestCachePruneConcurrent(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	layer, c := cacheLayer(t)
	const entries, rounds, prunes = 12, 3, 3
	for r := range rounds {
		for i := range entries {
			e, err := c.Get(layer, mapping(t, "b:0:"+strconv.Itoa(100000+65536*(i+1))+":65536"))
			if err != nil {
				t.Fatal(err)
			}
			e.Release()
		}
		var removed atomic.Int64
		var wg sync.WaitGroup
		for range prunes {
			wg.Go(func() {
				res, err := c.Prune(false)
				if err != nil {
					t.Errorf("round %d: %v", r, err)
					return
				}
				removed.Add(int64(res.Removed))
			})
		}
		wg.Wait()
		if n := removed.Load(); n != entries {
			t.Fatalf("round %d: %d removals between %d prunes, want %d", r, n, prunes, entries)
		}
		if left, _ := filepath.Glob(filepath.Join(c.Dir, "[0-9a-f]*.lock")); len(left) != 0 {
			t.Fatalf("round %d: lock files left: %q", r, left)
		}
	}
}

// TestCacheDirRefusesFiles: an existing directory of other files is not
// made a cache (a mistyped --cache-dir), and gets no tag.
func TestCacheDirRefusesFiles(t *testing.T) {
	layer, _ := cacheLayer(t)
	dir := mkdir(t, testutil.Tmpfs(t), "data")
	writeFile(t, filepath.Join(dir, "report.txt"), "mine")
	before := snapshot(t, dir)
	c := &Cache{Dir: dir}
	if _, err := c.Get(layer, mapping(t, "b:0:100000:65536")); !errors.Is(err, ErrNotCache) {
		t.Fatalf("Get with a directory of files as cache: %v, want ErrNotCache", err)
	}
	requireSame(t, "a directory of files given as cache", before, snapshot(t, dir))
}

// TestCacheReadOnly: the entries of a cache on a read-only mount are
// still used, and a dry-run prune works there.
func TestCacheReadOnly(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "NS_MNT_GET_NEXT")
	layer, c := cacheLayer(t)
	m := mapping(t, "b:0:100000:65536")
	e, err := c.Get(layer, m)
	if err != nil {
		t.Fatal(err)
	}
	e.Release()
	if _, err := c.Prune(true); err != nil { // makes the build lock file
		t.Fatal(err)
	}
	if err := unix.Mount(c.Dir, c.Dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, c.Dir)
	if err := unix.Mount("", c.Dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	again, err := c.Get(layer, m)
	if err != nil || !again.Reused {
		t.Fatalf("Get from a read-only cache: %+v, %v", again, err)
	}
	again.Release()
	if res, err := c.Prune(true); err != nil || res.Removed != 1 {
		t.Fatalf("dry-run prune of a read-only cache: %+v, %v", res, err)
	}
}
