package idmapmount

import "errors"

// Sentinel errors of the overlay and list code (the others are in
// errors.go).
var (
	// ErrBadOverlay is returned for an overlay description that cannot
	// work, such as one without lower layers or with an upper but no work
	// directory.
	ErrBadOverlay = errors.New("bad overlay")
	// ErrNoFDLayers is returned when MethodFDLayers is forced on a kernel
	// that cannot take detached idmapped mounts as overlay layers.
	ErrNoFDLayers = errors.New("the kernel does not take detached mounts as overlay layers")
)
