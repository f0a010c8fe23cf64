package idmapmount

import (
	"fmt"
	"slices"
	"strings"
)

// MaxExtents is the kernel's limit on the number of lines in a uid_map or
// gid_map (include/linux/user_namespace.h, UID_GID_MAP_MAX_EXTENTS).
const MaxExtents = 340

// NoID is (uid_t)-1. The kernel never maps it.
const NoID = ^uint32(0)

// OverflowID is what the kernel shows for an ID with no mapping
// (/proc/sys/kernel/overflowuid, overflowgid default).
const OverflowID = 65534

// Extent maps Count consecutive IDs: the ID stored on disk, From+i, is
// presented as To+i.
type Extent struct {
	From  uint32 `json:"from"`
	To    uint32 `json:"to"`
	Count uint32 `json:"count"`
}

// IDMap is a list of extents for one kind of ID (uids or gids).
type IDMap []Extent

// Mapping is a uid map plus a gid map. Either may be empty; an ID in no
// extent is unmapped.
type Mapping struct {
	UID IDMap `json:"uid"`
	GID IDMap `json:"gid"`
}

// Empty reports whether m maps no ID at all.
func (m Mapping) Empty() bool { return len(m.UID) == 0 && len(m.GID) == 0 }

// Validate checks both maps against the kernel's rules.
func (m Mapping) Validate() error {
	if m.Empty() {
		return fmt.Errorf("%w: no extents (example: --map b:0:100000:65536)", ErrEmptyMapping)
	}
	if err := m.UID.validate("uid"); err != nil {
		return err
	}
	return m.GID.validate("gid")
}

func (e Extent) end() uint64         { return uint64(e.From) + uint64(e.Count) }
func (e Extent) toEnd() uint64       { return uint64(e.To) + uint64(e.Count) }
func (e Extent) String() string      { return fmt.Sprintf("%d:%d:%d", e.From, e.To, e.Count) }
func overlap(a, b, n, m uint64) bool { return a < m && n < b } // [a,b) and [n,m)

func (im IDMap) validate(kind string) error {
	if err := im.check(kind); err != nil {
		return fmt.Errorf("%w; example: %s", err, specExample)
	}
	return nil
}

// maxMapText is the size the kernel takes for a uid_map or gid_map write:
// less than a page.
const maxMapText = 4096

func (im IDMap) check(kind string) error {
	if len(im) > MaxExtents {
		return fmt.Errorf("%w: %d %s extents, the kernel allows at most %d", ErrBadSpec, len(im), kind, MaxExtents)
	}
	for i, e := range im {
		if e.Count == 0 {
			return fmt.Errorf("%w: %s extent %s: count must be at least 1", ErrBadSpec, kind, e)
		}
		// NoID is never mapped: the last ID of a range may be at most NoID-1.
		if e.end() > uint64(NoID) || e.toEnd() > uint64(NoID) {
			return fmt.Errorf("%w: %s extent %s: range passes %d (IDs go up to %d)", ErrBadSpec, kind, e, NoID-1, NoID-1)
		}
		for _, o := range im[:i] {
			if overlap(uint64(e.From), e.end(), uint64(o.From), o.end()) {
				return fmt.Errorf("%w: %s extents %s and %s overlap on the on-disk side", ErrBadSpec, kind, o, e)
			}
			if overlap(uint64(e.To), e.toEnd(), uint64(o.To), o.toEnd()) {
				return fmt.Errorf("%w: %s extents %s and %s overlap on the presented side", ErrBadSpec, kind, o, e)
			}
		}
	}
	if n := len(procIDMapText(im)); n >= maxMapText {
		return fmt.Errorf("%w: the %d %s extents take %d bytes written as a %s_map, and the kernel takes less than %d; use fewer extents (adjacent ones can be merged into one)",
			ErrBadSpec, len(im), kind, n, kind, maxMapText)
	}
	return nil
}

// Map returns the ID presented for the on-disk ID id, and whether id is mapped.
func (im IDMap) Map(id uint32) (uint32, bool) {
	for _, e := range im {
		if id >= e.From && uint64(id) < e.end() {
			return e.To + (id - e.From), true
		}
	}
	return id, false
}

// Inverse returns the map that presents To+i as From+i.
func (im IDMap) Inverse() IDMap {
	inv := make(IDMap, len(im))
	for i, e := range im {
		inv[i] = Extent{From: e.To, To: e.From, Count: e.Count}
	}
	return inv
}

// SelfOverlap reports the first extent pair whose on-disk range overlaps
// a presented range of the same map, in which case an ID alone cannot tell
// whether it was already shifted.
func (im IDMap) SelfOverlap() (a, b Extent, ok bool) {
	for _, x := range im {
		for _, y := range im {
			if overlap(uint64(x.From), x.end(), uint64(y.To), y.toEnd()) {
				return x, y, true
			}
		}
	}
	return Extent{}, Extent{}, false
}

// Inverse returns the mapping that undoes m.
func (m Mapping) Inverse() Mapping { return Mapping{UID: m.UID.Inverse(), GID: m.GID.Inverse()} }

// Sorted returns a copy of m with each map's extents sorted by From.
func (m Mapping) Sorted() Mapping {
	sortMap := func(im IDMap) IDMap {
		s := slices.Clone(im)
		slices.SortFunc(s, func(a, b Extent) int { return int(int64(a.From) - int64(b.From)) })
		return s
	}
	return Mapping{UID: sortMap(m.UID), GID: sortMap(m.GID)}
}

// Equivalent reports whether m and o map every ID the same way, however
// their extents are split or ordered.
func (m Mapping) Equivalent(o Mapping) bool {
	return slices.Equal(m.UID.merged(), o.UID.merged()) && slices.Equal(m.GID.merged(), o.GID.merged())
}

// merged is im sorted, with extents that continue each other on both
// sides joined.
func (im IDMap) merged() IDMap {
	s := Mapping{UID: im}.Sorted().UID
	var out IDMap
	for _, e := range s {
		if n := len(out); n > 0 && out[n-1].end() == uint64(e.From) && out[n-1].toEnd() == uint64(e.To) {
			out[n-1].Count += e.Count
			continue
		}
		out = append(out, e)
	}
	return out
}

// Warnings lists likely mistakes in a valid mapping.
func (m Mapping) Warnings() []string {
	var w []string
	if len(m.UID) > 0 && len(m.GID) == 0 {
		w = append(w, "the mapping has uid extents only: every gid stays unmapped (65534 through a mount; left as it is by shift); use b: (both) or add g: extents")
	}
	if len(m.GID) > 0 && len(m.UID) == 0 {
		w = append(w, "the mapping has gid extents only: every uid stays unmapped (65534 through a mount; left as it is by shift); use b: (both) or add u: extents")
	}
	return w
}

// String returns m in the canonical spec form: extents sorted by From, a
// "b:" extent where the uid and gid maps agree, else "u:" and "g:" extents,
// separated by spaces. ParseSpec accepts it back.
func (m Mapping) String() string {
	s := m.Sorted()
	var parts []string
	if slices.Equal(s.UID, s.GID) {
		for _, e := range s.UID {
			parts = append(parts, "b:"+e.String())
		}
		return strings.Join(parts, " ")
	}
	for _, e := range s.UID {
		parts = append(parts, "u:"+e.String())
	}
	for _, e := range s.GID {
		parts = append(parts, "g:"+e.String())
	}
	return strings.Join(parts, " ")
}
