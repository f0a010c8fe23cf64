package chownfallback

import (
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The walk: Jobs goroutines, each with a stack of directories to read
// (see queue_linux.go). A directory is entered with openat(O_NOFOLLOW |
// O_DIRECTORY) relative to its parent's fd and never by path, so a rename
// or a symlink swapped in by a process inside the tree cannot lead it
// outside. Memory is bounded by the pending directories (a name and a
// reference to the parent's fd each), not by the number of inodes; the
// only per-inode state is the set of hardlinked inodes already seen.

// visitor is what a walk does with each inode. A walk runs one visitor
// per worker, so visitors need no locking.
type visitor interface {
	// dir is called for every directory, pinned by d.fd.
	dir(k *worker, d *dirHandle, st *unix.Statx_t)
	// entry is called for every other inode: n in directory d, statted
	// by name (st).
	entry(k *worker, d *dirHandle, n name, st *unix.Statx_t)
}

// dirHandle is an open directory shared by the jobs for its
// subdirectories; the last reference closes it.
type dirHandle struct {
	fd int
	// parent and name make the path, for messages only (never used to
	// reach the directory), built on demand: most directories never need
	// it. The root has no parent and its path as name.
	parent *dirHandle
	name   string
	refs   atomic.Int32
}

func (d *dirHandle) path() string {
	if d.parent == nil {
		return d.name
	}
	return d.parent.join(d.name)
}

func (d *dirHandle) join(name string) string { return d.path() + "/" + name }

func (d *dirHandle) release() {
	if d.refs.Add(-1) == 0 {
		unix.Close(d.fd)
	}
}

// job is a directory to walk: name in parent. retries counts how often it
// turned out not to be a directory any more (a concurrent swap).
type job struct {
	parent  *dirHandle
	name    string
	retries int
	batch   []batchEntry // if set, the job is these entries of parent, not a directory to open

	root   *dirHandle // if set, the job is the tree's root, already open
	rootSt *unix.Statx_t
}

// batchEntry is an entry handed to another worker (see enter).
type batchEntry struct {
	name string
	typ  uint8
}

// minHandOff is the smallest batch of entries worth handing to an idle
// worker: less is done sooner than the hand-off costs.
const minHandOff = 64

// maxSwaps bounds how often one entry may flip between directory and
// non-directory under the walk before it is reported instead of retried:
// an attacker inside the tree must not keep a worker busy forever.
const maxSwaps = 3

type walker struct {
	rootMnt  uint64
	fastList bool // the kernel has listxattrat(2)
	seen     *atomic.Uint64

	queue queue

	linkMu sync.Mutex
	links  map[fileID]struct{}
}

type fileID struct {
	dev uint64
	ino uint64
}

// worker is one goroutine of a walk, with its buffers and what it found.
type worker struct {
	id     int
	w      *walker
	v      visitor
	dbuf   []byte
	ents   []dirent
	st     unix.Statx_t // of the current non-directory entry
	cbuf   []byte       // the NUL-terminated name of the current entry
	xbuf   []byte       // xattr names
	vbuf   []byte       // xattr values
	errs   errorList
	mounts []string
	seen   uint64
	unseen uint64 // not yet added to w.seen
}

// walk walks the directory root (opened, and owned by the walk: it is
// closed at the end) with one visitor per worker from newVisitor.
func walk(root int, rootPath string, jobs int, seen *atomic.Uint64, newVisitor func() visitor) ([]*worker, error) {
	var st unix.Statx_t
	if err := statAt(root, "", &st); err != nil {
		unix.Close(root)
		return nil, fmt.Errorf("statx %s: %w", rootPath, err)
	}
	w := &walker{rootMnt: st.Mnt_id, fastList: haveListxattrat(root) && !forceProcList, seen: seen, links: map[fileID]struct{}{}}
	w.queue.init(max(jobs, 1))
	h := &dirHandle{fd: root, name: rootPath}
	h.refs.Store(1)
	w.queue.push(0, job{root: h, rootSt: &st})
	workers := make([]*worker, max(jobs, 1))
	var wg sync.WaitGroup
	for i := range workers {
		k := &worker{id: i, w: w, v: newVisitor(), dbuf: make([]byte, 64<<10), cbuf: make([]byte, 0, 256), xbuf: make([]byte, 256), vbuf: make([]byte, 256)}
		workers[i] = k
		wg.Add(1)
		go func() { defer wg.Done(); k.run() }()
	}
	wg.Wait()
	for _, k := range workers {
		k.flushSeen()
	}
	return workers, nil
}

func (k *worker) run() {
	for {
		j, ok := k.w.queue.pop(k.id)
		if !ok {
			return
		}
		k.open(j)
		k.w.queue.done()
	}
}

// claim reports whether this is the first sight of a hardlinked inode.
func (w *walker) claim(st *unix.Statx_t) bool {
	id := fileID{dev: uint64(st.Dev_major)<<32 | uint64(st.Dev_minor), ino: st.Ino}
	w.linkMu.Lock()
	defer w.linkMu.Unlock()
	if _, ok := w.links[id]; ok {
		return false
	}
	w.links[id] = struct{}{}
	return true
}

// open enters the directory of job j.
func (k *worker) open(j job) {
	if j.root != nil {
		k.enter(j.root, j.rootSt)
		return
	}
	defer j.parent.release()
	if j.batch != nil {
		for _, e := range j.batch {
			k.entry(j.parent, []byte(e.name), e.typ, 0)
		}
		return
	}
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Openat(j.parent.fd, j.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		return err
	})
	switch {
	case err == unix.ENOENT:
		return // removed or renamed since it was listed
	case err == unix.ENOTDIR || err == unix.ELOOP:
		// Swapped for a non-directory (a symlink: ELOOP) since it was
		// listed: take it as what it is now.
		if j.retries < maxSwaps {
			k.entry(j.parent, []byte(j.name), unix.DT_UNKNOWN, j.retries+1)
			return
		}
		k.fail(j.parent.join(j.name), "open directory", fmt.Errorf("changed type %d times while being walked: %w", maxSwaps, err))
		return
	case err != nil:
		k.fail(j.parent.join(j.name), "open directory", err)
		return
	}
	h := &dirHandle{fd: fd, parent: j.parent, name: j.name}
	h.refs.Store(1)
	var st unix.Statx_t
	if err := statAt(fd, "", &st); err != nil {
		k.fail(h.path(), "statx", err)
		h.release()
		return
	}
	k.enter(h, &st)
}

// enter visits the open directory h and walks its entries; it releases h.
func (k *worker) enter(h *dirHandle, st *unix.Statx_t) {
	defer h.release()
	if st.Mnt_id != k.w.rootMnt {
		k.mounts = append(k.mounts, h.path())
		return
	}
	k.count()
	k.v.dir(k, h, st)
	for {
		ents, err := readDirents(h.fd, k.dbuf, k.ents[:0])
		k.ents = ents
		if err != nil {
			k.fail(h.path(), "getdents64", err)
			return
		}
		if len(ents) == 0 {
			return
		}
		if len(ents) >= minHandOff && k.w.queue.hungry() {
			// A worker waits for work while this one has a large
			// directory: give it this batch and read on.
			k.handOff(h, ents)
			continue
		}
		for _, e := range ents {
			k.entry(h, e.name, e.typ, 0)
		}
	}
}

// entry handles b in d: a directory is queued, anything else visited.
func (k *worker) entry(d *dirHandle, b []byte, typ uint8, retries int) {
	if typ == unix.DT_DIR {
		k.push(job{parent: d, name: string(b), retries: retries})
		return
	}
	n := k.name(b)
	st := &k.st // a local would escape to the heap: one allocation per inode
	if err := statxName(d.fd, n.c, st); err != nil {
		if err != unix.ENOENT {
			k.fail(d.join(n.String()), "statx", err)
		}
		return
	}
	switch {
	case st.Mnt_id != k.w.rootMnt:
		k.mounts = append(k.mounts, d.join(n.String())) // a file bind-mounted here
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		k.push(job{parent: d, name: n.String(), retries: retries})
	case st.Nlink > 1 && !k.w.claim(st):
		// another link to an inode already visited
	default:
		k.count()
		k.v.entry(k, d, n, st)
	}
}
