package chownfallback

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// cacheFixture is fullFixture without its paths longer than PATH_MAX,
// which cp cannot copy (see TestCacheLongPath).
func cacheFixture() string {
	var lines []string
	for _, l := range strings.Split(fullFixture, "\n") {
		if !strings.HasPrefix(l, "long ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// cacheLayer makes a layer holding cacheFixture and a cache directory on
// a fresh tmpfs.
func cacheLayer(t *testing.T) (layer string, c *Cache) {
	t.Helper()
	base := testutil.Tmpfs(t)
	layer = mkdir(t, base, "layer")
	buildFixture(t, layer, cacheFixture())
	return layer, &Cache{Dir: filepath.Join(base, "cache")}
}

// TestCacheEntryIsTheIDMappedView: a cache entry presents the layer
// exactly as an idmapped mount of it does (owners, ACLs, capabilities,
// setuid bits, hardlinks, devices), the layer is not changed, and the
// entry is reused for the same mapping and made anew for another.
func TestCacheEntryIsTheIDMappedView(t *testing.T) {
	layer, c := cacheLayer(t)
	before := snapshot(t, layer)
	m := mapping(t, "b:0:100000:65536")
	e, err := get(t, c, layer, m)
	if err != nil {
		t.Fatal(err)
	}
	if e.Reused || e.Copy != "copy" || e.Shift == nil || e.Shift.Changed == 0 {
		t.Fatalf("new entry: reused %v, copy %q, shift %+v", e.Reused, e.Copy, e.Shift)
	}
	requireSame(t, "layer after Get", before, snapshot(t, layer))
	view := mkdir(t, testutil.Tmpfs(t), "view")
	if err := idmapmount.MountMapping(layer, view, m, idmapmount.Options{}); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, view)
	entry := snapshot(t, e.Tree)
	compareViews(t, snapshot(t, view), entry)
	checkSameShape(t, before, entry)

	again, err := get(t, c, layer, m)
	if err != nil || !again.Reused || again.Tree != e.Tree || again.Info.Inodes != e.Shift.Seen {
		t.Fatalf("second Get: %+v, %v; want a reuse of %s", again, err, e.Tree)
	}
	other, err := get(t, c, layer, mapping(t, "b:0:200000:65536"))
	if err != nil || other.Reused || other.Tree == e.Tree {
		t.Fatalf("Get with another mapping: %+v, %v; want a new entry", other, err)
	}
	requireSame(t, "first entry after another was made", entry, snapshot(t, e.Tree))
}

// checkSameShape: the copy has the layer's modes (setuid bits too),
// contents, symlink targets, device numbers, timestamps and hardlinks.
func checkSameShape(t *testing.T, layer, entry map[string]meta) {
	t.Helper()
	for p, l := range layer {
		e, ok := entry[p]
		switch {
		case !ok:
			t.Errorf("%q: not in the entry", p)
		case e.Mode != l.Mode || e.Content != l.Content || e.Link != l.Link || e.Rdev != l.Rdev || e.Nlink != l.Nlink:
			t.Errorf("%q: mode %o content %q link %q rdev %d nlink %d in the entry; layer %o %q %q %d %d",
				p, e.Mode, e.Content, e.Link, e.Rdev, e.Nlink, l.Mode, l.Content, l.Link, l.Rdev, l.Nlink)
		case e.Mtime != l.Mtime && l.Mode&unix.S_IFMT != unix.S_IFLNK:
			t.Errorf("%q: mtime %v in the entry, %v in the layer", p, e.Mtime, l.Mtime)
		case (e.LinkedTo == "") != (l.LinkedTo == ""):
			t.Errorf("%q: hardlinked to %q in the entry, %q in the layer", p, e.LinkedTo, l.LinkedTo)
		}
	}
}

// TestCacheReflink: on a filesystem with reflinks, a layer on it is
// copied sharing its blocks; the entry is the same either way.
func TestCacheReflink(t *testing.T) {
	base := testutil.LoopFS(t, "xfs")
	layer := mkdir(t, base, "layer")
	buildFixture(t, layer, "d a 0:0 0755\nf a/f 5:5 0644\nx a/f user.k=v\nacl a/f u:5:r")
	c := &Cache{Dir: filepath.Join(base, "cache")}
	e, err := get(t, c, layer, mapping(t, "b:0:100000:65536"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Copy != "reflink" || e.Info.Copy != "reflink" {
		t.Errorf("copy %q on xfs, want reflink", e.Copy)
	}
	if got := snapshot(t, e.Tree)["a/f"]; got.UID != 100005 || got.Xattrs["user.k"] != "v" {
		t.Errorf("a/f in the entry: %+v", got)
	}
}

// TestCacheFailedBuild: a build that fails at any step leaves no entry
// and no temporary directory, does not touch the layer or the entries
// already made, and the next Get makes the entry whole.
func TestCacheFailedBuild(t *testing.T) {
	layer, c := cacheLayer(t)
	old, err := get(t, c, layer, mapping(t, "b:0:300000:65536"))
	if err != nil {
		t.Fatal(err)
	}
	oldSnap, layerSnap := snapshot(t, old.Tree), snapshot(t, layer)
	m := mapping(t, "b:0:100000:65536")
	for _, step := range []string{stepCopy, stepShift, stepSync} {
		t.Run(step, func(t *testing.T) {
			injected := errors.New("injected at " + step)
			cacheHook = func(s string) error {
				if s == step {
					return injected
				}
				return nil
			}
			_, err := get(t, c, layer, m)
			cacheHook = nil
			if !errors.Is(err, injected) {
				t.Fatalf("Get: %v, want the injected error", err)
			}
			if names := cacheNames(t, c); len(names) != 1 || names[0] != old.Key {
				t.Fatalf("cache holds %v after a failed build, want only %s", names, old.Key)
			}
			requireSame(t, "existing entry", oldSnap, snapshot(t, old.Tree))
			requireSame(t, "layer", layerSnap, snapshot(t, layer))
		})
	}
	e, err := get(t, c, layer, m)
	if err != nil || e.Reused {
		t.Fatalf("Get after the failures: %+v, %v", e, err)
	}
}

// cacheNames lists the cache's directories (entries and temporaries).
func cacheNames(t *testing.T, c *Cache) []string {
	t.Helper()
	des, err := os.ReadDir(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		if d.IsDir() {
			names = append(names, d.Name())
		}
	}
	return names
}

// TestCacheCrash kills a process making an entry (SIGKILL) after each
// step: a half-made entry is never used; the next Get removes what the
// crash left and makes the entry, or reuses it once it was published.
func TestCacheCrash(t *testing.T) {
	layer, c := cacheLayer(t)
	m := mapping(t, "b:0:100000:65536")
	for _, step := range []string{stepCopy, stepShift, stepSync, stepPublish} {
		t.Run(step, func(t *testing.T) {
			c := &Cache{Dir: filepath.Join(c.Dir, step)}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCacheCrashChild$")
			cmd.Env = append(os.Environ(), "FB_CRASH_STEP="+step, "FB_CRASH_LAYER="+layer, "FB_CRASH_CACHE="+c.Dir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child not killed at %s: %v\n%s", step, err, out)
			}
			e, err := get(t, c, layer, m)
			if err != nil {
				t.Fatal(err)
			}
			if e.Reused != (step == stepPublish) {
				t.Errorf("killed after %s: reused %v", step, e.Reused)
			}
			for _, n := range cacheNames(t, c) {
				if strings.HasPrefix(n, tmpPrefix) {
					t.Errorf("temporary %s left after the next Get", n)
				}
			}
			if got := snapshot(t, e.Tree)["a/suid"]; got.UID != 100000 || got.Mode&0o7777 != 0o4755 {
				t.Errorf("a/suid in the entry: %d, %o", got.UID, got.Mode)
			}
		})
	}
}

// TestCacheCrashChild is the process TestCacheCrash kills.
func TestCacheCrashChild(t *testing.T) {
	step := os.Getenv("FB_CRASH_STEP")
	if step == "" {
		t.Skip("run by TestCacheCrash")
	}
	cacheHook = func(s string) error {
		if s == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	}
	c := &Cache{Dir: os.Getenv("FB_CRASH_CACHE")}
	_, err := get(t, c, os.Getenv("FB_CRASH_LAYER"), mapping(t, "b:0:100000:65536"))
	t.Fatalf("not killed at %s: %v", step, err)
}

// TestCacheLeftovers: temporaries are removed only when no build holds
// the build lock.
func TestCacheLeftovers(t *testing.T) {
	layer, c := cacheLayer(t)
	if err := c.ensureDir(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(c.Dir, tmpPrefix+"0123456789abcdef-1")
	if err := os.MkdirAll(filepath.Join(stale, "tree"), 0o700); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(filepath.Join(c.Dir, buildLock), unix.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, c, layer, mapping(t, "b:0:100000:65536")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("a temporary was removed while a build held the lock: %v", err)
	}
	unlock()
	if _, err := get(t, c, layer, mapping(t, "b:0:200000:65536")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover temporary still there: %v", err)
	}
}

// TestCacheConcurrentGet: builders of one entry wait for each other; one
// makes it, the others reuse it.
func TestCacheConcurrentGet(t *testing.T) {
	layer, c := cacheLayer(t)
	m := mapping(t, "b:0:100000:65536")
	var wg sync.WaitGroup
	entries := make([]*Entry, 4)
	errs := make([]error, 4)
	for i := range entries {
		wg.Go(func() { entries[i], errs[i] = get(t, c, layer, m) })
	}
	wg.Wait()
	made := 0
	for i, e := range entries {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !e.Reused {
			made++
		}
		if e.Tree != entries[0].Tree {
			t.Errorf("entries %s and %s for one layer and mapping", e.Tree, entries[0].Tree)
		}
	}
	if made != 1 {
		t.Errorf("%d builders made the entry, want 1", made)
	}
}

// TestCacheBadEntry: an entry that does not describe itself is refused,
// not rebuilt over (an overlay may be using it).
func TestCacheBadEntry(t *testing.T) {
	layer, c := cacheLayer(t)
	m := mapping(t, "b:0:100000:65536")
	e, err := get(t, c, layer, m)
	if err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(e.Dir, "entry.json")
	if err := os.WriteFile(info, []byte(`{"version":"v1","mapping":"b:0:1:1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, e.Tree)
	if _, err := get(t, c, layer, m); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("Get of a mismatched entry: %v, want ErrBadEntry", err)
	}
	os.Remove(info)
	if _, err := get(t, c, layer, m); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("Get of an entry without entry.json: %v, want ErrBadEntry", err)
	}
	requireSame(t, "refused entry", snap, snapshot(t, e.Tree))
}

// TestCacheLongPath: cp cannot copy a path longer than PATH_MAX; Get
// says so, short, with a hint, and leaves nothing behind.
func TestCacheLongPath(t *testing.T) {
	base := testutil.Tmpfs(t)
	layer := mkdir(t, base, "layer")
	buildFixture(t, layer, "long a 22 0:0")
	c := &Cache{Dir: filepath.Join(base, "cache")}
	_, err := get(t, c, layer, mapping(t, "b:0:100000:65536"))
	if err == nil || !strings.Contains(err.Error(), "PATH_MAX") || len(err.Error()) > 2000 {
		t.Fatalf("Get of a layer with a long path: %v", err)
	}
	if names := cacheNames(t, c); len(names) != 0 {
		t.Errorf("cache holds %v after a failed copy", names)
	}
}

// get is c.Get, with the entry released when t ends: a held entry keeps
// an fd open in its filesystem, which could not be unmounted whole.
func get(t testing.TB, c *Cache, layer string, m idmapmount.Mapping) (*Entry, error) {
	e, err := c.Get(layer, m)
	if e != nil {
		t.Cleanup(e.Release)
	}
	return e, err
}
