package chownfallback

import (
	"errors"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Thin system-call helpers. Every path given to them is a single name
// relative to a pinned directory fd, or a /proc/self/fd magic link: the
// walk never resolves a multi-component path inside the tree.

// statxMask is what the walk needs of every inode.
const statxMask = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_UID | unix.STATX_GID |
	unix.STATX_INO | unix.STATX_NLINK | unix.STATX_MNT_ID

// retryEINTR runs f until it returns something other than EINTR.
func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

// statAt is statx of name in dir, not following a final symlink or
// triggering an automount; with name "" it stats dir itself.
func statAt(dir int, name string, st *unix.Statx_t) error {
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	return retryEINTR(func() error { return unix.Statx(dir, name, flags, statxMask, st) })
}

// procFD is the magic link to fd: a path that reaches exactly the inode fd
// holds (also for an O_PATH fd, which f*xattr(2) refuse with EBADF).
func procFD(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// The per-inode calls of the walk take the name as a NUL-terminated byte
// pointer (see worker.name), so that they allocate nothing.

// statxName is statAt for a name already NUL-terminated.
func statxName(dir int, name *byte, st *unix.Statx_t) error {
	return retryEINTR(func() error {
		_, _, e := unix.RawSyscall6(unix.SYS_STATX, uintptr(dir), uintptr(unsafe.Pointer(name)),
			unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, statxMask, uintptr(unsafe.Pointer(st)), 0)
		return errnoErr(e)
	})
}

// fchownatName is fchownat(AT_SYMLINK_NOFOLLOW) of a NUL-terminated name.
func fchownatName(dir int, name *byte, uid, gid uint32) error {
	return retryEINTR(func() error {
		_, _, e := unix.RawSyscall6(unix.SYS_FCHOWNAT, uintptr(dir), uintptr(unsafe.Pointer(name)),
			uintptr(uid), uintptr(gid), unix.AT_SYMLINK_NOFOLLOW, 0)
		return errnoErr(e)
	})
}

// listxattrName is listxattrat(2) (Linux 6.13) of a NUL-terminated name
// in dir, not following a final symlink.
func listxattrName(dir int, name *byte, buf []byte) (int, error) {
	var b unsafe.Pointer
	if len(buf) > 0 {
		b = unsafe.Pointer(&buf[0])
	}
	var n uintptr
	err := retryEINTR(func() error {
		r, _, e := unix.RawSyscall6(unix.SYS_LISTXATTRAT, uintptr(dir), uintptr(unsafe.Pointer(name)),
			unix.AT_SYMLINK_NOFOLLOW, uintptr(b), uintptr(len(buf)), 0)
		n = r
		return errnoErr(e)
	})
	return int(n), err
}

// errnoErr turns a raw errno into an error (nil for 0) that compares
// equal to the unix.E* values.
func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// forceProcList makes the walk list xattrs as on kernels before 6.13;
// tests set it to cover that path.
var forceProcList = false

// haveListxattrat reports whether the kernel has listxattrat(2); without
// it the walk lists xattrs through /proc/self/fd/DIR/NAME, which is slower.
func haveListxattrat(dir int) bool {
	dot := []byte{'.', 0}
	_, err := listxattrName(dir, &dot[0], nil)
	return !errors.Is(err, unix.ENOSYS)
}

// growing calls f with a buffer, growing it while f reports ERANGE, and
// returns the filled part. *buf is reused across calls.
func growing(buf *[]byte, f func([]byte) (int, error)) ([]byte, error) {
	for {
		n, err := f(*buf)
		if err == nil {
			return (*buf)[:n], nil
		}
		if err != unix.ERANGE {
			return nil, err
		}
		// Ask for the size, then retry with room to spare for a value
		// that grows in between.
		size, err := f(nil)
		if err != nil {
			return nil, err
		}
		*buf = make([]byte, size+256)
	}
}

// xattrNames says which of the xattrs a shift cares about a listxattr
// result names.
type xattrNames struct{ access, dflt, caps, record bool }

func (x xattrNames) any() bool { return x.access || x.dflt || x.caps || x.record }

func parseXattrNames(list []byte) xattrNames {
	var x xattrNames
	for len(list) > 0 {
		i := 0
		for i < len(list) && list[i] != 0 {
			i++
		}
		switch string(list[:i]) {
		case XattrACLAccess:
			x.access = true
		case XattrACLDefault:
			x.dflt = true
		case XattrCaps:
			x.caps = true
		case XattrRecord:
			x.record = true
		}
		list = list[min(i+1, len(list)):]
	}
	return x
}
