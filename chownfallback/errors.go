package chownfallback

import "errors"

// Sentinel errors. Wrapped errors from this package match them with
// errors.Is, and failed system calls also match their errno.
var (
	// ErrOverlap is returned for a mapping whose on-disk (from) and
	// presented (to) ranges overlap: an ID could then not tell whether it
	// was already shifted, and a rerun after a crash could shift it twice.
	ErrOverlap = errors.New("mapping's from and to ranges overlap")
	// ErrNotDir is returned when the tree's root is not a directory.
	ErrNotDir = errors.New("the root of the tree must be a directory")
	// ErrNotPrivileged is returned, before anything is changed, when the
	// caller lacks a capability a shift needs.
	ErrNotPrivileged = errors.New("shifting owners needs root")
	// ErrReadOnly is returned when the tree is on a read-only mount.
	ErrReadOnly = errors.New("read-only mount")
	// ErrUnmapped is returned with Options.Unmapped == UnmappedFail when
	// the tree holds IDs in no extent of the mapping.
	ErrUnmapped = errors.New("IDs outside the mapping")
	// ErrIncomplete is returned when some inodes could not be changed; the
	// Result lists them, and running again after fixing the cause finishes
	// the job.
	ErrIncomplete = errors.New("some inodes could not be shifted")
	// ErrBadXattr is returned for an ACL or capability xattr that cannot
	// be decoded.
	ErrBadXattr = errors.New("malformed xattr")
	// ErrACLCollision is returned when shifting an ACL would give it two
	// entries for the same ID.
	ErrACLCollision = errors.New("ACL entries collide")
)
