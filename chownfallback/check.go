package chownfallback

import (
	"fmt"

	"github.com/idmapkit/idmapkit/idmapmount"
)

// checkMapping refuses a mapping Shift cannot apply crash-safely: one
// whose on-disk and presented ranges overlap, so that an ID could not tell
// whether it was already shifted.
func checkMapping(m idmapmount.Mapping) error {
	if err := m.Validate(); err != nil {
		return err
	}
	for _, c := range []struct {
		kind string
		im   idmapmount.IDMap
	}{{"uid", m.UID}, {"gid", m.GID}} {
		if a, b, ok := c.im.SelfOverlap(); ok {
			return fmt.Errorf("%w: %s extent %d:%d:%d moves IDs %d..%d, and extent %d:%d:%d moves IDs to %d..%d; "+
				"a rerun after a crash could not tell a shifted ID from one still to shift "+
				"(hint: shift in two steps through a free range, e.g. first to 1000000000)",
				ErrOverlap, c.kind, a.From, a.To, a.Count, a.From, uint64(a.From)+uint64(a.Count)-1,
				b.From, b.To, b.Count, b.To, uint64(b.To)+uint64(b.Count)-1)
		}
	}
	return nil
}
