package chownfallback

import "errors"

// Sentinel errors of Mount, Overlay and the layer cache.
var (
	// ErrBadFallback is returned for a fallback mode other than none or
	// chown.
	ErrBadFallback = errors.New("bad fallback mode")
	// ErrFallbackSubmounts is returned by Mount for a recursive mount
	// whose source has submounts and cannot be idmapped: a shifting chown
	// stops at mount points, so the submounts would keep their owners.
	ErrFallbackSubmounts = errors.New("the fallback does not shift submounts")
	// ErrBadEntry is returned for a cache entry whose description does
	// not match the layer and mapping it is filed under, or is missing.
	ErrBadEntry = errors.New("bad layer cache entry")
	// ErrNotCache is returned by Cache.Prune and Cache.Entries for a
	// directory without the cache directory tag idmapkit writes.
	ErrNotCache = errors.New("not an idmapkit layer cache")
)
