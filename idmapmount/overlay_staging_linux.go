//go:build linux

package idmapmount

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// staging is a private tmpfs under the state directory on which the
// idmapped layers are attached while an overlay is built from their paths,
// for kernels that cannot take detached mounts as layers. overlayfs keeps
// its own private clone of each layer, so the staging mounts can go as
// soon as the overlay exists.
type staging struct {
	dir     string
	mounted bool
}

// newStaging makes the staging directory and mounts a private tmpfs on
// it: private so that the layers attached below it are not propagated to
// any peer mount namespace, and a tmpfs so that one MNT_DETACH takes it
// and every layer below it away at once.
func newStaging(stateDir string) (_ *staging, retErr error) {
	parent := filepath.Join(stateDir, "staging")
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, &StepError{Step: "make staging directory", Path: parent, Err: errnoOf(err),
			Hint: "pass --state-dir to use another directory"}
	}
	dir, err := os.MkdirTemp(parent, strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, &StepError{Step: "make staging directory", Path: parent, Err: errnoOf(err)}
	}
	s := &staging{dir: dir}
	defer func() {
		if retErr != nil {
			s.remove()
		}
	}()
	if err := unix.Mount("idmapkit-staging", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700"); err != nil {
		return nil, &StepError{Step: "mount", Flags: "tmpfs", Path: dir, Err: err}
	}
	s.mounted = true
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return nil, &StepError{Step: "mount", Flags: "MS_PRIVATE", Path: dir, Err: err}
	}
	return s, nil
}

// attach attaches a read-only idmapped clone of dir as layer i of the
// staging directory and returns its path.
func (s *staging) attach(i int, dir string, userns *os.File) (string, error) {
	p := filepath.Join(s.dir, strconv.Itoa(i))
	if err := os.Mkdir(p, 0o700); err != nil {
		return "", &StepError{Step: "make staging layer directory", Path: p, Err: errnoOf(err)}
	}
	tree, err := Tree(dir, userns, Options{ReadOnly: true})
	if err != nil {
		return "", err
	}
	defer tree.Close()
	return p, Attach(tree, p)
}

// remove detaches the tmpfs and the layers on it and removes the
// directory. It can be called more than once.
func (s *staging) remove() error {
	var errs []error
	if s.mounted {
		if err := unix.Unmount(s.dir, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil {
			errs = append(errs, &StepError{Step: "umount2", Flags: "MNT_DETACH", Path: s.dir, Err: err})
		} else {
			s.mounted = false
		}
	}
	if !s.mounted {
		if err := os.Remove(s.dir); err != nil && !os.IsNotExist(err) {
			errs = append(errs, &StepError{Step: "remove staging directory", Path: s.dir, Err: errnoOf(err)})
		}
	}
	return errors.Join(errs...)
}

// overlayStaging builds the overlay from idmapped layers attached under a
// staging directory, then removes the staging mounts, so that only the
// overlay is left in the mount table. The overlay is mounted with
// mount(2): its option string may be a page long, where fsconfig takes
// 255 bytes.
func overlayStaging(target string, cfg OverlayConfig, userns *os.File) (_ *OverlayRecord, retErr error) {
	s, err := newStaging(cfg.stateDir())
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, s.remove())
		}
	}()
	lowers := make([]string, len(cfg.Lower))
	for i, l := range cfg.Lower {
		lowers[i] = l.Dir
		if !l.AsIs {
			if lowers[i], err = s.attach(i, l.Dir, userns); err != nil {
				return nil, err
			}
		}
	}
	if err := mountOverlay(target, lowers, cfg); err != nil {
		return nil, err
	}
	// overlayfs holds its own clones of the layers: the staging mounts
	// can go now, before anything else can fail.
	err = s.remove()
	var rec *OverlayRecord
	if err == nil {
		rec, err = recordStaged(target, cfg)
	}
	if err != nil {
		if uerr := unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); uerr != nil {
			err = errors.Join(err, &StepError{Step: "umount2", Flags: "MNT_DETACH", Path: target, Err: uerr})
		}
		return nil, err
	}
	return rec, nil
}

// mountOverlay mounts the overlay with lowerdir paths.
func mountOverlay(target string, lowers []string, cfg OverlayConfig) error {
	esc := make([]string, len(lowers))
	for i, l := range lowers {
		esc[i] = escapeOverlayPath(l)
	}
	data := "lowerdir=" + strings.Join(esc, ":")
	if cfg.Upper != "" {
		data += ",upperdir=" + escapeOverlayPath(cfg.Upper) + ",workdir=" + escapeOverlayPath(cfg.Work)
	}
	var flags uintptr
	if overlayAttr(cfg) != 0 {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount(OverlaySource, target, "overlay", flags, data); err != nil {
		return explainOverlay(&StepError{Step: "mount", Flags: "overlay", Path: target, Err: err,
			Hint: "the kernel logs why: dmesg | grep overlayfs"})
	}
	return nil
}

// recordStaged records the overlay just mounted at target. Unlike the
// fd-layers path this can only happen after the overlay is attached.
func recordStaged(target string, cfg OverlayConfig) (*OverlayRecord, error) {
	f, err := os.OpenFile(target, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &StepError{Step: "open", Path: target, Err: errnoOf(err)}
	}
	defer f.Close()
	rec, err := newRecord(f, target, cfg, MethodStaging)
	if err != nil {
		return nil, err
	}
	return rec, writeRecord(cfg.stateDir(), rec)
}
