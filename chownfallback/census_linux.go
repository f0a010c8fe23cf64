package chownfallback

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// counter is the visitor of TakeCensus: one per worker.
type counter struct {
	uids, gids tally
	aclEntries uint64
	caps       uint64
}

// TakeCensus counts the uids and gids used under dir on dir's mount:
// owners, named ACL entries (access and default) and the owners of file
// capabilities (root, 0, for v2 ones). It changes nothing. Jobs is the
// number of directories read at once (0: the number of CPUs); seen, if
// not nil, counts the inodes as they are seen.
func TakeCensus(dir string, jobs int, seen *atomic.Uint64) (*Census, error) {
	start := time.Now()
	root, _, err := openRoot(dir, false)
	if err != nil {
		return nil, err
	}
	workers, err := walk(root, dir, jobsOf(jobs), seen, func() visitor { return &counter{uids: tally{}, gids: tally{}} })
	if err != nil {
		return nil, err
	}
	c := &Census{Dir: dir, MountPoints: []string{}, Errors: []*InodeError{}}
	uids, gids := tally{}, tally{}
	var errs errorList
	for _, k := range workers {
		v := k.v.(*counter)
		c.Inodes += k.seen
		c.ACLEntries += v.aclEntries
		c.Capabilities += v.caps
		uids.merge(v.uids)
		gids.merge(v.gids)
		c.MountPoints = append(c.MountPoints, k.mounts...)
		for _, e := range k.errs.kept {
			errs.add(e)
		}
		errs.count += k.errs.count - uint64(len(k.errs.kept))
	}
	c.UIDs, c.GIDs = uids.ranges(), gids.ranges()
	c.ErrorCount, c.Errors = errs.count, append(c.Errors, errs.kept...)
	c.Seconds = time.Since(start).Seconds()
	return c, failure(c.ErrorCount, c.Errors)
}

func (c *counter) dir(k *worker, d *dirHandle, st *unix.Statx_t) {
	n := fdNode{fd: d.fd}
	list, err := n.list(&k.xbuf)
	if err != nil && err != unix.EOPNOTSUPP {
		k.fail(d.path(), "flistxattr", err)
	}
	c.count(k, n, d.path(), st, parseXattrNames(list))
}

func (c *counter) entry(k *worker, d *dirHandle, n name, st *unix.Statx_t) {
	var x xattrNames
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		list, err := k.listAt(d, n)
		if err != nil && err != unix.EOPNOTSUPP {
			k.fail(d.join(n.String()), "listxattr", err)
		}
		x = parseXattrNames(list)
	}
	if !x.access && !x.dflt && !x.caps {
		c.uids[st.Uid]++
		c.gids[st.Gid]++
		return
	}
	// Read the xattrs through a pinned fd, so that what is counted
	// belongs to the inode that was statted.
	path := d.join(n.String())
	fd, err := unix.Openat(d.fd, n.String(), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err != unix.ENOENT {
			k.fail(path, "open", err)
		}
		return
	}
	defer unix.Close(fd)
	var pst unix.Statx_t
	if err := statAt(fd, "", &pst); err != nil {
		k.fail(path, "statx", err)
		return
	}
	c.count(k, newPathNode(fd), path, &pst, x)
}

// count adds one inode's owner, ACL entries and capability owner.
func (c *counter) count(k *worker, n node, path string, st *unix.Statx_t, x xattrNames) {
	c.uids[st.Uid]++
	c.gids[st.Gid]++
	for _, attr := range []struct {
		name string
		has  bool
	}{{XattrACLAccess, x.access}, {XattrACLDefault, x.dflt}} {
		if !attr.has {
			continue
		}
		b, err := getOptional(n, attr.name, &k.vbuf)
		if err != nil {
			k.fail(path, "read "+attr.name, err)
			continue
		}
		acl, err := ParseACL(b)
		if err != nil {
			if b != nil {
				k.fail(path, "decode "+attr.name, err)
			}
			continue
		}
		acl.IDs(func(id uint32, uid bool) {
			c.aclEntries++
			if uid {
				c.uids[id]++
			} else {
				c.gids[id]++
			}
		})
	}
	if x.caps {
		b, err := getOptional(n, XattrCaps, &k.vbuf)
		if err != nil || b == nil {
			if err != nil {
				k.fail(path, "read "+XattrCaps, err)
			}
			return
		}
		caps, err := ParseCaps(b)
		if err != nil {
			k.fail(path, "decode "+XattrCaps, err)
			return
		}
		c.caps++
		c.uids[caps.RootID]++
	}
}
