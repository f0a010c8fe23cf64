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
