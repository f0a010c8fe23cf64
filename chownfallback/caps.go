package chownfallback

import (
	"encoding/binary"
	"fmt"

	"github.com/idmapkit/idmapkit/idmapmount"
)

// File capabilities (security.capability) as struct vfs_cap_data / struct
// vfs_ns_cap_data (include/uapi/linux/capability.h). The revision is the
// top byte of the little-endian magic_etc word; bit 0 is the effective
// flag. v1 (12 bytes) and v2 (20 bytes) belong to root, uid 0 of the
// filesystem; v3 (24 bytes, Linux 4.14) adds the uid that owns them, the
// "rootid" of the user namespace they were set in.
const (
	XattrCaps = "security.capability"

	capRevisionMask = 0xFF000000
	capRevision1    = 0x01000000
	capRevision2    = 0x02000000
	capRevision3    = 0x03000000
	capFlagsMask    = ^uint32(capRevisionMask)

	capSize1 = 12
	capSize2 = 20
	capSize3 = 24
)

// Caps is a decoded security.capability value.
type Caps struct {
	Magic  uint32    // revision | flags, as stored
	Data   [4]uint32 // permitted, inheritable (low words), then the high words (v2, v3)
	RootID uint32    // the owning uid: 0 for v1 and v2
}

// ParseCaps decodes a security.capability value.
func ParseCaps(b []byte) (Caps, error) {
	if len(b) < 4 {
		return Caps{}, fmt.Errorf("%w: capability of %d bytes", ErrBadXattr, len(b))
	}
	c := Caps{Magic: binary.LittleEndian.Uint32(b)}
	want := map[uint32]int{capRevision1: capSize1, capRevision2: capSize2, capRevision3: capSize3}[c.Revision()]
	if want == 0 || len(b) != want {
		return Caps{}, fmt.Errorf("%w: capability revision %#x of %d bytes", ErrBadXattr, c.Revision()>>24, len(b))
	}
	for i := 0; 4+4*i < len(b) && i < 4; i++ {
		c.Data[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	if c.Revision() == capRevision3 {
		c.RootID = binary.LittleEndian.Uint32(b[capSize2:])
	}
	return c, nil
}

// Revision is the format revision: capRevision1, 2 or 3.
func (c Caps) Revision() uint32 { return c.Magic & capRevisionMask }

// Bytes encodes c in its revision's layout.
func (c Caps) Bytes() []byte {
	size := map[uint32]int{capRevision1: capSize1, capRevision2: capSize2, capRevision3: capSize3}[c.Revision()]
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, size), c.Magic)
	for i := 0; len(b) < size && i < 4; i++ {
		b = binary.LittleEndian.AppendUint32(b, c.Data[i])
	}
	if c.Revision() == capRevision3 {
		b = binary.LittleEndian.AppendUint32(b[:capSize2], c.RootID)
	}
	return b
}

// Shift moves the capability's owner through uids, as an idmapped mount
// presents it: an owner that lands on 0 is written as v2 (root's own
// format, as the kernel returns it), any other owner as v3 with that
// rootid. It reports whether the value changed. A v1 capability keeps its
// format while it stays with root.
func (c Caps) Shift(uids idmapmount.IDMap) (Caps, bool) {
	root, ok := uids.Map(c.RootID)
	if !ok || root == c.RootID {
		return c, false
	}
	out := c
	out.RootID = root
	switch {
	case root != 0:
		out.Magic = capRevision3 | c.Magic&capFlagsMask
	case c.Revision() == capRevision3:
		out.Magic = capRevision2 | c.Magic&capFlagsMask
	}
	return out, true
}
