package chownfallback

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// buildLock is the cache-wide lock file. Every process making an entry
// holds it shared for the whole build; only a process that gets it
// exclusively knows that no build is running, and that every temporary
// directory is left over from a crash and can go.
const buildLock = ".build.lock"

// tmpPrefix starts the name of every temporary entry directory.
const tmpPrefix = ".tmp-"

// lockFile opens (creating it) and flocks path with how (LOCK_EX,
// LOCK_SH, optionally |LOCK_NB) and returns the unlock function. flock
// locks are dropped by the kernel when the process dies, so a crash never
// leaves the cache locked.
//
// Prune removes the lock file of an entry it removes, while holding it;
// a process that opened the file before then and got the lock after
// holds a lock on a file nobody else can find. So the lock counts only
// if path still names the locked file; otherwise it is taken again on
// the new one. Each retry follows a removal by Prune, which needs the
// lock: maxLockRetries is far more than can happen in a row.
func lockFile(path string, how int) (func(), error) {
	return lockOpen(path, how, os.O_CREATE)
}

// lockExisting is lockFile for a lock file that may not exist, which it
// does not create (for a prune that must change nothing): a missing
// file is a lock nobody holds, and the unlock function is a no-op.
func lockExisting(path string, how int) (func(), error) {
	unlock, err := lockOpen(path, how, 0)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	return unlock, err
}

// lockFor is how a prune takes lock files: without making any in a dry
// run.
func lockFor(dryRun bool) func(string, int) (func(), error) {
	if dryRun {
		return lockExisting
	}
	return lockFile
}

func lockOpen(path string, how, create int) (func(), error) {
	for range maxLockRetries {
		f, err := openLocked(path, "open lock file", create, how)
		if err != nil {
			return nil, err
		}
		if sameFile(f, path) {
			return func() { f.Close() }, nil
		}
		f.Close()
	}
	return nil, &idmapmount.StepError{Step: "flock", Flags: flockFlags(how), Path: path, Err: unix.EAGAIN,
		Hint: fmt.Sprintf("the lock file was removed and made again %d times while waiting for it", maxLockRetries)}
}

const maxLockRetries = 100

// sameFile reports whether path names the file f has open.
func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// lockDir flocks the directory dir itself: an entry's use lock, which
// goes with the entry when Prune removes it (no file to leave behind).
func lockDir(dir string, how int) (func(), error) {
	f, err := openLocked(dir, "open cache entry", unix.O_DIRECTORY, how)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// openLocked opens path (with flags: O_CREATE, O_DIRECTORY) and flocks
// it with how. Read-only: flock needs no more, and a cache on a
// read-only mount can still be read and its entries used.
func openLocked(path, step string, flags, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|flags|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		se := &idmapmount.StepError{Step: step, Path: path, Err: bareErr(err)}
		if errors.Is(err, unix.EROFS) {
			se.Hint = "the cache directory is on a read-only filesystem; making, using and pruning entries all take locks there"
		}
		return nil, se
	}
	if err := retryEINTR(func() error { return unix.Flock(int(f.Fd()), how) }); err != nil {
		f.Close()
		return nil, &idmapmount.StepError{Step: "flock", Flags: flockFlags(how), Path: path, Err: err}
	}
	return f, nil
}

func flockFlags(how int) string {
	s := "LOCK_SH"
	if how&unix.LOCK_EX != 0 {
		s = "LOCK_EX"
	}
	if how&unix.LOCK_NB != 0 {
		s += "|LOCK_NB"
	}
	return s
}

// beginBuild removes the temporary directories crashed builds left, if
// no build is running, then takes the build lock shared, and says which
// leftovers it removed and which it could not. Failing to clean up is
// not an error: a leftover directory is never used, only wasted.
func (c *Cache) beginBuild() (release func(), removed, stuck []string, err error) {
	lock := filepath.Join(c.dir(), buildLock)
	if unlock, err := lockFile(lock, unix.LOCK_EX|unix.LOCK_NB); err == nil {
		removed, stuck = c.removeLeftovers()
		unlock()
	}
	release, err = lockFile(lock, unix.LOCK_SH)
	return release, removed, stuck, err
}

// leftoverName matches the temporary names the cache makes: entries
// being built or removed (tmpPrefix, 16 digits of the key, a random
// suffix), reflink probes and tags being written. Nothing else in the directory is touched.
var leftoverName = regexp.MustCompile(`^\.tmp-([0-9a-f]{16}|reflink|tag)-`)

// removeLeftovers removes the temporary entry directories, and returns
// those it removed and, for those it could not (something mounted on or
// in one, say), why. The caller holds the build lock exclusively.
func (c *Cache) removeLeftovers() (removed, stuck []string) {
	for _, p := range c.leftovers() {
		if err := removeTree(p); err != nil {
			stuck = append(stuck, err.Error())
		} else {
			removed = append(removed, p)
		}
	}
	return removed, stuck
}

// leftovers lists the temporary entry directories (and reflink probes).
func (c *Cache) leftovers() []string {
	names, err := os.ReadDir(c.dir())
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if leftoverName.MatchString(n.Name()) {
			out = append(out, filepath.Join(c.dir(), n.Name()))
		}
	}
	return out
}
