package chownfallback

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/idmapkit/idmapkit/idmapmount"
)

// POSIX ACL xattrs (system.posix_acl_access, system.posix_acl_default) as
// the kernel stores and returns them (include/uapi/linux/posix_acl_xattr.h):
// a 4-byte little-endian version (2), then 8-byte entries {tag u16, perm
// u16, id u32}.
const (
	XattrACLAccess  = "system.posix_acl_access"
	XattrACLDefault = "system.posix_acl_default"

	aclVersion    = 2
	aclHeaderSize = 4
	aclEntrySize  = 8
)

// ACL entry tags. Only ACL_USER and ACL_GROUP entries carry an ID.
const (
	TagUserObj  uint16 = 0x01
	TagUser     uint16 = 0x02
	TagGroupObj uint16 = 0x04
	TagGroup    uint16 = 0x08
	TagMask     uint16 = 0x10
	TagOther    uint16 = 0x20
)

// ACLEntry is one entry of a POSIX ACL.
type ACLEntry struct {
	Tag  uint16
	Perm uint16
	ID   uint32 // meaningful for TagUser and TagGroup only
}

// ACL is a decoded POSIX ACL xattr.
type ACL []ACLEntry

// ParseACL decodes an ACL xattr value.
func ParseACL(b []byte) (ACL, error) {
	if len(b) < aclHeaderSize || (len(b)-aclHeaderSize)%aclEntrySize != 0 {
		return nil, fmt.Errorf("%w: ACL of %d bytes (want 4 + 8n)", ErrBadXattr, len(b))
	}
	if v := binary.LittleEndian.Uint32(b); v != aclVersion {
		return nil, fmt.Errorf("%w: ACL version %d (want %d)", ErrBadXattr, v, aclVersion)
	}
	acl := make(ACL, 0, (len(b)-aclHeaderSize)/aclEntrySize)
	for p := b[aclHeaderSize:]; len(p) > 0; p = p[aclEntrySize:] {
		acl = append(acl, ACLEntry{
			Tag:  binary.LittleEndian.Uint16(p),
			Perm: binary.LittleEndian.Uint16(p[2:]),
			ID:   binary.LittleEndian.Uint32(p[4:]),
		})
	}
	return acl, nil
}

// Bytes encodes acl as an xattr value.
func (acl ACL) Bytes() []byte {
	b := make([]byte, aclHeaderSize, aclHeaderSize+aclEntrySize*len(acl))
	binary.LittleEndian.PutUint32(b, aclVersion)
	for _, e := range acl {
		b = binary.LittleEndian.AppendUint16(b, e.Tag)
		b = binary.LittleEndian.AppendUint16(b, e.Perm)
		b = binary.LittleEndian.AppendUint32(b, e.ID)
	}
	return b
}

// Shift returns acl with every named user entry's ID moved through uids
// and every named group entry's through gids, sorted as the kernel
// requires (by tag, then ID: posix_acl_valid), and whether anything moved.
// Two entries that end on the same ID (a mapped one landing on one that
// was left alone) are an error: the kernel would refuse the ACL.
func (acl ACL) Shift(uids, gids idmapmount.IDMap) (ACL, bool, error) {
	out := slices.Clone(acl)
	changed := false
	for i, e := range out {
		var m idmapmount.IDMap
		switch e.Tag {
		case TagUser:
			m = uids
		case TagGroup:
			m = gids
		default:
			continue
		}
		if id, ok := m.Map(e.ID); ok && id != e.ID {
			out[i].ID, changed = id, true
		}
	}
	if !changed {
		return acl, false, nil
	}
	slices.SortStableFunc(out, compareEntries)
	for i := 1; i < len(out); i++ {
		if hasID(out[i].Tag) && compareEntries(out[i-1], out[i]) == 0 {
			return nil, false, fmt.Errorf("%w: two %s entries for ID %d after shifting", ErrACLCollision, tagName(out[i].Tag), out[i].ID)
		}
	}
	return out, true, nil
}

func hasID(tag uint16) bool { return tag == TagUser || tag == TagGroup }

func compareEntries(a, b ACLEntry) int {
	if a.Tag != b.Tag {
		return int(a.Tag) - int(b.Tag)
	}
	if !hasID(a.Tag) {
		return 0
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

func tagName(tag uint16) string {
	if tag == TagUser {
		return "user"
	}
	return "group"
}

// IDs calls fn for the ID of every named user (uid true) and named group
// entry.
func (acl ACL) IDs(fn func(id uint32, uid bool)) {
	for _, e := range acl {
		if hasID(e.Tag) {
			fn(e.ID, e.Tag == TagUser)
		}
	}
}
