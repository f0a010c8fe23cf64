// Package chownfallback rewrites the ownership of a directory tree on disk
// as an idmapped mount with the same mapping would present it (a
// "shifting chown"), and counts the IDs a tree uses.
//
// Shift moves every owner, every named user and group entry of the POSIX
// ACLs and the owner of every file capability: with the mapping
// b:0:100000:65536 a file owned 0:0 becomes 100000:100000, an ACL entry
// for user 5 becomes one for 100005, and a capability set by root becomes
// one owned by rootid 100000 (a v3 capability). Setuid and setgid bits,
// which chown(2) clears, and the capabilities it removes are put back
// exactly. Mode bits, contents, timestamps other than ctime, other xattrs
// and symlink targets are never changed.
//
// Safety: the walk never follows a symlink and never reaches an inode by
// a path of more than one component: directories are opened with
// openat(O_NOFOLLOW|O_DIRECTORY) relative to their parent's fd, and every
// change is made by fd or by name relative to a pinned directory with
// AT_SYMLINK_NOFOLLOW. A process inside the tree that renames directories
// or swaps them for symlinks during the walk cannot make it touch an inode
// outside the tree. Mount points are not crossed.
//
// Crash consistency: mappings whose from and to ranges overlap are refused,
// so every ID tells whether it was already shifted and a rerun skips it.
// The one change a rerun could not redo, the setuid/setgid bits and the
// capability that chown(2) clears, is recorded in a trusted.* xattr on the
// inode before the chown and removed after they are restored (see
// XattrRecord); a rerun finishes from it. See README.md in this directory
// for the exact guarantee.
//
// Kernel floor: Linux 5.8 (statx STATX_MNT_ID); Linux 6.13 lists xattrs by
// name (listxattrat) and is faster, older kernels go through /proc/self/fd.
// Needs root and a mounted /proc, and a filesystem with trusted.* xattrs
// (ext4, xfs, btrfs, tmpfs, ...) for trees that hold setuid files or
// capabilities.
//
// When not to use it: where idmapped mounts work, prefer them (package
// idmapmount): they change nothing on disk and cost nothing per inode. On
// overlayfs a chown copies every file up; shift the layers instead. Do not
// shift a tree that running containers use: they would see owners change
// under them.
//
// Mount and Overlay apply an idmapped mount where possible and otherwise,
// with FallbackChown, shift in place (Mount: this changes the source on
// disk) or use shifted copies of the layers from an immutable Cache
// (Overlay: the shared image is never changed).
package chownfallback
