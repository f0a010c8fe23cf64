package chownfallback

import (
	"os"

	"github.com/idmapkit/idmapkit/idmapmount"
)

// MountConfig describes a Mount.
type MountConfig struct {
	Source, Target string
	// Mapping is the mapping to present; Userns, if set, carries it (as
	// idmapmount.Source gives them).
	Mapping idmapmount.Mapping
	Userns  *os.File
	Options idmapmount.Options
	// Fallback says what to do if Source's filesystem cannot be idmapped.
	Fallback Mode
	// Force takes the fallback whatever the filesystem (for tests and
	// benchmarks; see ForceEnv).
	Force bool
	// Shift are the options of the shift (Jobs).
	Shift Options
	// StateDir is where the fallback bind is recorded;
	// idmapmount.DefaultStateDir when empty.
	StateDir string
}

// OverlayConfig describes an Overlay: an idmapmount overlay, and what to
// do with a lower layer whose filesystem cannot be idmapped.
type OverlayConfig struct {
	idmapmount.OverlayConfig
	// Fallback FallbackChown uses a shifted copy from Cache for each
	// layer that cannot be idmapped.
	Fallback Mode
	// Cache holds the shifted copies.
	Cache Cache
	// Force takes the fallback for every layer (tests, benchmarks).
	Force bool
}
