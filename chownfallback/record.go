package chownfallback

import (
	"encoding/binary"
	"fmt"
)

// XattrRecord names the transient xattr that makes a shift crash-safe.
//
// chown(2) on a non-directory clears the setuid and setgid bits and
// removes security.capability. Before it chowns such an inode, Shift
// writes the inode's mode and capability (as they were before the first
// chown) into this trusted.* xattr on the inode itself; after it has put
// them back it removes the xattr. A run that was killed in between leaves
// the record behind, and the next run restores from it. trusted.* is
// writable by CAP_SYS_ADMIN only, so no process inside the tree can forge
// a record, and it is kept across chown (only security.capability is
// removed).
const XattrRecord = "trusted.idmapkit.shift"

const recordVersion = 1

// record is what XattrRecord holds: the mode (with its setuid and setgid
// bits) and the raw security.capability value (nil if none) from before
// the chown.
type record struct {
	Mode uint32
	Caps []byte
}

// bytes encodes r: version byte, mode (u32 little-endian), capability.
func (r record) bytes() []byte {
	b := []byte{recordVersion}
	b = binary.LittleEndian.AppendUint32(b, r.Mode)
	return append(b, r.Caps...)
}

func parseRecord(b []byte) (record, error) {
	if len(b) < 5 || b[0] != recordVersion {
		return record{}, fmt.Errorf("%w: %s record of %d bytes, version %v", ErrBadXattr, XattrRecord, len(b), b[:min(len(b), 1)])
	}
	r := record{Mode: binary.LittleEndian.Uint32(b[1:])}
	if len(b) > 5 {
		r.Caps = append([]byte(nil), b[5:]...)
		if _, err := ParseCaps(r.Caps); err != nil {
			return record{}, fmt.Errorf("%s record: %w", XattrRecord, err)
		}
	}
	return r, nil
}
