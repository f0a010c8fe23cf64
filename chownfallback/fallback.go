package chownfallback

import (
	"fmt"
	"strings"

	"github.com/idmapkit/idmapkit/fsprobe"
	"github.com/idmapkit/idmapkit/idmapmount"
)

// Mode says what Mount and Overlay do with a tree whose filesystem cannot
// be idmapped.
type Mode string

const (
	// FallbackNone fails, with a hint to use FallbackChown.
	FallbackNone Mode = "none"
	// FallbackChown shifts the tree instead: in place for Mount, a shifted
	// copy in a cache for Overlay.
	FallbackChown Mode = "chown"
)

// ParseMode parses "none" or "chown" ("" is none).
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", FallbackNone:
		return FallbackNone, nil
	case FallbackChown:
		return FallbackChown, nil
	}
	return FallbackNone, fmt.Errorf("%w: %q: want none or chown", ErrBadFallback, s)
}

// Route is the way a tree reached the reader.
type Route string

const (
	// RouteIDMapped: an idmapped mount of the tree itself.
	RouteIDMapped Route = "idmapped"
	// RouteShiftedInPlace: the tree was shifted on disk and bind-mounted.
	RouteShiftedInPlace Route = "shifted-in-place"
	// RouteCacheBuilt: a shifted copy was made in the cache for this use.
	RouteCacheBuilt Route = "cache-built"
	// RouteCacheReused: a shifted copy made earlier was used again.
	RouteCacheReused Route = "cache-reused"
)

// Verdict is why a tree was or was not idmapped: the probe's answer for
// its mount, or a forced fallback.
type Verdict struct {
	Dir        string         `json:"dir"`
	FSType     string         `json:"fstype"`
	Mountpoint string         `json:"mountpoint"`
	Reason     fsprobe.Reason `json:"reason"`
	Errno      string         `json:"errno,omitempty"`
	Forced     bool           `json:"forced,omitempty"`
}

// Fallback reports whether the verdict calls for the shifting chown: the
// filesystem cannot be idmapped (EINVAL), or the kernel cannot (no
// mount_setattr before Linux 5.12, or EINVAL even on the control tmpfs, as
// on 5.12-6.2 where tmpfs cannot be idmapped either). A caller without
// CAP_SYS_ADMIN or an already idmapped mount is an error the fallback would
// hide, not cure.
func (v Verdict) Fallback() bool {
	switch v.Reason {
	case fsprobe.ReasonFSUnsupported, fsprobe.ReasonNoSyscall, fsprobe.ReasonKernelRefuses:
		return true
	}
	return v.Forced
}

// String is the reason as a clause: "ramfs at /mnt cannot be idmapped
// (EINVAL)".
func (v Verdict) String() string {
	switch {
	case v.Forced:
		return fmt.Sprintf("%s at %s: fallback forced (%s)", v.FSType, v.Dir, ForceEnv)
	case v.Reason == fsprobe.ReasonOK:
		return fmt.Sprintf("%s at %s can be idmapped", v.FSType, v.Dir)
	}
	errno := v.Errno
	if errno == "" {
		errno = string(v.Reason)
	}
	return fmt.Sprintf("%s at %s cannot be idmapped (%s)", v.FSType, v.Dir, errno)
}

// ForceEnv is the environment variable the idmapkit command reads to
// force the fallback on a filesystem that could be idmapped. Tests and
// benchmarks use it to compare the two ways on one tree.
const ForceEnv = "IDMAPKIT_FORCE_FALLBACK"

// MountReport is what Mount did.
type MountReport struct {
	Source  string  `json:"source"`
	Target  string  `json:"target"`
	Route   Route   `json:"route"`
	Verdict Verdict `json:"verdict"`
	Shift   *Result `json:"shift,omitempty"`
}

// Message is the sentence idmapkit prints on stderr when the fallback was
// taken ("" when the tree was idmapped).
func (r *MountReport) Message() string {
	if r == nil || r.Route != RouteShiftedInPlace || r.Shift == nil {
		return ""
	}
	msg := fmt.Sprintf("%s: shifted %s in place (%d inodes changed) and bind-mounted it", r.Verdict, r.Source, r.Shift.Changed)
	return msg + unmappedNote(r.Shift)
}

// LayerReport is the way one lower layer of an overlay took.
type LayerReport struct {
	Dir     string  `json:"dir"`   // the layer as given
	Route   Route   `json:"route"` // idmapped, cache-built or cache-reused
	Verdict Verdict `json:"verdict"`
	Entry   *Entry  `json:"entry,omitempty"` // the cache entry used
}

// Message is the sentence for this layer.
func (l LayerReport) Message() string {
	switch l.Route {
	case RouteCacheBuilt:
		e := l.Entry
		return fmt.Sprintf("layer %s: %s: made a shifted copy %s (%s, %d inodes, %d shifted, %.2fs)%s",
			l.Dir, l.Verdict, e.Tree, e.Copy, e.Shift.Seen, e.Shift.Changed, e.Seconds, unmappedNote(e.Shift))
	case RouteCacheReused:
		return fmt.Sprintf("layer %s: %s: reused the shifted copy %s made %s", l.Dir, l.Verdict, l.Entry.Tree,
			l.Entry.Info.Created.Format("2006-01-02 15:04:05"))
	}
	return fmt.Sprintf("layer %s: idmapped", l.Dir)
}

// OverlayReport is what Overlay did.
type OverlayReport struct {
	Record *idmapmount.OverlayRecord `json:"record"`
	Layers []LayerReport             `json:"layers"` // empty when no fallback was asked for
}

// FellBack reports whether any layer took the fallback.
func (r *OverlayReport) FellBack() bool {
	if r == nil {
		return false
	}
	for _, l := range r.Layers {
		if l.Route != RouteIDMapped {
			return true
		}
	}
	return false
}

// unmappedNote warns about IDs the mapping does not cover: an idmapped
// mount shows them as the overflow ID, Shift leaves them as they are.
func unmappedNote(res *Result) string {
	if res == nil || res.Unmapped == 0 {
		return ""
	}
	var ids []string
	if len(res.UnmappedUIDs) > 0 {
		ids = append(ids, "uids "+FormatRanges(res.UnmappedUIDs))
	}
	if len(res.UnmappedGIDs) > 0 {
		ids = append(ids, "gids "+FormatRanges(res.UnmappedGIDs))
	}
	return fmt.Sprintf("; warning: %d inodes hold IDs outside the mapping (%s), kept as they are where an idmapped mount would show %d",
		res.Unmapped, strings.Join(ids, ", "), idmapmount.OverflowID)
}
