package chownfallback

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// Entries lists the cache's entries and the mounts, in every mount
// namespace on the system, that use each (see
// idmapmount.SystemMountTables: it fails rather than miss a namespace).
// A missing cache directory has no entries.
func (c *Cache) Entries() ([]CachedEntry, error) {
	if _, err := os.Stat(c.dir()); errors.Is(err, os.ErrNotExist) {
		return []CachedEntry{}, nil
	}
	if err := c.checkTag(); err != nil {
		return nil, err
	}
	entries, err := c.readEntries()
	if err != nil || len(entries) == 0 {
		return entries, err
	}
	return entries, markUses(entries)
}

// Prune removes the entries no mount uses, in any mount namespace, and
// that no running idmapkit holds, with what crashed builds and prunes
// left (temporary directories, lock files of removed entries). With
// dryRun it changes nothing, not even a lock file, and reports what it
// would remove.
//
// Each entry is locked against Get (its key lock) and against an overlay
// being mounted on it (its use lock, which Get hands to the overlay)
// before the mount tables are read, so an entry found unused cannot
// become used before it is gone. An entry is first renamed out of its
// name, then removed without crossing into anything mounted inside it:
// a crash leaves a temporary directory, removed later, never half an
// entry under its name.
func (c *Cache) Prune(dryRun bool) (*PruneResult, error) {
	res := &PruneResult{Entries: []CachedEntry{}, Leftovers: []string{}, Stuck: []string{}, DryRun: dryRun}
	if _, err := os.Stat(c.dir()); errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err := c.checkTag(); err != nil {
		return nil, err
	}
	release, err := c.pruneLeftovers(res)
	if err != nil {
		return nil, err
	}
	defer release()
	entries, err := c.readEntries()
	if err != nil {
		return nil, err
	}
	var locks []func()
	res.Entries, locks, err = c.lockEntries(entries, dryRun)
	defer func() {
		for _, unlock := range locks {
			unlock()
		}
	}()
	if err != nil {
		return nil, err
	}
	if err := markUses(res.Entries); err != nil {
		return nil, err
	}
	for i := range res.Entries {
		e := &res.Entries[i]
		if e.InUse() {
			res.Kept++
			continue
		}
		if !dryRun {
			if err := c.removeEntry(*e); err != nil {
				return res, err
			}
		}
		e.Removed = true
		res.Removed++
		res.Inodes += e.Info.Inodes
	}
	return res, nil
}

// pruneLeftovers removes (or, in a dry run, lists) the leftovers of
// crashed builds and prunes into res.Leftovers, and returns holding the
// build lock shared, as builds do, so that no other process's cleanup
// runs meanwhile.
func (c *Cache) pruneLeftovers(res *PruneResult) (release func(), err error) {
	if res.DryRun {
		res.Leftovers = append(res.Leftovers, c.leftovers()...)
		res.Leftovers = append(res.Leftovers, c.orphanLocks(true)...)
		return lockExisting(filepath.Join(c.dir(), buildLock), unix.LOCK_SH)
	}
	release, removed, stuck, err := c.beginBuild()
	if err != nil {
		return nil, err
	}
	res.Leftovers = append(res.Leftovers, removed...)
	res.Stuck = append(res.Stuck, stuck...)
	res.Leftovers = append(res.Leftovers, c.orphanLocks(false)...)
	return release, nil
}

// orphanLocks removes (or with dryRun only finds) the key lock files
// whose entry does not exist and that nobody holds: a prune killed
// between removing an entry and its lock file leaves one. A Get waiting
// on a removed lock file takes the lock again on a new one (lockFile).
func (c *Cache) orphanLocks(dryRun bool) []string {
	names, err := os.ReadDir(c.dir())
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		key, ok := strings.CutSuffix(n.Name(), ".lock")
		if !ok || !isKey(key) {
			continue
		}
		path := filepath.Join(c.dir(), n.Name())
		unlock, err := lockFor(dryRun)(path, unix.LOCK_EX|unix.LOCK_NB)
		if err != nil {
			continue // held: a Get is making the entry
		}
		if _, err := os.Lstat(filepath.Join(c.dir(), key)); errors.Is(err, os.ErrNotExist) {
			if dryRun || os.Remove(path) == nil {
				out = append(out, path)
			}
		}
		unlock()
	}
	return out
}

// readEntries reads the entries' descriptions. Names that are not an
// entry key (lock files, temporary directories, anything else) are left
// out.
func (c *Cache) readEntries() ([]CachedEntry, error) {
	names, err := os.ReadDir(c.dir())
	if errors.Is(err, os.ErrNotExist) {
		return []CachedEntry{}, nil
	}
	if err != nil {
		return nil, &idmapmount.StepError{Step: "read cache directory", Path: c.dir(), Err: bareErr(err)}
	}
	entries := []CachedEntry{}
	for _, n := range names {
		if !isKey(n.Name()) {
			continue
		}
		e := c.readEntry(n.Name())
		if _, err := os.Lstat(e.Dir); errors.Is(err, os.ErrNotExist) {
			continue // removed by a prune since the directory was read
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// isKey reports whether name is a cacheKey: 64 lowercase hex digits.
func isKey(name string) bool {
	if len(name) != 64 || strings.ToLower(name) != name {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil
}

func (c *Cache) readEntry(key string) CachedEntry {
	e := CachedEntry{Key: key, Dir: filepath.Join(c.dir(), key), UsedBy: []EntryUse{}}
	b, err := os.ReadFile(filepath.Join(e.Dir, "entry.json"))
	if err != nil {
		e.Problem = fmt.Sprintf("read entry.json: %v", bareErr(err))
		return e
	}
	var info EntryInfo
	if err := json.Unmarshal(b, &info); err != nil {
		e.Problem = fmt.Sprintf("parse entry.json: %v", err)
		return e
	}
	if cacheKey(info.Layer, info.Mapping) != key && info.Version == cacheVersion {
		e.Problem = "entry.json describes another entry"
		return e
	}
	e.Info = &info
	return e
}

// lockEntries takes, without waiting, the key lock and the use lock of
// each entry that Prune could remove, and marks the others Busy. An
// entry gone meanwhile (another prune removed it) is left out of the
// result. A dry run creates no lock file. Any failure other than a lock
// held elsewhere is an error.
func (c *Cache) lockEntries(entries []CachedEntry, dryRun bool) (kept []CachedEntry, locks []func(), err error) {
	kept = entries[:0]
	for _, e := range entries {
		if e.Problem == "" {
			var unlock []func()
			unlock, err = c.lockEntry(&e, dryRun)
			locks = append(locks, unlock...)
			if errors.Is(err, os.ErrNotExist) {
				err = nil
				continue // removed by another prune since it was read
			}
			if err != nil {
				return kept, locks, err
			}
		}
		kept = append(kept, e)
	}
	return kept, locks, nil
}

// lockEntry takes the two locks of e, or marks it Busy.
func (c *Cache) lockEntry(e *CachedEntry, dryRun bool) ([]func(), error) {
	unlockKey, err := lockFor(dryRun)(filepath.Join(c.dir(), e.Key+".lock"), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		e.Busy = "a running idmapkit is making or fetching it"
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	unlockUse, err := lockDir(e.Dir, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		e.Busy = "a running idmapkit is mounting an overlay on it"
		return []func(){unlockKey}, nil
	}
	if errors.Is(err, os.ErrNotExist) && !dryRun {
		// Another prune removed the entry, and its lock file, which the
		// lock just taken made again: remove it while holding it.
		_ = os.Remove(filepath.Join(c.dir(), e.Key+".lock"))
	}
	if err != nil {
		return []func(){unlockKey}, err
	}
	return []func(){unlockKey, unlockUse}, nil
}

// markUses reads the mount table of every mount namespace and records,
// for each entry, the mounts that name it. An entry's key is a SHA-256,
// so a mount that names it, in a layer path, in a bind's root or in its
// mount point, uses that entry and no other.
func markUses(entries []CachedEntry) error {
	tables, err := idmapmount.SystemMountTables()
	if err != nil {
		return fmt.Errorf("find the mounts that use cache entries: %w", err)
	}
	for _, t := range tables {
		for _, m := range t.Mounts {
			for i := range entries {
				if mentions(m, entries[i].Key) {
					entries[i].UsedBy = append(entries[i].UsedBy, EntryUse{MntNS: t.ID, PID: t.PID, Mountpoint: m.Mountpoint, FSType: m.FSType})
				}
			}
		}
	}
	return nil
}

func mentions(m idmapmount.NamespaceMount, key string) bool {
	for _, s := range []string{m.Root, m.Mountpoint, m.Source, m.Options} {
		if strings.Contains(s, key) {
			return true
		}
	}
	return false
}

// removeEntry renames the entry to a temporary name, then removes it and
// its key lock file. The caller holds both of the entry's locks.
func (c *Cache) removeEntry(e CachedEntry) error {
	// A fresh name from MkdirTemp, freed again: RENAME_NOREPLACE makes
	// sure nothing took it in between.
	tmp, err := os.MkdirTemp(c.dir(), tmpPrefix+e.Key[:16]+"-")
	if err == nil {
		err = os.Remove(tmp)
	}
	if err != nil {
		return &idmapmount.StepError{Step: "make temporary name", Path: c.dir(), Err: bareErr(err)}
	}
	if err := unix.Renameat2(unix.AT_FDCWD, e.Dir, unix.AT_FDCWD, tmp, unix.RENAME_NOREPLACE); err != nil {
		return &idmapmount.StepError{Step: "renameat2", Flags: "RENAME_NOREPLACE", Path: e.Dir, Err: err}
	}
	if err := syncDir(c.dir()); err != nil {
		return err
	}
	if err := removeTree(tmp); err != nil {
		se := &idmapmount.StepError{Step: "remove cache entry", Path: tmp, Err: err,
			Hint: fmt.Sprintf("entry %s is out of use under its name (now %s); the next prune removes what is left", e.Key, tmp)}
		if errors.Is(err, unix.EXDEV) {
			se.Hint = fmt.Sprintf("something was mounted inside entry %s after prune had read the mount tables; prune stopped there and deleted nothing on that mount. Unmount it, then run prune again to remove what is left (%s)", e.Key, tmp)
		}
		return se
	}
	lock := filepath.Join(c.dir(), e.Key+".lock")
	if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return &idmapmount.StepError{Step: "remove lock file", Path: lock, Err: bareErr(err)}
	}
	return nil
}
