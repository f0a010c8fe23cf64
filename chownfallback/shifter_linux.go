package chownfallback

import (
	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// shifter is the visitor of Shift: one per worker.
type shifter struct {
	m, inv idmapmount.Mapping // inv tells an ID already shifted from one in no extent
	dry    bool
	after  func()

	changed, done, restored, unmapped uint64
	unUID, unGID                      tally
}

func newShifter(m idmapmount.Mapping, opts Options) *shifter {
	after := opts.AfterWrite
	if after == nil {
		after = func() {}
	}
	return &shifter{m: m, inv: m.Inverse(), dry: opts.DryRun, after: after, unUID: tally{}, unGID: tally{}}
}

// mapID returns the ID id moves to, and whether it is in no extent, that
// is neither to be shifted nor already shifted.
func mapID(m, inv idmapmount.IDMap, id uint32) (uint32, bool) {
	if n, ok := m.Map(id); ok {
		return n, false
	}
	_, shifted := inv.Map(id)
	return id, !shifted
}

func (s *shifter) uid(id uint32, unmapped *bool) uint32 {
	n, un := mapID(s.m.UID, s.inv.UID, id)
	if un {
		s.unUID[id]++
		*unmapped = true
	}
	return n
}

func (s *shifter) gid(id uint32, unmapped *bool) uint32 {
	n, un := mapID(s.m.GID, s.inv.GID, id)
	if un {
		s.unGID[id]++
		*unmapped = true
	}
	return n
}

// dir shifts a directory through its own fd.
func (s *shifter) dir(k *worker, d *dirHandle, st *unix.Statx_t) {
	n := fdNode{fd: d.fd}
	list, err := n.list(&k.xbuf)
	if err != nil && err != unix.EOPNOTSUPP {
		k.fail(d.path(), "flistxattr", err)
		return
	}
	s.shiftNode(k, n, d.path(), st, parseXattrNames(list))
}

// entry shifts a non-directory. The common case, an inode with no ACL, no
// capability and no setuid or setgid bit, takes one listxattrat and one
// fchownat by name (the kernel's chown drops setuid, setgid and
// capabilities from whatever inode it reaches, so a swap under the walk
// cannot hand out privilege). Anything else is opened with O_PATH and
// handled by fd.
func (s *shifter) entry(k *worker, d *dirHandle, name name, st *unix.Statx_t) {
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	var x xattrNames
	if !isLink { // symlinks carry no ACL or capability, and get no record
		list, err := k.listAt(d, name)
		switch {
		case err == unix.ENOENT:
			return
		case err != nil && err != unix.EOPNOTSUPP:
			k.fail(d.join(name.String()), "listxattr", err)
			return
		}
		x = parseXattrNames(list)
	}
	if x.any() || (!isLink && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0) {
		s.pinned(k, d, name.String())
		return
	}
	var unmapped bool
	uid, gid := s.uid(st.Uid, &unmapped), s.gid(st.Gid, &unmapped)
	if unmapped {
		s.unmapped++
	}
	if uid == st.Uid && gid == st.Gid {
		s.done++
		return
	}
	if !s.dry {
		if err := fchownatName(d.fd, name.c, uid, gid); err != nil {
			if err != unix.ENOENT {
				k.fail(d.join(name.String()), "chown", err)
			}
			return
		}
		s.after()
	}
	s.changed++
}

// pinned opens name in d with O_PATH and shifts it by fd.
func (s *shifter) pinned(k *worker, d *dirHandle, name string) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Openat(d.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		if err != unix.ENOENT {
			k.fail(d.join(name), "open", err)
		}
		return
	}
	defer unix.Close(fd)
	var st unix.Statx_t
	if err := statAt(fd, "", &st); err != nil {
		k.fail(d.join(name), "statx", err)
		return
	}
	if st.Mnt_id != k.w.rootMnt || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		// Swapped for a directory or a mount since it was statted: walk
		// it as what it is now.
		k.push(job{parent: d, name: name, retries: 1})
		return
	}
	n := newPathNode(fd)
	list, err := n.list(&k.xbuf)
	if err != nil && err != unix.EOPNOTSUPP {
		k.fail(d.join(name), "listxattr", err)
		return
	}
	s.shiftNode(k, n, d.join(name), &st, parseXattrNames(list))
}

// shiftNode plans and applies the shift of one pinned inode.
func (s *shifter) shiftNode(k *worker, n node, path string, st *unix.Statx_t, x xattrNames) {
	p, step, err := s.plan(k, n, st, x)
	if err != nil {
		k.fail(path, step, err)
		return
	}
	if p.empty() {
		s.done++
		return
	}
	if !s.dry {
		if step, err := s.apply(n, &p); err != nil {
			k.fail(path, step, err)
			return
		}
	}
	s.changed++
	if p.rec != nil {
		s.restored++
	}
}
