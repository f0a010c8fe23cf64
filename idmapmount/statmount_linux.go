//go:build linux

package idmapmount

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// statmount(2) request mask bits (include/uapi/linux/mount.h).
const (
	StatmountSBBasic       = 0x0001 // sb_* (Linux 6.8)
	StatmountMntBasic      = 0x0002 // mnt_id, mnt_parent_id, mnt_attr, ... (6.8)
	StatmountMntRoot       = 0x0008 // mnt_root (6.8)
	StatmountMntPoint      = 0x0010 // mnt_point (6.8)
	StatmountFSType        = 0x0020 // fs_type (6.8)
	StatmountMntOpts       = 0x0080 // mnt_opts (6.11)
	StatmountSBSource      = 0x0200 // sb_source (6.13)
	StatmountSupportedMask = 0x1000 // supported_mask (6.15)
	StatmountMntUIDMap     = 0x2000 // mnt_uidmap (6.15)
	StatmountMntGIDMap     = 0x4000 // mnt_gidmap (6.15)
)

// StatmountResult is the part of struct statmount idmapkit reads. Mask
// says which groups the kernel filled in; the others are zero.
type StatmountResult struct {
	Mask           uint64
	MntID          uint64 // unique, never reused until reboot
	ParentID       uint64
	MntIDOld       uint32 // the reusable ID of /proc/self/mountinfo
	ParentIDOld    uint32
	Attr           uint64 // MOUNT_ATTR_*
	FSType         string
	MntRoot        string
	MntPoint       string
	MntOpts        string
	SBSource       string
	SupportedMask  uint64
	UIDMap, GIDMap []string // lines "INSIDE OUTSIDE COUNT", as the caller's namespace sees them
}

// statmountFixed mirrors struct statmount up to the string area.
type statmountFixed struct {
	Size, MntOpts                          uint32
	Mask                                   uint64
	SBDevMajor, SBDevMinor                 uint32
	SBMagic                                uint64
	SBFlags, FSType                        uint32
	MntID, MntParentID                     uint64
	MntIDOld, MntParentIDOld               uint32
	MntAttr, MntPropagation, MntPeerGroup  uint64
	MntMaster, PropagateFrom               uint64
	MntRoot, MntPoint                      uint32
	MntNSID                                uint64
	FSSubtype, SBSource                    uint32
	OptNum, OptArray, OptSecNum, OptSecArr uint32
	SupportedMask                          uint64
	UIDMapNum, UIDMap, GIDMapNum, GIDMap   uint32
	Spare2                                 [43]uint64
}

// mntIDReq is struct mnt_id_req, version 1 (32 bytes; mnt_ns_id, Linux
// 6.11). Requests without a namespace ID are sent as version 0 (24
// bytes), which every kernel with the system calls takes.
type mntIDReq struct {
	Size    uint32
	Spare   uint32
	MntID   uint64
	Param   uint64
	MntNSID uint64
}

// newMntIDReq asks about mntID in the mount namespace ns (0: the
// caller's).
func newMntIDReq(mntID, param, ns uint64) mntIDReq {
	req := mntIDReq{Size: unix.MNT_ID_REQ_SIZE_VER0, MntID: mntID, Param: param, MntNSID: ns}
	if ns != 0 {
		req.Size = unix.MNT_ID_REQ_SIZE_VER1
	}
	return req
}

// statmountMaxBuf bounds the retry on EOVERFLOW: 340 extents per map at
// about 30 bytes each, plus paths and options, fit well within 1 MiB.
const statmountMaxBuf = 1 << 20

// Statmount returns facts about the mount with the unique ID mntID (from
// statx STATX_MNT_ID_UNIQUE) in the caller's mount namespace
// (statmount(2), Linux 6.8; the uid and gid maps of an idmapped mount,
// Linux 6.15). mask selects what to fetch.
func Statmount(mntID uint64, mask uint64) (*StatmountResult, error) {
	return statmountNS(mntID, 0, mask)
}

// statmountNS is Statmount in the mount namespace with the ID ns (0: the
// caller's; Linux 6.11 for another).
func statmountNS(mntID, ns, mask uint64) (*StatmountResult, error) {
	req := newMntIDReq(mntID, mask, ns)
	for size := 4096; ; size *= 2 {
		buf := make([]byte, size)
		_, _, errno := unix.Syscall6(unix.SYS_STATMOUNT, uintptr(unsafe.Pointer(&req)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(size), 0, 0, 0)
		runtime.KeepAlive(&req)
		switch {
		case errno == unix.EOVERFLOW && size < statmountMaxBuf:
			continue
		case errno == unix.EINTR:
			size /= 2
			continue
		case errno != 0:
			return nil, errno
		}
		return decodeStatmount(buf)
	}
}

// decodeStatmount reads a filled struct statmount.
func decodeStatmount(buf []byte) (*StatmountResult, error) {
	var f statmountFixed
	fixed := int(unsafe.Sizeof(f))
	if err := binary.Read(bytes.NewReader(buf), binary.NativeEndian, &f); err != nil {
		return nil, err
	}
	if int(f.Size) < fixed || int(f.Size) > len(buf) {
		return nil, errors.New("statmount: bad size in reply")
	}
	strs := buf[fixed:f.Size]
	r := &StatmountResult{Mask: f.Mask, MntID: f.MntID, ParentID: f.MntParentID,
		MntIDOld: f.MntIDOld, ParentIDOld: f.MntParentIDOld, Attr: f.MntAttr, SupportedMask: f.SupportedMask}
	for _, s := range []struct {
		bit uint64
		off uint32
		dst *string
	}{{StatmountFSType, f.FSType, &r.FSType}, {StatmountMntRoot, f.MntRoot, &r.MntRoot},
		{StatmountMntPoint, f.MntPoint, &r.MntPoint}, {StatmountMntOpts, f.MntOpts, &r.MntOpts},
		{StatmountSBSource, f.SBSource, &r.SBSource}} {
		if f.Mask&s.bit != 0 {
			*s.dst = cString(strs, s.off)
		}
	}
	if f.Mask&StatmountMntUIDMap != 0 {
		r.UIDMap = cStrings(strs, f.UIDMap, f.UIDMapNum)
	}
	if f.Mask&StatmountMntGIDMap != 0 {
		r.GIDMap = cStrings(strs, f.GIDMap, f.GIDMapNum)
	}
	return r, nil
}

// cString is the NUL-terminated string at off in the string area.
func cString(strs []byte, off uint32) string {
	if int(off) >= len(strs) {
		return ""
	}
	s := strs[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// cStrings is n NUL-terminated strings one after the other from off.
func cStrings(strs []byte, off, n uint32) []string {
	var out []string
	for ; n > 0 && int(off) < len(strs); n-- {
		s := cString(strs, off)
		out = append(out, s)
		off += uint32(len(s)) + 1
	}
	return out
}

// lsmtRoot is LSMT_ROOT: with it, listmount lists every mount of the
// caller's mount namespace.
const lsmtRoot = 0xffffffffffffffff

// Listmount returns the unique IDs of every mount in the caller's mount
// namespace (listmount(2), Linux 6.8), covered ones included.
func Listmount() ([]uint64, error) {
	return listmountNS(0)
}

// listmountNS is Listmount in the mount namespace with the ID ns (0: the
// caller's; Linux 6.11 for another).
func listmountNS(ns uint64) ([]uint64, error) {
	var all []uint64
	req := newMntIDReq(lsmtRoot, 0, ns)
	buf := make([]uint64, 512)
	for {
		n, _, errno := unix.Syscall6(unix.SYS_LISTMOUNT, uintptr(unsafe.Pointer(&req)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		runtime.KeepAlive(&req)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return nil, errno
		}
		all = append(all, buf[:n]...)
		if int(n) < len(buf) {
			return all, nil
		}
		req.Param = buf[n-1] // continue after the last ID returned
	}
}

// uniqueIDs maps the mountinfo IDs of the caller's mount namespace to
// their unique IDs, covered mounts included; nil where the kernel has no
// listmount or statmount (before 6.8).
func uniqueIDs() map[int]uint64 {
	ids, err := Listmount()
	if err != nil {
		return nil
	}
	out := make(map[int]uint64, len(ids))
	for _, id := range ids {
		if sm, err := Statmount(id, StatmountMntBasic); err == nil {
			out[int(sm.MntIDOld)] = id
		}
	}
	return out
}
