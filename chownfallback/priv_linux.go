package chownfallback

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// shiftCaps are the capabilities a shift uses: chown any inode, change
// xattrs and modes of inodes it does not own, keep setgid bits, write
// security.capability and the trusted.* crash record.
var shiftCaps = []struct {
	bit  uint
	name string
}{
	{unix.CAP_CHOWN, "CAP_CHOWN"},
	{unix.CAP_FOWNER, "CAP_FOWNER"},
	{unix.CAP_FSETID, "CAP_FSETID"},
	{unix.CAP_SETFCAP, "CAP_SETFCAP"},
	{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
}

// checkPrivileges refuses up front a caller that lacks one of shiftCaps,
// so that a shift without them changes nothing instead of failing on
// every inode with EPERM.
func checkPrivileges() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	var missing []string
	for _, c := range shiftCaps {
		if data[c.bit/32].Effective&(1<<(c.bit%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s; nothing was changed (hint: run as root; --dry-run works without them)",
			ErrNotPrivileged, strings.Join(missing, ", "))
	}
	return nil
}
