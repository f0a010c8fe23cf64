package idmapmount

import "errors"

// Sentinel errors. Wrapped errors from this package match them with
// errors.Is, and syscall failures also match their errno.
var (
	// ErrBadSpec is returned for a mapping spec that cannot be parsed or
	// that describes an invalid mapping.
	ErrBadSpec = errors.New("bad mapping spec")
	// ErrBadOption is returned for an option value that is not one of
	// those allowed.
	ErrBadOption = errors.New("bad option")
	// ErrEmptyMapping is returned where a mapping is needed but none was given.
	ErrEmptyMapping = errors.New("empty mapping")
	// ErrNoSubID is returned when a user has no range in /etc/subuid or /etc/subgid.
	ErrNoSubID = errors.New("no subordinate ID range")
	// ErrNotIDMapped is returned by Unmount for a mount that is not idmapped.
	ErrNotIDMapped = errors.New("not an idmapped mount")
	// ErrNotMountPoint is returned by Unmount for a path that is not a mount point.
	ErrNotMountPoint = errors.New("not a mount point")
)
