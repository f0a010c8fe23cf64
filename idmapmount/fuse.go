package idmapmount

import "strings"

// IsFUSE reports whether fstype, as the mount table gives it, is a FUSE
// filesystem ("fuse", "fuseblk" or "fuse.SUBTYPE"). Whether a FUSE mount
// can be idmapped depends on its server, not on the type: Linux 6.12 lets
// a server opt in (FUSE_ALLOW_IDMAP, with the default_permissions mount
// option), and most do not.
func IsFUSE(fstype string) bool {
	return fstype == "fuse" || fstype == "fuseblk" || strings.HasPrefix(fstype, "fuse.") || strings.HasPrefix(fstype, "fuseblk.")
}

// FUSENoOptIn explains an EINVAL from mount_setattr on a FUSE mount.
const FUSENoOptIn = "its FUSE server did not opt in to idmapped mounts (FUSE_ALLOW_IDMAP with default_permissions, Linux 6.12+); support is per FUSE mount"
