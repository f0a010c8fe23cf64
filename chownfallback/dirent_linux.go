package chownfallback

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// dirent is one entry of a getdents64 buffer.
type dirent struct {
	name []byte // in the getdents buffer: valid until the next read
	typ  uint8  // DT_*; DT_UNKNOWN where the filesystem does not say
}

// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8,
// then the NUL-terminated name.
const (
	direntReclenOff = 16
	direntTypeOff   = 18
	direntNameOff   = 19
)

// parseDirents appends the entries in buf (as filled by getdents64) to
// out, leaving out "." and "..".
func parseDirents(buf []byte, out []dirent) []dirent {
	for len(buf) >= direntNameOff {
		reclen := int(binary.NativeEndian.Uint16(buf[direntReclenOff:]))
		if reclen < direntNameOff || reclen > len(buf) {
			break
		}
		name := buf[direntNameOff:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if !isDots(name) {
			out = append(out, dirent{name: name, typ: buf[direntTypeOff]})
		}
		buf = buf[reclen:]
	}
	return out
}

// readDirents reads the next batch of entries of the directory fd; an
// empty result means the end.
//
// Only getdents64 returning 0 bytes means the end: a batch may hold
// nothing but "." and "..", because the kernel cuts a batch short when a
// signal is pending once it has filled in one entry (fs/readdir.c,
// filldir64), and the Go runtime's preemption signals (SIGURG) make that
// common under load. Such a batch is read past, not taken for the end.
func readDirents(fd int, buf []byte, out []dirent) ([]dirent, error) {
	for {
		var n int
		err := retryEINTR(func() (err error) { n, err = unix.Getdents(fd, buf); return err })
		if err != nil || n == 0 {
			return out, err
		}
		if out = parseDirents(buf[:n], out); len(out) > 0 {
			return out, nil
		}
	}
}

func isDots(name []byte) bool {
	return len(name) == 1 && name[0] == '.' || len(name) == 2 && name[0] == '.' && name[1] == '.'
}
