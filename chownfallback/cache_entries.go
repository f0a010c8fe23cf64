package chownfallback

// CachedEntry is an entry found in the cache directory by Entries or
// Prune, with the mounts that use it.
type CachedEntry struct {
	Key  string     `json:"key"`
	Dir  string     `json:"dir"`
	Info *EntryInfo `json:"info"` // nil when Problem says why
	// Problem is set when the entry does not describe itself: it is
	// listed, never removed.
	Problem string `json:"problem,omitempty"`
	// UsedBy are the mounts, in any mount namespace, that name the entry
	// (an overlay layer, or a bind of its tree).
	UsedBy []EntryUse `json:"used_by"`
	// Busy is set when a running idmapkit holds the entry (making it, or
	// mounting an overlay on it): Prune leaves it.
	Busy string `json:"busy,omitempty"`
	// Removed is set by Prune for an entry it removed (or, with DryRun,
	// would remove).
	Removed bool `json:"removed"`
}

// EntryUse is one mount that uses a cache entry.
type EntryUse struct {
	MntNS      uint64 `json:"mnt_ns"` // the mount namespace's ID
	PID        int    `json:"pid"`    // a process in it, where one was found; 0 otherwise
	Mountpoint string `json:"mountpoint"`
	FSType     string `json:"fstype"`
}

// InUse reports whether the entry must stay: a mount uses it, a running
// idmapkit holds it, or it is not an entry idmapkit can vouch for.
func (e CachedEntry) InUse() bool {
	return len(e.UsedBy) > 0 || e.Busy != "" || e.Problem != ""
}

// PruneResult is what Prune did.
type PruneResult struct {
	Entries []CachedEntry `json:"entries"`
	Removed int           `json:"removed"` // entries removed (or that would be, with DryRun)
	// Leftovers are what crashed builds and prunes left, removed (or
	// that would be): temporary directories, lock files of removed
	// entries.
	Leftovers []string `json:"leftovers"`
	// Stuck are the leftovers that could not be removed, and why (a
	// mount on or inside one stops the removal before it).
	Stuck  []string `json:"stuck"`
	Inodes uint64   `json:"inodes"` // the inodes they held
	Kept   int      `json:"kept"`   // entries left in place
	DryRun bool     `json:"dry_run"`
}
