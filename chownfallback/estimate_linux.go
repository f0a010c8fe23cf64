package chownfallback

import (
	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// EstimateInodes returns how many inodes a walk of dir will see, when
// that can be known without walking: dir is the mount point of a whole
// filesystem (not a bind mount of part of one), whose statfs counts its
// used inodes. Filesystems that count none (btrfs) give false. It is for
// a progress bar: submounts and hardlinks make the count approximate.
func EstimateInodes(dir string) (uint64, bool) {
	m, abs, err := idmapmount.MountOf(dir)
	if err != nil || m.Root != "/" || m.Mountpoint != abs {
		return 0, false
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(abs, &sfs); err != nil || sfs.Files == 0 || sfs.Ffree > sfs.Files {
		return 0, false
	}
	return sfs.Files - sfs.Ffree, true
}
