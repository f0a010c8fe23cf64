package chownfallback

import (
	"bytes"
	"slices"

	"golang.org/x/sys/unix"
)

// plan is what one inode needs.
type plan struct {
	uid, gid     uint32
	chown        bool
	access, dflt []byte  // new ACL values; nil: unchanged
	caps         []byte  // the capability the inode must end with; nil: none
	setCaps      bool    // caps must be written
	origCaps     []byte  // the capability from before any chown (for the record)
	mode         uint32  // the permission bits from before any chown
	rec          *record // left by a run that was killed
	guard        bool    // record before the chown: it clears what must come back
}

func (p *plan) empty() bool {
	return !p.chown && p.access == nil && p.dflt == nil && !p.setCaps && p.rec == nil
}

func (s *shifter) plan(k *worker, n node, st *unix.Statx_t, x xattrNames) (p plan, step string, err error) {
	p.mode = uint32(st.Mode) & 0o7777
	if x.record {
		b, err := getOptional(n, XattrRecord, &k.vbuf)
		if err != nil {
			return p, "read " + XattrRecord, err
		}
		if b != nil {
			r, err := parseRecord(b)
			if err != nil {
				return p, "read " + XattrRecord, err
			}
			p.rec, p.mode = &r, r.Mode&0o7777
		}
	}
	var curCaps []byte
	if x.caps {
		if curCaps, err = getOptional(n, XattrCaps, &k.vbuf); err != nil {
			return p, "read " + XattrCaps, err
		}
		curCaps = slices.Clone(curCaps)
	}
	p.origCaps = curCaps
	if p.rec != nil {
		p.origCaps = p.rec.Caps
	}
	var unmapped bool
	p.uid, p.gid = s.uid(st.Uid, &unmapped), s.gid(st.Gid, &unmapped)
	p.chown = p.uid != st.Uid || p.gid != st.Gid
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if p.origCaps != nil {
		c, err := ParseCaps(p.origCaps)
		if err != nil {
			return p, "decode " + XattrCaps, err
		}
		s.uid(c.RootID, &unmapped) // only to count it
		c, _ = c.Shift(s.m.UID)
		p.caps = c.Bytes()
		// chown removes the capability of a non-directory: it must be
		// written back even where its value stays the same.
		p.setCaps = !bytes.Equal(p.caps, curCaps) || (p.chown && !isDir)
	}
	p.guard = !isDir && p.chown && (p.mode&(unix.S_ISUID|unix.S_ISGID) != 0 || p.origCaps != nil)
	if x.access {
		if p.access, err = s.shiftACL(k, n, XattrACLAccess, &unmapped); err != nil {
			return p, "shift " + XattrACLAccess, err
		}
	}
	if x.dflt && isDir {
		if p.dflt, err = s.shiftACL(k, n, XattrACLDefault, &unmapped); err != nil {
			return p, "shift " + XattrACLDefault, err
		}
	}
	if unmapped {
		s.unmapped++
	}
	return p, "", nil
}

// shiftACL returns the shifted value of an ACL xattr, or nil if it stays.
func (s *shifter) shiftACL(k *worker, n node, attr string, unmapped *bool) ([]byte, error) {
	b, err := getOptional(n, attr, &k.vbuf)
	if err != nil || b == nil {
		return nil, err
	}
	acl, err := ParseACL(b)
	if err != nil {
		return nil, err
	}
	acl.IDs(func(id uint32, isUID bool) {
		if isUID {
			s.uid(id, unmapped)
		} else {
			s.gid(id, unmapped)
		}
	})
	out, changed, err := acl.Shift(s.m.UID, s.m.GID)
	if err != nil || !changed {
		return nil, err
	}
	return out.Bytes(), nil
}

// apply writes a plan, in the order that keeps it crash-safe: the record
// first, the chown, then what the chown cleared, and the record's removal
// last. Every step can be repeated by a rerun.
func (s *shifter) apply(n node, p *plan) (step string, err error) {
	haveRec := p.rec != nil
	do := func(name string, f func() error) bool {
		if err = f(); err != nil {
			step = name
			return false
		}
		s.after()
		return true
	}
	if p.guard && !haveRec {
		rec := record{Mode: p.mode, Caps: p.origCaps}
		if !do("write "+XattrRecord, func() error { return n.set(XattrRecord, rec.bytes()) }) {
			return
		}
		haveRec = true
	}
	if p.access != nil && !do("set "+XattrACLAccess, func() error { return n.set(XattrACLAccess, p.access) }) {
		return
	}
	if p.dflt != nil && !do("set "+XattrACLDefault, func() error { return n.set(XattrACLDefault, p.dflt) }) {
		return
	}
	if p.chown && !do("chown", func() error { return n.chown(p.uid, p.gid) }) {
		return
	}
	if p.setCaps && !do("restore "+XattrCaps, func() error { return n.set(XattrCaps, p.caps) }) {
		return
	}
	if haveRec {
		if !do("restore mode", func() error { return n.chmod(p.mode) }) {
			return
		}
		do("remove "+XattrRecord, func() error { return n.remove(XattrRecord) })
	}
	return
}

// getOptional reads an xattr; a missing one (ENODATA) is nil.
func getOptional(n node, attr string, buf *[]byte) ([]byte, error) {
	b, err := n.get(attr, buf)
	if err == unix.ENODATA {
		return nil, nil
	}
	return b, err
}
