package testutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// FUSEType is the filesystem type of the mounts FUSE makes.
const FUSEType = "fuse.idmapkit-test"

// FUSE mounts a FUSE filesystem served by this process on a new directory
// under parent and returns it. Its only inode is its root directory, owned
// 0:0 and mode 0755, empty. With allowIDMap the server opts in to idmapped
// mounts (FUSE_ALLOW_IDMAP in its INIT reply, Linux 6.12, which needs the
// default_permissions mount option, given here); without, it does not, as
// most FUSE servers today. Support for idmapped mounts is per FUSE
// connection, so two such mounts side by side are the test of probing per
// mount rather than per filesystem type.
//
// The server speaks just enough of the protocol (INIT, GETATTR, STATFS,
// OPENDIR/READDIR/RELEASEDIR of an empty root; ENOENT for LOOKUP, ENOSYS
// for the rest). It is unmounted and stopped at cleanup.
func FUSE(t testing.TB, parent string, allowIDMap bool) string {
	t.Helper()
	RequireMountNS(t)
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		Unavailable(t, "open /dev/fuse: %v (FUSE needs the fuse module and the /dev/fuse node, c 10 229)", err)
	}
	dir, err := os.MkdirTemp(parent, "fuse")
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fd)
	if err := unix.Mount("idmapkit-test", dir, FUSEType, unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		unix.Close(fd)
		t.Fatalf("mount %s on %s (%s): %v", FUSEType, dir, opts, err)
	}
	done := make(chan error, 1)
	go func() { done <- serveFUSE(fd, allowIDMap) }()
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
			t.Errorf("cleanup: umount %s: %v", dir, err)
		}
		// Unmounting ends the connection: the server's read returns
		// ENODEV and it stops.
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("FUSE server of %s: %v", dir, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("FUSE server of %s did not stop after the unmount", dir)
		}
		unix.Close(fd)
	})
	return filepath.Clean(dir)
}

// The FUSE protocol's numbers used here (include/uapi/linux/fuse.h).
const (
	fuseLookup      = 1
	fuseForget      = 2
	fuseGetattr     = 3
	fuseStatfs      = 17
	fuseInit        = 26
	fuseOpendir     = 27
	fuseReaddir     = 28
	fuseReleasedir  = 29
	fuseInterrupt   = 36
	fuseDestroy     = 38
	fuseBatchForget = 42
	fuseReaddirplus = 44

	fuseInitExt    = 1 << 30 // flags: flags2 is valid
	fuseAllowIDMap = 1 << 8  // flags2: FUSE_ALLOW_IDMAP (1<<40) >> 32

	fuseInHeaderLen = 40
	fuseRootID      = 1
)

// serveFUSE answers requests on a /dev/fuse fd until the connection ends.
func serveFUSE(fd int, allowIDMap bool) error {
	buf := make([]byte, 1<<20+4096)
	le := binary.LittleEndian
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR || err == unix.ENOENT: // ENOENT: an interrupted request
			continue
		case err == unix.ENODEV:
			return nil // unmounted
		case err != nil:
			return fmt.Errorf("read /dev/fuse: %w", err)
		case n < fuseInHeaderLen:
			return fmt.Errorf("short FUSE request: %d bytes", n)
		}
		op, unique, body := le.Uint32(buf[4:]), le.Uint64(buf[8:]), buf[fuseInHeaderLen:n]
		var reply []byte
		var errno unix.Errno
		switch op {
		case fuseForget, fuseBatchForget, fuseInterrupt:
			continue // no reply
		case fuseInit:
			reply = make([]byte, 64)
			le.PutUint32(reply[0:], le.Uint32(body[0:])) // major
			le.PutUint32(reply[4:], le.Uint32(body[4:])) // minor
			le.PutUint32(reply[8:], le.Uint32(body[8:])) // max_readahead
			le.PutUint32(reply[12:], fuseInitExt)        // flags
			le.PutUint16(reply[16:], 16)                 // max_background
			le.PutUint16(reply[18:], 12)                 // congestion_threshold
			le.PutUint32(reply[20:], 128<<10)            // max_write
			le.PutUint32(reply[24:], 1)                  // time_gran
			le.PutUint16(reply[28:], 32)                 // max_pages
			if allowIDMap {
				le.PutUint32(reply[32:], fuseAllowIDMap) // flags2
			}
		case fuseGetattr:
			reply = make([]byte, 104)            // fuse_attr_out, attr_valid 0: always asked
			le.PutUint64(reply[16:], fuseRootID) // ino
			le.PutUint32(reply[76:], unix.S_IFDIR|0o755)
			le.PutUint32(reply[80:], 2)    // nlink
			le.PutUint32(reply[96:], 4096) // blksize
		case fuseStatfs:
			reply = make([]byte, 80)
			le.PutUint32(reply[40:], 4096) // bsize
			le.PutUint32(reply[44:], 255)  // namelen
			le.PutUint32(reply[48:], 4096) // frsize
		case fuseOpendir:
			reply = make([]byte, 16)
		case fuseReaddir, fuseReaddirplus, fuseReleasedir:
			reply = nil // an empty directory; released
		case fuseLookup:
			errno = unix.ENOENT
		case fuseDestroy:
			if err := writeFUSEReply(fd, unique, 0, nil); err != nil {
				return err
			}
			return nil
		default:
			errno = unix.ENOSYS
		}
		if err := writeFUSEReply(fd, unique, errno, reply); err != nil {
			return err
		}
	}
}

func writeFUSEReply(fd int, unique uint64, errno unix.Errno, payload []byte) error {
	out := make([]byte, 16+len(payload))
	le := binary.LittleEndian
	le.PutUint32(out[0:], uint32(len(out)))
	le.PutUint32(out[4:], uint32(-int32(errno)))
	le.PutUint64(out[8:], unique)
	copy(out[16:], payload)
	_, err := unix.Write(fd, out)
	if errors.Is(err, unix.ENOENT) { // the request was interrupted
		return nil
	}
	if errors.Is(err, unix.ENODEV) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write /dev/fuse: %w", err)
	}
	return nil
}

// RequireKernel needs Linux major.minor or later, for what (a feature the
// test relies on).
func RequireKernel(t testing.TB, major, minor int, what string) {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", release, err)
	}
	if ma < major || ma == major && mi < minor {
		Unavailable(t, "needs Linux %d.%d or later (%s); this is %s", major, minor, what, release)
	}
}
