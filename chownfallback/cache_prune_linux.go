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
// that no running idmapkit holds, with the temporary directories of
// crashed builds. With dryRun it only reports what it would remove.
//
// Each entry is locked against Get (its key lock) and against an overlay
// being mounted on it (its use lock, which Get hands to the overlay)
// before the mount tables are read, so an entry found unused cannot
// become used before it is gone. An entry is first renamed out of its
// name, then removed: a crash leaves a temporary directory, removed
// later, never half an entry under its name.
func (c *Cache) Prune(dryRun bool) (*PruneResult, error) {
	if _, err := os.Stat(c.dir()); errors.Is(err, os.ErrNotExist) {
		return &PruneResult{Entries: []CachedEntry{}, DryRun: dryRun}, nil
	}
	if err := c.checkTag(); err != nil {
		return nil, err
	}
	release, err := c.beginBuild() // removes crashed builds' leftovers
	if err != nil {
		return nil, err
	}
	defer release()
	entries, err := c.readEntries()
	if err != nil {
		return nil, err
	}
	locks := c.lockEntries(entries)
	defer func() {
		for _, unlock := range locks {
			unlock()
		}
	}()
	if err := markUses(entries); err != nil {
		return nil, err
	}
	res := &PruneResult{Entries: entries, DryRun: dryRun}
	for i := range entries {
		e := &entries[i]
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
		if isKey(n.Name()) {
			entries = append(entries, c.readEntry(n.Name()))
		}
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
// each entry that Prune could remove, and marks the others Busy.
func (c *Cache) lockEntries(entries []CachedEntry) []func() {
	var locks []func()
	for i := range entries {
		e := &entries[i]
		if e.Problem != "" {
			continue
		}
		unlockKey, err := lockFile(filepath.Join(c.dir(), e.Key+".lock"), unix.LOCK_EX|unix.LOCK_NB)
		if err != nil {
			e.Busy = "a running idmapkit is making or fetching it"
			continue
		}
		unlockUse, err := lockDir(e.Dir, unix.LOCK_EX|unix.LOCK_NB)
		if err != nil {
			unlockKey()
			e.Busy = "a running idmapkit is mounting an overlay on it"
			continue
		}
		locks = append(locks, unlockUse, unlockKey)
	}
	return locks
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
	if err := os.RemoveAll(tmp); err != nil {
		return &idmapmount.StepError{Step: "remove cache entry", Path: tmp, Err: bareErr(err),
			Hint: "the entry is out of use under this name; idmapkit removes what is left the next time it makes an entry"}
	}
	lock := filepath.Join(c.dir(), e.Key+".lock")
	if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return &idmapmount.StepError{Step: "remove lock file", Path: lock, Err: bareErr(err)}
	}
	return nil
}
