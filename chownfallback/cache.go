package chownfallback

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"
)

// DefaultCacheDir is where Overlay keeps the shifted copies of layers that
// cannot be idmapped. It is on disk, not in /run: a copy of a large layer
// is worth keeping across reboots, and its key does not depend on the boot.
const DefaultCacheDir = "/var/cache/idmapkit/layers"

// CacheDirEnv overrides DefaultCacheDir for the idmapkit command.
const CacheDirEnv = "IDMAPKIT_CACHE_DIR"

// cacheVersion is part of every key: a change to how entries are made
// (the copy, the shift) must not reuse entries made the old way.
const cacheVersion = "v1"

// LayerID says which directory a layer is: its absolute path and the
// inode it names now. A layer deleted and made again at the same path is
// another inode (and another birth time), and gets another entry.
type LayerID struct {
	Path  string `json:"path"`
	Dev   uint64 `json:"dev"`   // st_dev of the layer's root, as major<<32|minor
	Ino   uint64 `json:"ino"`   // its inode number
	Btime int64  `json:"btime"` // its birth time in ns (0 where the filesystem keeps none)
}

// EntryInfo describes a cache entry; it is stored beside the tree as
// entry.json.
type EntryInfo struct {
	Version string    `json:"version"`
	Layer   LayerID   `json:"layer"`
	Mapping string    `json:"mapping"`
	Created time.Time `json:"created"`
	Copy    string    `json:"copy"` // "reflink" or "copy"
	Inodes  uint64    `json:"inodes"`
}

// Entry is a shifted copy of a layer in the cache.
type Entry struct {
	Key     string    `json:"key"`
	Dir     string    `json:"dir"`  // the entry: tree and entry.json
	Tree    string    `json:"tree"` // the shifted copy, for an overlay lower layer
	Info    EntryInfo `json:"info"`
	Reused  bool      `json:"reused"`
	Copy    string    `json:"copy"`            // how it was made: "reflink" or "copy"
	Shift   *Result   `json:"shift,omitempty"` // nil when reused
	Seconds float64   `json:"seconds"`         // to make it (copy, shift, sync)

	release func() // drops the use lock Get took
}

// cacheKey names the entry of a layer under a mapping: a hash, so that
// paths of any length and any characters make a short fixed name.
// mapping must be canonical (Mapping.Sorted().String()).
func cacheKey(id LayerID, mapping string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%d\x00%s", cacheVersion, id.Path, id.Dev, id.Ino, id.Btime, mapping)
	return hex.EncodeToString(h.Sum(nil))
}

// matches reports whether an entry's description is the one filed under
// id and mapping.
func (i EntryInfo) matches(id LayerID, mapping string) bool {
	return i.Version == cacheVersion && i.Layer == id && i.Mapping == mapping
}

// Cache holds shifted copies of layers whose filesystem cannot be
// idmapped, one entry per layer and mapping, for Overlay to use as lower
// layers as they are.
//
// Entries are immutable once published: an overlay may be using one,
// and overlayfs must never see a lower layer change. Only Prune removes
// them, and only those no mount uses. An entry is made in a temporary
// directory inside Dir and renamed into place only when complete and
// synced, so a crash leaves at most a temporary directory, which is never
// used and is removed later.
type Cache struct {
	// Dir is the cache directory; DefaultCacheDir when empty. Its
	// filesystem needs trusted.* xattrs for layers with setuid files or
	// capabilities (see Shift), and reflinks make the copies cheap.
	Dir string
	// Shift are the options of the shift of each new copy (Jobs).
	Shift Options
}

// dir is the cache directory, absolute: its entries' paths go into
// overlay records and the mount table, which a relative path would
// make meaningless.
func (c *Cache) dir() string {
	d := c.Dir
	if d == "" {
		d = DefaultCacheDir
	}
	if abs, err := filepath.Abs(d); err == nil {
		return abs
	}
	return d
}
