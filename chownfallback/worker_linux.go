package chownfallback

import (
	"golang.org/x/sys/unix"
)

// The worker's helpers for the visitors: entry names without
// allocation, counting, failures, listing xattrs by name, handing off
// work.

// name is a directory entry's name as getdents returned it, with a
// NUL-terminated copy in the worker's buffer for system calls: the
// per-inode calls allocate nothing.
type name struct {
	b []byte
	c *byte
}

func (n name) String() string { return string(n.b) }

func (k *worker) name(b []byte) name {
	k.cbuf = append(append(k.cbuf[:0], b...), 0)
	return name{b: b, c: &k.cbuf[0]}
}

// seenBatch is how many inodes a worker counts before it adds them to the
// shared progress counter, to keep the workers off one cache line.
const seenBatch = 256

func (k *worker) count() {
	k.seen++
	k.unseen++
	if k.unseen == seenBatch {
		k.flushSeen()
	}
}

func (k *worker) flushSeen() {
	if k.w.seen != nil {
		k.w.seen.Add(k.unseen)
	}
	k.unseen = 0
}

func (k *worker) fail(path, step string, err error) {
	k.errs.add(&InodeError{Path: path, Step: step, Err: err, Msg: errMessage(err)})
}

// listAt lists the xattrs of n in d without following a symlink.
func (k *worker) listAt(d *dirHandle, n name) ([]byte, error) {
	if k.w.fastList {
		return growing(&k.xbuf, func(b []byte) (int, error) { return listxattrName(d.fd, n.c, b) })
	}
	p := procFD(d.fd) + "/" + n.String()
	return growing(&k.xbuf, func(b []byte) (int, error) { return unix.Llistxattr(p, b) })
}

// push queues the directory j on k's stack.
func (k *worker) push(j job) {
	j.parent.refs.Add(1)
	k.w.queue.push(k.id, j)
}

// handOff queues a copy of ents, entries of h, for another worker.
func (k *worker) handOff(h *dirHandle, ents []dirent) {
	batch := make([]batchEntry, len(ents))
	for i, e := range ents {
		batch[i] = batchEntry{name: string(e.name), typ: e.typ}
	}
	k.push(job{parent: h, batch: batch})
}
