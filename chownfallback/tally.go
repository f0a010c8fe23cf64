package chownfallback

import (
	"maps"
	"slices"
)

// tally counts the uses of each ID. It holds one entry per distinct ID,
// not per inode.
type tally map[uint32]uint64

func (t tally) merge(o tally) {
	for id, n := range o {
		t[id] += n
	}
}

// ranges returns the IDs as runs of consecutive IDs, in order.
func (t tally) ranges() []IDRange {
	ids := slices.Sorted(maps.Keys(t))
	out := []IDRange{}
	for _, id := range ids {
		if n := len(out); n > 0 && out[n-1].Last+1 == id && out[n-1].Last != id {
			out[n-1].Last = id
			out[n-1].IDs++
			out[n-1].Uses += t[id]
			continue
		}
		out = append(out, IDRange{First: id, Last: id, IDs: 1, Uses: t[id]})
	}
	return out
}
