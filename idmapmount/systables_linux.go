//go:build linux

package idmapmount

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mntNSInfo is struct mnt_ns_info (include/uapi/linux/nsfs.h).
type mntNSInfo struct {
	Size     uint32
	NrMounts uint32
	MntNSID  uint64
}

// The nsfs ioctls that walk the mount namespaces (Linux 6.12). x/sys
// has none of them; they are _IOR(0xb7, nr, struct mnt_ns_info), whose
// direction bits differ between architectures, so they are derived from
// NS_GET_MNTNS_ID, _IOR(0xb7, 5, __u64), which x/sys has for each.
var (
	iorRead         = uintptr(unix.NS_GET_MNTNS_ID) - 8<<16 - 0xb7<<8 - 5
	nsMntGetNext    = iorRead | uintptr(unsafe.Sizeof(mntNSInfo{}))<<16 | 0xb7<<8 | 11
	nsMntGetPrev    = iorRead | uintptr(unsafe.Sizeof(mntNSInfo{}))<<16 | 0xb7<<8 | 12
	systemTableMask = uint64(StatmountMntBasic | StatmountMntRoot | StatmountMntPoint | StatmountFSType | StatmountMntOpts | StatmountSBSource)
)

// SystemMountTables reads the mount table of every mount namespace on the
// system, for a question no single namespace answers: "is this directory
// a layer of any mount, anywhere?". Namespaces with no process in them
// (held by an fd or a bind mount of their nsfs file) are included.
//
// It walks the namespaces with the nsfs ioctls NS_MNT_GET_NEXT and
// NS_MNT_GET_PREV (Linux 6.12) and reads each with listmount and
// statmount given its namespace ID (6.11). The kernel shows only the
// namespaces where the caller has CAP_SYS_ADMIN: run it as root in the
// initial user namespace to see them all. Before 6.12 it fails with
// ENOTTY: there is no other way to reach a namespace without a process.
func SystemMountTables() ([]NamespaceTable, error) {
	if err := requireInitialUserns(); err != nil {
		return nil, err
	}
	pids := pidsByMountNS()
	var tables []NamespaceTable
	seen := make(map[uint64]bool)
	// A namespace made while the tables are read starts as a copy of one
	// of them, which may lose its mounts before it is read: walk again
	// until a walk finds no namespace that was not read.
	for range maxNSWalks {
		ids, err := mountNamespaceIDs()
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			fresh++
			mounts, err := namespaceMounts(id)
			if err == unix.ENOENT {
				continue // the namespace died, and its mounts with it
			}
			if err != nil {
				return nil, &StepError{Step: "listmount/statmount", Path: "mnt_ns_id " + strconv.FormatUint(id, 10), Err: err}
			}
			tables = append(tables, NamespaceTable{ID: id, PID: pids[id], Mounts: mounts})
		}
		if fresh == 0 {
			return tables, nil
		}
		if afterNSWalk != nil {
			afterNSWalk()
		}
	}
	return nil, &StepError{Step: "walk mount namespaces", Path: "/proc/thread-self/ns/mnt", Err: unix.EAGAIN,
		Hint: fmt.Sprintf("new mount namespaces kept appearing through %d walks; try again when fewer are being made", maxNSWalks)}
}

// afterNSWalk, if set, runs after each walk's tables are read: the tests
// make a namespace there, which only a further walk finds.
var afterNSWalk func()

// maxNSWalks bounds the walks of SystemMountTables. Each walk after the
// first reads only the namespaces made during the one before, a few at
// most on a busy host; reaching this many means namespaces are made
// faster than they can be read.
const maxNSWalks = 64

// requireInitialUserns fails outside the initial user namespace: from a
// user namespace below it (a container), the kernel shows only the mount
// namespaces that namespace owns, so an answer would leave out the host's.
func requireInitialUserns() error {
	const self = "/proc/self/ns/user"
	var st unix.Stat_t
	if err := unix.Stat(self, &st); err != nil {
		return &StepError{Step: "stat", Path: self, Err: err}
	}
	if st.Ino != procUserInitIno {
		return &StepError{Step: "check user namespace", Path: self, Err: unix.EPERM,
			Hint: "this process is in a user namespace other than the initial one (a container?), from which the host's mount namespaces cannot be seen: run on the host, as root"}
	}
	return nil
}

// procUserInitIno is the inode number nsfs gives the initial user
// namespace, and no other (PROC_USER_INIT_INO, include/linux/proc_ns.h).
const procUserInitIno = 0xEFFFFFFD

// mountNamespaceIDs walks from the caller's mount namespace to the last
// one and to the first, and returns every ID seen, sorted.
func mountNamespaceIDs() ([]uint64, error) {
	const self = "/proc/thread-self/ns/mnt"
	f, err := os.Open(self)
	if err != nil {
		return nil, &StepError{Step: "open", Path: self, Err: errnoOf(err)}
	}
	defer f.Close()
	var own uint64
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), uintptr(unix.NS_GET_MNTNS_ID), uintptr(unsafe.Pointer(&own))); errno != 0 {
		return nil, &StepError{Step: "ioctl(NS_GET_MNTNS_ID)", Path: self, Err: errno, Hint: hintNSWalk(errno)}
	}
	ids := []uint64{own}
	for _, dir := range []struct {
		req  uintptr
		name string
	}{{nsMntGetNext, "NS_MNT_GET_NEXT"}, {nsMntGetPrev, "NS_MNT_GET_PREV"}} {
		more, err := walkMountNamespaces(int(f.Fd()), dir.req)
		runtime.KeepAlive(f)
		if err != nil {
			return nil, &StepError{Step: "ioctl(" + dir.name + ")", Path: self, Err: err, Hint: hintNSWalk(err)}
		}
		ids = append(ids, more...)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// walkMountNamespaces follows req (next or previous) from the namespace
// fd start until the kernel says there is no more (ENOENT).
func walkMountNamespaces(start int, req uintptr) ([]uint64, error) {
	var ids []uint64
	cur := start
	defer func() {
		if cur != start {
			unix.Close(cur)
		}
	}()
	for {
		info := mntNSInfo{Size: uint32(unsafe.Sizeof(mntNSInfo{}))}
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(cur), req, uintptr(unsafe.Pointer(&info)))
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.ENOENT:
			return ids, nil
		default:
			return nil, errno
		}
		unix.CloseOnExec(int(r))
		if cur != start {
			unix.Close(cur)
		}
		cur = int(r)
		ids = append(ids, info.MntNSID)
	}
}

func hintNSWalk(err error) string {
	switch err {
	case unix.ENOTTY, unix.EINVAL:
		return "walking every mount namespace needs Linux 6.12 (NS_MNT_GET_NEXT)"
	case unix.EPERM:
		return "walking every mount namespace needs CAP_SYS_ADMIN: run as root"
	}
	return ""
}

// namespaceMounts describes every mount of the namespace id.
func namespaceMounts(ns uint64) ([]NamespaceMount, error) {
	ids, err := listmountNS(ns)
	if err != nil {
		return nil, err
	}
	mounts := make([]NamespaceMount, 0, len(ids))
	for _, id := range ids {
		sm, err := statmountNS(id, ns, systemTableMask)
		if err == unix.EINVAL {
			// sb_source came in 6.13; the rest the kernel has since 6.11,
			// which a namespace ID needs anyway.
			sm, err = statmountNS(id, ns, systemTableMask&^StatmountSBSource)
		}
		if err == unix.ENOENT {
			continue // unmounted meanwhile
		}
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, NamespaceMount{ID: sm.MntID, Root: sm.MntRoot, Mountpoint: sm.MntPoint,
			FSType: sm.FSType, Source: sm.SBSource, Options: sm.MntOpts})
	}
	return mounts, nil
}

// pidsByMountNS maps namespace IDs to a process in each, where /proc
// lets it be found (it may not, for a process that is not dumpable).
func pidsByMountNS() map[uint64]int {
	out := make(map[uint64]int)
	names, _ := os.ReadDir("/proc")
	for _, n := range names {
		pid, err := strconv.Atoi(n.Name())
		if err != nil {
			continue
		}
		fd, err := unix.Open("/proc/"+n.Name()+"/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		var id uint64
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.NS_GET_MNTNS_ID), uintptr(unsafe.Pointer(&id)))
		unix.Close(fd)
		if errno == 0 {
			if _, ok := out[id]; !ok {
				out[id] = pid
			}
		}
	}
	return out
}
