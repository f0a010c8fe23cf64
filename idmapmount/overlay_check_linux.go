//go:build linux

package idmapmount

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// checkOverlayDirs refuses what overlayfs would refuse with a bare
// EINVAL, or, worse, accept: an upper or work directory inside a lower
// layer (or a layer inside them) lets writes through the overlay change
// the shared image, and the kernel does not check for that unless the
// index feature is on.
func checkOverlayDirs(cfg OverlayConfig) error {
	if cfg.Upper == "" {
		return nil
	}
	upper, err := resolve(cfg.Upper)
	if err != nil {
		return &StepError{Step: "resolve upper directory", Path: cfg.Upper, Err: errnoOf(err)}
	}
	work, err := resolve(cfg.Work)
	if err != nil {
		return &StepError{Step: "resolve work directory", Path: cfg.Work, Err: errnoOf(err)}
	}
	if err := sameMount(upper, work); err != nil {
		return err
	}
	for _, l := range cfg.Lower {
		lower, err := resolve(l.Dir)
		if err != nil {
			return &StepError{Step: "resolve lower layer", Path: l.Dir, Err: errnoOf(err)}
		}
		for _, d := range []struct{ name, path string }{{"upper", upper}, {"work", work}} {
			if within(d.path, lower) || within(lower, d.path) {
				return &StepError{Step: "check " + d.name + " directory", Path: d.path,
					Err:  fmt.Errorf("%w: %s directory and lower layer %s overlap", ErrBadOverlay, d.name, lower),
					Hint: "writes would change the lower layer: put --upper and --work outside every --lower"}
			}
		}
	}
	return nil
}

// sameMount checks that upper and work are on one mount, as overlayfs
// needs (it renames from work into upper).
func sameMount(upper, work string) error {
	u, _, err := pathMountID(upper)
	if err != nil {
		return &StepError{Step: "statx", Path: upper, Err: err}
	}
	w, _, err := pathMountID(work)
	if err != nil {
		return &StepError{Step: "statx", Path: work, Err: err}
	}
	if u != w {
		return &StepError{Step: "check work directory", Path: work, Err: unix.EXDEV,
			Hint: fmt.Sprintf("--upper %s and --work %s must be on the same filesystem and mount", upper, work)}
	}
	return nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// absolute returns cfg with every layer, upper and work directory made
// absolute and free of symlinks, as records and List show them: the
// kernel's mount table names fd layers only as "/".
func (c OverlayConfig) absolute() (OverlayConfig, error) {
	lower := make([]Layer, len(c.Lower))
	for i, l := range c.Lower {
		abs, err := absPath(l.Dir)
		if err != nil {
			return c, &StepError{Step: "make lower layer path absolute", Path: l.Dir, Err: errnoOf(err)}
		}
		l.Dir = abs
		lower[i] = l
	}
	c.Lower = lower
	for _, d := range []*string{&c.Upper, &c.Work} {
		if *d == "" {
			continue
		}
		abs, err := absPath(*d)
		if err != nil {
			return c, &StepError{Step: "make path absolute", Path: *d, Err: errnoOf(err)}
		}
		*d = abs
	}
	return c, nil
}

// checkLowerDirs gives a clear error for a lower layer that is missing or
// not a directory, which the kernel would report as a bare EINVAL against
// the target or a staging path.
func checkLowerDirs(cfg OverlayConfig) error {
	for _, l := range cfg.Lower {
		st, err := os.Stat(l.Dir)
		if err != nil {
			return &StepError{Step: "stat lower layer", Path: l.Dir, Err: errnoOf(err)}
		}
		if !st.IsDir() {
			return &StepError{Step: "check lower layer", Path: l.Dir, Err: unix.ENOTDIR, Hint: "every --lower is a directory (a layer of the image)"}
		}
	}
	return nil
}

// checkUpperNotInUse refuses an upper or work directory that is, or is
// inside or around, the upper or work directory of an overlay mounted
// here (made by idmapkit or not, covered or not): overlayfs only warns
// about that, and the two overlays would corrupt each other's view of the
// upper. A symlink or a bind mount does not hide a directory in use (see
// tree.overlaps).
func checkUpperNotInUse(cfg OverlayConfig) error {
	if cfg.Upper == "" {
		return nil
	}
	inUse, err := overlayDirsInUse()
	if err != nil {
		return err
	}
	for _, mine := range []struct{ name, dir string }{{"upper", cfg.Upper}, {"work", cfg.Work}} {
		t, err := newTree(mine.dir)
		if err != nil {
			return &StepError{Step: "resolve " + mine.name + " directory", Path: mine.dir, Err: errnoOf(err)}
		}
		for dir, mountpoint := range inUse {
			if t.overlaps(dir) {
				return &StepError{Step: "check " + mine.name + " directory", Path: mine.dir, Err: unix.EBUSY,
					Hint: fmt.Sprintf("the overlay at %s already uses %s as its upper or work directory; give each overlay its own --upper and --work, apart from every other's", mountpoint, dir)}
			}
		}
	}
	return nil
}

// absPath is path made absolute and, where it exists, free of symlinks; a
// missing path is only made absolute, for the checks that follow to
// report.
func absPath(path string) (string, error) {
	if real, err := resolve(path); err == nil {
		return real, nil
	}
	return filepath.Abs(path)
}
