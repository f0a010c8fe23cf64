//go:build linux

package idmapmount

import (
	"fmt"
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
