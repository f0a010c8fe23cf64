package fsprobe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Matrix makes a scratch filesystem of every type in matrixFS that this
// machine can make (tmpfs, ramfs, ext4, ext2 mounted as ext4, xfs, btrfs,
// squashfs, erofs, overlay; a type whose mkfs is missing or that the
// kernel lacks gets an Unknown row saying so), tries to idmap each, and
// returns one Result per type. Every filesystem is a detached mount that
// is never attached, on a loop device that clears itself; images live in
// a private temporary directory. All is gone when Matrix returns, also
// when ctx is cancelled midway (ErrInterrupted) or a step fails, and a
// killed process leaks no mount or loop device, only that directory.
func (p *Prober) Matrix(ctx context.Context) (_ []Result, retErr error) {
	if !p.privileged {
		return nil, fmt.Errorf("matrix: %w", ErrNotPrivileged)
	}
	dir, err := os.MkdirTemp("", "idmapkit-matrix-")
	if err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil && retErr == nil {
			retErr = fmt.Errorf("matrix: clean up: %w", err)
		}
	}()
	src, err := sourceTree(dir)
	if err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	out := make([]Result, 0, len(matrixFS))
	for _, s := range matrixFS {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		out = append(out, p.probeScratch(ctx, dir, src, s))
		if afterScratch != nil {
			afterScratch(s.Name)
		}
	}
	return out, nil
}

// afterScratch, if set, is called after each row (a test's hook to cancel
// the matrix midway).
var afterScratch func(name string)

// probeScratch makes one scratch filesystem, tries to idmap it, and
// frees it.
func (p *Prober) probeScratch(ctx context.Context, dir, src string, s scratchFS) (r Result) {
	r = Result{Path: s.Name, FSType: s.FSType}
	mnt, loop, err := makeScratch(ctx, dir, src, s)
	if err != nil {
		r.Supported, r.Reason, r.Errno, r.Detail, r.err = Unknown, scratchReason(err), errnoName(err), err.Error(), err
		return r
	}
	r.Source = mnt.Name()
	defer func() {
		mnt.Close()
		if loop == nil {
			return
		}
		if err := loop.Close(); err != nil {
			r.Detail += "; clean up: " + err.Error()
		}
	}()
	a := attempt{step: stepSetattr, fstype: s.FSType, privileged: p.privileged, control: p.Control}
	if userns, err := p.usernsFD(); err != nil {
		a.step, a.err = stepUserns, err
	} else {
		// The scratch mount is fresh and never attached: idmapping it
		// is the same check the kernel makes on a clone.
		a.err = idmapDetached(mnt, userns)
	}
	r.setVerdict(a)
	return r
}

// errNoTool marks a scratch type whose mkfs is not installed.
var errNoTool = errors.New("not installed")

func scratchReason(err error) Reason {
	switch {
	case errors.Is(err, errNoTool):
		return ReasonNoTool
	case errors.Is(err, unix.ENODEV):
		return ReasonNoFS
	}
	return ReasonError
}

// makeScratch returns the detached mount of a new scratch filesystem and,
// for one on an image, its loop device (close the mount first).
func makeScratch(ctx context.Context, dir, src string, s scratchFS) (*os.File, *loopDevice, error) {
	switch {
	case s.FSType == "overlay":
		l1, err1 := scratchDir(dir, "overlay-lower1")
		l2, err2 := scratchDir(dir, "overlay-lower2")
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, err
		}
		mnt, err := newDetached("overlay", "overlay", fsParam{"lowerdir", l1 + ":" + l2})
		return mnt, nil, err
	case s.mkfs == nil:
		mnt, err := newDetached(s.FSType, s.FSType)
		return mnt, nil, err
	}
	img, err := makeImage(ctx, dir, src, s)
	if err != nil {
		return nil, nil, err
	}
	loop, err := newLoop(img)
	if err != nil {
		return nil, nil, err
	}
	mnt, err := newDetached(s.FSType, loop.Path())
	if err != nil {
		return nil, nil, errors.Join(err, loop.Close())
	}
	return mnt, loop, nil
}

// makeImage runs the type's mkfs on a new image file.
func makeImage(ctx context.Context, dir, src string, s scratchFS) (string, error) {
	tool, err := exec.LookPath(s.mkfs[0])
	if err != nil {
		return "", fmt.Errorf("%s: %w (install it to probe %s)", s.mkfs[0], errNoTool, s.Name)
	}
	img := filepath.Join(dir, strings.ReplaceAll(s.Name, " ", "-")+".img")
	if s.blank > 0 {
		if err := sparseFile(img, s.blank); err != nil {
			return "", err
		}
	}
	args := make([]string, 0, len(s.mkfs)-1)
	for _, a := range s.mkfs[1:] {
		args = append(args, strings.NewReplacer("IMG", img, "SRC", src).Replace(a))
	}
	if out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", s.mkfs[0], strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return img, nil
}

func sparseFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sourceTree is the small tree the read-only images are built from.
func sourceTree(dir string) (string, error) {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "dir"), 0o755); err != nil {
		return "", err
	}
	return src, os.WriteFile(filepath.Join(src, "dir", "file"), []byte("idmapkit\n"), 0o644)
}
