//go:build !linux

package chownfallback

import (
	"errors"
	"sync/atomic"

	"github.com/idmapkit/idmapkit/idmapmount"
)

var errNotLinux = errors.New("chownfallback needs Linux")

// Shift needs Linux.
func Shift(dir string, m idmapmount.Mapping, opts Options) (*Result, error) {
	if err := checkMapping(m); err != nil {
		return nil, err
	}
	return nil, errNotLinux
}

// TakeCensus needs Linux.
func TakeCensus(dir string, jobs int, seen *atomic.Uint64) (*Census, error) {
	return nil, errNotLinux
}

// Entries needs Linux.
func (c *Cache) Entries() ([]CachedEntry, error) { return nil, errNotLinux }

// Prune needs Linux.
func (c *Cache) Prune(dryRun bool) (*PruneResult, error) { return nil, errNotLinux }
