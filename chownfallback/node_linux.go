package chownfallback

import (
	"golang.org/x/sys/unix"
)

// node is a pinned inode: every operation reaches exactly the inode that
// was opened, whatever happens to its name meanwhile.
type node interface {
	list(buf *[]byte) ([]byte, error)
	get(attr string, buf *[]byte) ([]byte, error)
	set(attr string, val []byte) error
	remove(attr string) error
	chown(uid, gid uint32) error
	chmod(mode uint32) error
}

// fdNode is an inode opened for reading (the walk's directory fds):
// f*xattr, fchown and fchmod work on it directly.
type fdNode struct{ fd int }

func (n fdNode) list(buf *[]byte) ([]byte, error) {
	return growing(buf, func(b []byte) (int, error) { return unix.Flistxattr(n.fd, b) })
}

func (n fdNode) get(attr string, buf *[]byte) ([]byte, error) {
	return growing(buf, func(b []byte) (int, error) { return unix.Fgetxattr(n.fd, attr, b) })
}

func (n fdNode) set(attr string, val []byte) error {
	return retryEINTR(func() error { return unix.Fsetxattr(n.fd, attr, val, 0) })
}

func (n fdNode) remove(attr string) error {
	return retryEINTR(func() error { return unix.Fremovexattr(n.fd, attr) })
}

func (n fdNode) chown(uid, gid uint32) error {
	return retryEINTR(func() error { return unix.Fchown(n.fd, int(uid), int(gid)) })
}

func (n fdNode) chmod(mode uint32) error {
	return retryEINTR(func() error { return unix.Fchmod(n.fd, mode) })
}

// pathNode is an O_PATH fd: a file that must not be opened (a device, a
// FIFO, a socket) or need not be. f*xattr(2) refuse O_PATH fds (EBADF,
// still on 6.18), so the xattr calls and chmod go through the fd's
// /proc/self/fd magic link, which resolves to the pinned inode itself
// (for a symlink: the symlink, not its target). chown uses
// fchownat(AT_EMPTY_PATH), which takes O_PATH fds.
type pathNode struct {
	fd   int
	proc string
}

func newPathNode(fd int) pathNode { return pathNode{fd: fd, proc: procFD(fd)} }

func (n pathNode) list(buf *[]byte) ([]byte, error) {
	return growing(buf, func(b []byte) (int, error) { return unix.Listxattr(n.proc, b) })
}

func (n pathNode) get(attr string, buf *[]byte) ([]byte, error) {
	return growing(buf, func(b []byte) (int, error) { return unix.Getxattr(n.proc, attr, b) })
}

func (n pathNode) set(attr string, val []byte) error {
	return retryEINTR(func() error { return unix.Setxattr(n.proc, attr, val, 0) })
}

func (n pathNode) remove(attr string) error {
	return retryEINTR(func() error { return unix.Removexattr(n.proc, attr) })
}

func (n pathNode) chown(uid, gid uint32) error {
	return retryEINTR(func() error { return unix.Fchownat(n.fd, "", int(uid), int(gid), unix.AT_EMPTY_PATH) })
}

func (n pathNode) chmod(mode uint32) error {
	return retryEINTR(func() error { return unix.Chmod(n.proc, mode) })
}
