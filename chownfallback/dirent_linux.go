package chownfallback

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// dirent is one entry of a getdents64 buffer.
type dirent struct {
	name string
	typ  uint8 // DT_*; DT_UNKNOWN where the filesystem does not say
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
		if s := string(name); s != "." && s != ".." {
			out = append(out, dirent{name: s, typ: buf[direntTypeOff]})
		}
		buf = buf[reclen:]
	}
	return out
}

// readDirents reads the next batch of entries of the directory fd; an
// empty result means the end.
func readDirents(fd int, buf []byte, out []dirent) ([]dirent, error) {
	var n int
	err := retryEINTR(func() (err error) { n, err = unix.Getdents(fd, buf); return err })
	if err != nil {
		return out, err
	}
	return parseDirents(buf[:n], out), nil
}
