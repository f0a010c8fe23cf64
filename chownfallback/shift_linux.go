package chownfallback

import (
	"fmt"
	"runtime"
	"time"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// Shift rewrites the ownership of every inode under dir on dir's mount as
// m says: an owner, a named ACL entry or a file capability's owner with an
// on-disk ID From+i becomes To+i, which is what an idmapped mount with m
// presents. Mount points below dir are not crossed (they are listed in
// the Result). It refuses, changing nothing, a mapping whose from and to
// ranges overlap (ErrOverlap), a dir that is not a directory (ErrNotDir)
// and a read-only mount (ErrReadOnly).
//
// Inodes that cannot be changed are listed in the Result and the walk
// goes on; the error then wraps ErrIncomplete. Running Shift again with
// the same mapping, after a failure or after the process was killed at
// any point, finishes the job with the same end result as one
// uninterrupted run (see XattrRecord).
//
// Needs root (CAP_CHOWN, CAP_FOWNER, CAP_SETFCAP, CAP_SYS_ADMIN for
// trusted.* xattrs), Linux 5.8 (statx STATX_MNT_ID) and /proc; Linux 6.13
// makes it faster (listxattrat).
func Shift(dir string, m idmapmount.Mapping, opts Options) (*Result, error) {
	start := time.Now()
	if err := checkMapping(m); err != nil {
		return nil, err
	}
	if !opts.DryRun {
		if err := checkPrivileges(); err != nil {
			return nil, err
		}
	}
	root, warnings, err := openRoot(dir, !opts.DryRun)
	if err != nil {
		return nil, err
	}
	if opts.Unmapped == UnmappedFail && !opts.DryRun {
		unix.Close(root)
		if res, err := refuseUnmapped(dir, m, opts); err != nil {
			return res, err
		}
		if root, _, err = openRoot(dir, true); err != nil {
			return nil, err
		}
	}
	workers, err := walk(root, dir, jobsOf(opts.Jobs), opts.Seen, func() visitor { return newShifter(m, opts) })
	if err != nil {
		return nil, err
	}
	res := shiftResult(dir, m, opts, workers)
	res.Warnings = append(res.Warnings, warnings...)
	res.Seconds = time.Since(start).Seconds()
	if opts.DryRun && opts.Unmapped == UnmappedFail && res.Unmapped > 0 {
		// Predict the real run: it would refuse.
		return res, unmappedError(res, m, "a run would refuse and change nothing")
	}
	return res, failure(res.ErrorCount, res.Errors)
}

func unmappedError(res *Result, m idmapmount.Mapping, outcome string) error {
	return fmt.Errorf("%w: %d inode(s) use IDs in no extent of %s (uids %s, gids %s); %s",
		ErrUnmapped, res.Unmapped, m, FormatRanges(res.UnmappedUIDs), FormatRanges(res.UnmappedGIDs), outcome)
}

// refuseUnmapped is the dry run that UnmappedFail makes first.
func refuseUnmapped(dir string, m idmapmount.Mapping, opts Options) (*Result, error) {
	dry := opts
	dry.DryRun, dry.Unmapped, dry.AfterWrite = true, UnmappedKeep, nil
	res, err := Shift(dir, m, dry)
	if err != nil {
		return res, err
	}
	if res.Unmapped > 0 {
		return res, unmappedError(res, m, "nothing was changed")
	}
	return nil, nil
}

func jobsOf(n int) int {
	if n <= 0 {
		return runtime.NumCPU()
	}
	return n
}

func shiftResult(dir string, m idmapmount.Mapping, opts Options, workers []*worker) *Result {
	res := &Result{Dir: dir, Mapping: m.String(), DryRun: opts.DryRun, MountPoints: []string{}, Errors: []*InodeError{}, Warnings: []string{}}
	var errs errorList
	unUID, unGID := tally{}, tally{}
	for _, k := range workers {
		s := k.v.(*shifter)
		res.Seen += k.seen
		res.Changed += s.changed
		res.AlreadyDone += s.done
		res.Restored += s.restored
		res.Unmapped += s.unmapped
		unUID.merge(s.unUID)
		unGID.merge(s.unGID)
		res.MountPoints = append(res.MountPoints, k.mounts...)
		for _, e := range k.errs.kept {
			errs.add(e)
		}
		errs.count += k.errs.count - uint64(len(k.errs.kept))
	}
	res.UnmappedUIDs, res.UnmappedGIDs = unUID.ranges(), unGID.ranges()
	res.ErrorCount, res.Errors = errs.count, append(res.Errors, errs.kept...)
	return res
}

// overlayfsMagic is OVERLAYFS_SUPER_MAGIC (include/uapi/linux/magic.h).
const overlayfsMagic = 0x794c7630

// openRoot opens the tree's root directory and checks it can be shifted.
func openRoot(dir string, write bool) (fd int, warnings []string, err error) {
	err = retryEINTR(func() (err error) {
		fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err == unix.ENOTDIR {
		return -1, nil, fmt.Errorf("open %s: %w: %w", dir, ErrNotDir, err)
	}
	if err != nil {
		return -1, nil, fmt.Errorf("open %s: %w", dir, err)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("statfs %s: %w", dir, err)
	}
	if write && sfs.Flags&unix.ST_RDONLY != 0 {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %w: %w (hint: remount it read-write, or use an idmapped mount, which changes nothing on disk)", dir, ErrReadOnly, unix.EROFS)
	}
	if sfs.Type == overlayfsMagic {
		warnings = append(warnings, dir+" is on overlayfs: every chown copies the whole file up to the upper layer; "+
			"shift the lower layers themselves, or present them with an idmapped overlay")
	}
	return fd, warnings, nil
}
