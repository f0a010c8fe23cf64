package chownfallback

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idmapkit/idmapkit/fsprobe"
	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// Mount makes an idmapped bind mount of Source at Target
// (idmapmount.Mount). If Source's filesystem cannot be idmapped and
// Fallback is FallbackChown, it shifts Source in place with Shift instead
// (this changes Source on disk, for good) and bind-mounts it. The bind is
// prepared as a detached mount before the shift and attached after it,
// so a failure at any step leaves the mount table as it was. The bind is
// recorded under StateDir (idmapmount.RecordBind), so that "idmapkit
// umount" takes it and "idmapkit list" shows it.
//
// The fallback shifts one filesystem: with Options.Recursive it refuses a
// Source that has submounts (ErrFallbackSubmounts), changing nothing.
func Mount(cfg MountConfig) (*MountReport, error) {
	rep := &MountReport{Source: cfg.Source, Target: cfg.Target, Route: RouteIDMapped}
	if !cfg.Force {
		err := mountIDMapped(cfg)
		if err == nil || cfg.Fallback != FallbackChown || !unsupported(err) {
			return rep, err
		}
		v, perr := probe(cfg.Source)
		if perr != nil || !v.Fallback() {
			return rep, err
		}
		rep.Verdict = v
	} else {
		rep.Verdict = forced(cfg.Source)
	}
	rep.Route = RouteShiftedInPlace
	res, err := shiftAndBind(cfg)
	rep.Shift = res
	return rep, err
}

func mountIDMapped(cfg MountConfig) error {
	if cfg.Userns != nil {
		return idmapmount.Mount(cfg.Source, cfg.Target, cfg.Userns, cfg.Options)
	}
	return idmapmount.MountMapping(cfg.Source, cfg.Target, cfg.Mapping, cfg.Options)
}

// unsupported reports whether err is the EINVAL from mount_setattr that a
// filesystem without idmapped mounts gives, or the ENOSYS of a kernel
// without mount_setattr (the probe then tells why).
func unsupported(err error) bool {
	var se *idmapmount.StepError
	if !errors.As(err, &se) {
		return false
	}
	return se.Step == "mount_setattr" && errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS)
}

// probe asks fsprobe why dir's mount cannot be idmapped.
func probe(dir string) (Verdict, error) {
	r, err := fsprobe.Probe(dir)
	if err != nil {
		return Verdict{}, err
	}
	return Verdict{Dir: dir, FSType: r.FSType, Mountpoint: r.Mountpoint, Reason: r.Reason, Errno: r.Errno}, nil
}

func forced(dir string) Verdict {
	v := Verdict{Dir: dir, Forced: true}
	if m, _, err := idmapmount.MountOf(dir); err == nil {
		v.FSType, v.Mountpoint = m.FSType, m.Mountpoint
	}
	return v
}

// shiftAndBind is the fallback: a detached bind of Source, then the
// shift, then the attach.
func shiftAndBind(cfg MountConfig) (*Result, error) {
	if err := checkFallbackPaths(cfg); err != nil {
		return nil, err
	}
	tree, err := bindTree(cfg.Source, cfg.Options)
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	source, err := filepath.Abs(cfg.Source)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(source); err == nil {
		source = real
	}
	if err := checkNotShiftedOtherwise(source, cfg); err != nil {
		return nil, err
	}
	rec, err := idmapmount.RecordBind(tree, cfg.Target,
		idmapmount.BindRecord{Source: source, Mapping: cfg.Mapping.Sorted().String(), Method: string(FallbackChown)}, cfg.StateDir)
	if err != nil {
		return nil, err
	}
	res, err := Shift(cfg.Source, cfg.Mapping, cfg.Shift)
	if err == nil {
		err = idmapmount.Attach(tree, cfg.Target)
	} else {
		err = fmt.Errorf("shift %s in place: %w", cfg.Source, err)
	}
	if err != nil {
		_ = idmapmount.ForgetBind(rec, cfg.StateDir)
	}
	return res, err
}

// checkFallbackPaths refuses, before anything changes, what would make
// the shift useless or the attach fail.
func checkFallbackPaths(cfg MountConfig) error {
	m, _, err := idmapmount.MountOf(cfg.Source)
	if err != nil {
		return err
	}
	if cfg.Options.Recursive {
		subs, err := idmapmount.Submounts(m)
		if err != nil {
			return err
		}
		if len(subs) > 0 {
			return &idmapmount.StepError{Step: "check submounts", Path: cfg.Source, Err: ErrFallbackSubmounts,
				Hint: fmt.Sprintf("%s is mounted below the source; leave out --recursive, or mount it on its own", subs[0].Mountpoint)}
		}
	}
	sst, err := os.Stat(cfg.Source)
	if err != nil {
		return &idmapmount.StepError{Step: "stat source", Path: cfg.Source, Err: bareErr(err)}
	}
	if !sst.IsDir() {
		return &idmapmount.StepError{Step: "check source", Path: cfg.Source, Err: ErrNotDir, Hint: "the fallback shifts a directory tree"}
	}
	tst, err := os.Stat(cfg.Target)
	if err != nil {
		return &idmapmount.StepError{Step: "stat target", Path: cfg.Target, Err: bareErr(err), Hint: "create the mount point first"}
	}
	if !tst.IsDir() {
		return &idmapmount.StepError{Step: "check target", Path: cfg.Target, Err: unix.ENOTDIR}
	}
	return nil
}

// checkNotShiftedOtherwise refuses to shift a source that is, holds or
// sits in a tree a mounted fallback bind shows under another mapping: the
// tree on disk has one set of owners, and the shift would leave it half in
// each (the IDs the first shift wrote are outside the second mapping and
// are kept). Trees are compared by device and inode, so a symlink or a
// bind mount does not hide one.
func checkNotShiftedOtherwise(source string, cfg MountConfig) error {
	for _, b := range idmapmount.LiveBinds(cfg.StateDir) {
		m, err := idmapmount.ParseSpecs(b.Mapping)
		if err == nil && m.Equivalent(cfg.Mapping) || !idmapmount.Overlapping(b.Source, source) {
			continue
		}
		return &idmapmount.StepError{Step: "check source", Path: cfg.Source, Err: unix.EBUSY,
			Hint: fmt.Sprintf("%s is shifted on disk with %s and bind-mounted at %s, and %s is, holds or sits in that tree; unmount that, shift it back (idmapkit shift --reverse --map %s %s), then mount with the new mapping",
				b.Source, b.Mapping, b.Target, source, b.Mapping, b.Source)}
	}
	return nil
}
