package chownfallback

import (
	"errors"

	"golang.org/x/sys/unix"
)

// errMessage is err's text with a hint where the cause is known.
func errMessage(err error) string {
	if h := hint(err); h != "" {
		return err.Error() + " (hint: " + h + ")"
	}
	return err.Error()
}

func hint(err error) string {
	switch {
	case errors.Is(err, unix.EPERM):
		return "the inode may be immutable or append-only (lsattr); chattr -i -a it and run again"
	case errors.Is(err, unix.EROFS):
		return "the filesystem is read-only; remount it read-write and run again"
	case errors.Is(err, unix.EOPNOTSUPP):
		return "the filesystem lacks the xattr support shift needs (trusted.* to keep setuid bits and capabilities safe across a crash, system.posix_acl_*)"
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		return "no room for the xattr; free space and run again"
	case errors.Is(err, ErrACLCollision):
		return "the ACL names both an ID and the ID it maps to; fix the ACL (setfacl) and run again"
	}
	return ""
}
