//go:build linux

package idmapmount

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noFDLayers is set once the kernel has refused detached mounts as
// overlay layers, so that MethodAuto goes straight to staging after that.
var noFDLayers atomic.Bool

// simulateNoFDLayers makes the fd-layers path answer as a kernel before
// 6.15 does, so that tests on a newer kernel reach MethodAuto's fallback.
var simulateNoFDLayers bool

// Overlay mounts at target an overlay of cfg.Lower (each idmapped with
// cfg.Mapping, see OverlayConfig), with cfg.Upper and cfg.Work if given,
// and records it under cfg.StateDir for List and Unmount. One lower layer
// without an upper becomes a read-only idmapped bind mount (Method
// "bind"), which presents the same tree. It needs
// Linux 5.19 (idmapped lower layers) and, for MethodFDLayers, 6.15.
//
// On failure the mount table is as it was (no staging mounts, no half
// overlay) and an upper root it gave to the mapped root is given back.
// The lower layers are never written: they are idmapped read-only.
func Overlay(target string, cfg OverlayConfig) (_ *OverlayRecord, retErr error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg, err := cfg.absolute()
	if err != nil {
		return nil, err
	}
	if err := checkOverlayTarget(target); err != nil {
		return nil, err
	}
	if err := checkLowerDirs(cfg); err != nil {
		return nil, err
	}
	if err := checkOverlayDirs(cfg); err != nil {
		return nil, err
	}
	if err := checkUpperNotInUse(cfg); err != nil {
		return nil, err
	}
	userns, err := overlayUserns(cfg)
	if err != nil {
		return nil, err
	}
	defer userns.Close()
	upper, err := prepareUpper(cfg.Upper, cfg.Mapping)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			upper.restore()
		}
	}()
	if len(cfg.Lower) == 1 && cfg.Upper == "" {
		return singleLayer(target, cfg, userns)
	}
	method := cfg.Method
	if method == MethodAuto && noFDLayers.Load() {
		method = MethodStaging
	}
	if method != MethodStaging {
		rec, err := overlayFDLayers(target, cfg, userns)
		if !errors.Is(err, ErrNoFDLayers) || method == MethodFDLayers {
			return rec, err
		}
		// Remember the kernel's answer only once staging has shown that
		// the layers themselves were fine.
		rec, err = overlayStaging(target, cfg, userns)
		if err == nil {
			noFDLayers.Store(true)
		}
		return rec, err
	}
	return overlayStaging(target, cfg, userns)
}

// overlayUserns returns a user namespace fd for cfg, which the caller
// closes.
func overlayUserns(cfg OverlayConfig) (*os.File, error) {
	if cfg.Userns != nil {
		return dupFile(cfg.Userns)
	}
	return UsernsFD(cfg.Mapping)
}

func checkOverlayTarget(target string) error {
	st, err := os.Stat(target)
	if err != nil {
		return &StepError{Step: "stat target", Path: target, Err: errnoOf(err), Hint: "create the mount point first"}
	}
	if !st.IsDir() {
		return &StepError{Step: "check target", Path: target, Err: unix.ENOTDIR, Hint: "an overlay is mounted on a directory"}
	}
	return nil
}

// overlayFDLayers builds the overlay from detached idmapped layers handed
// over as file descriptors, records it, and only then attaches it: until
// move_mount nothing is in the mount table, and closing the fds frees it
// all. It returns an error matching ErrNoFDLayers when the kernel cannot
// take detached mounts as layers (before 6.13 "lowerdir+" takes no fd;
// 6.13 and 6.14 refuse to clone a detached mount).
func overlayFDLayers(target string, cfg OverlayConfig, userns *os.File) (*OverlayRecord, error) {
	if simulateNoFDLayers {
		return nil, fmt.Errorf("%w (simulated)", ErrNoFDLayers)
	}
	ctx, err := openOverlayContext()
	if err != nil {
		return nil, err
	}
	defer ctx.Close()
	if err := ctx.setString("source", OverlaySource); err != nil {
		return nil, err
	}
	layers, err := setFDLayers(ctx, cfg, userns)
	defer closeAll(layers)
	if err != nil {
		return nil, err
	}
	if err := ctx.create(); err != nil {
		if errors.Is(err, unix.EINVAL) && kernelBefore(6, 15) {
			return nil, fmt.Errorf("%w: %w", ErrNoFDLayers, err)
		}
		return nil, explainOverlay(err)
	}
	mnt, err := ctx.mount(overlayAttr(cfg))
	if err != nil {
		return nil, err
	}
	defer mnt.Close()
	rec, err := newRecord(mnt, target, cfg, MethodFDLayers)
	if err != nil {
		return nil, err
	}
	if err := writeRecord(cfg.stateDir(), rec); err != nil {
		return nil, err
	}
	if err := Attach(mnt, target); err != nil {
		_ = removeRecord(cfg.stateDir(), rec.MountID)
		return nil, err
	}
	return rec, nil
}

// setFDLayers hands every layer, the upper and the work directory to the
// context as file descriptors. Paths would do for upper and work, but
// fsconfig takes strings of at most 255 bytes. The layer fds it returns
// must stay open until FSCONFIG_CMD_CREATE: closing the last fd of a
// detached mount dissolves it, and overlayfs can then no longer clone it
// ("failed to clone lowerpath").
func setFDLayers(ctx *fsContext, cfg OverlayConfig, userns *os.File) ([]*os.File, error) {
	var open []*os.File
	for _, l := range cfg.Lower {
		f, err := layerFD(l, userns)
		if err != nil {
			return open, err
		}
		open = append(open, f)
		err = ctx.setFD("lowerdir+", f, l.Dir)
		if errors.Is(err, unix.EINVAL) && !l.AsIs {
			return open, fmt.Errorf("%w: %w", ErrNoFDLayers, err)
		}
		if err != nil {
			return open, err
		}
	}
	for _, d := range []struct{ key, dir string }{{"upperdir", cfg.Upper}, {"workdir", cfg.Work}} {
		if d.dir == "" {
			continue
		}
		f, err := openDir(d.dir)
		if err != nil {
			return open, err
		}
		open = append(open, f)
		if err := ctx.setFD(d.key, f, d.dir); err != nil {
			return open, explainOverlay(err)
		}
	}
	return open, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// layerFD returns a detached, read-only idmapped clone of the layer, or
// for an AsIs layer the directory itself.
func layerFD(l Layer, userns *os.File) (*os.File, error) {
	if l.AsIs {
		return openDir(l.Dir)
	}
	return Tree(l.Dir, userns, Options{ReadOnly: true})
}

func openDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &StepError{Step: "open", Path: dir, Err: errnoOf(err)}
	}
	return f, nil
}

// overlayAttr is the fsmount attribute set: read-only without an upper
// (overlayfs would refuse writes anyway; this makes it say so in the
// mount table) or when asked.
func overlayAttr(cfg OverlayConfig) int {
	if cfg.ReadOnly || cfg.Upper == "" {
		return unix.MOUNT_ATTR_RDONLY
	}
	return 0
}

// newRecord describes the overlay mnt (a detached or attached mount).
func newRecord(mnt *os.File, target string, cfg OverlayConfig, m OverlayMethod) (*OverlayRecord, error) {
	id, unique, err := fdMountID(mnt)
	if err != nil {
		return nil, &StepError{Step: "statx(STATX_MNT_ID_UNIQUE)", Path: target, Err: err}
	}
	abs, err := resolve(target)
	if err != nil {
		return nil, &StepError{Step: "resolve target", Path: target, Err: errnoOf(err)}
	}
	return &OverlayRecord{Target: abs, MountID: id, UniqueID: unique, Lower: cfg.Lower,
		Upper: cfg.Upper, Work: cfg.Work, Mapping: cfg.Mapping.String(),
		ReadOnly: overlayAttr(cfg) != 0, Method: m.String()}, nil
}

// explainOverlay adds hints for overlay errors whose cause is known.
func explainOverlay(err error) error {
	var se *StepError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case errors.Is(err, unix.EXDEV):
		se.Hint = joinHint(se.Hint, "--upper and --work must be on the same filesystem")
	case errors.Is(err, unix.EBUSY):
		se.Hint = joinHint(se.Hint, "an upper or work directory is in use by another overlay, or overlaps a layer")
	}
	return err
}

func joinHint(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
