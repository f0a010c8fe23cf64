package fsprobe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Kernel finds out, by trying, what the running kernel can do around
// idmapped mounts (see the Check* names). Every try uses detached mounts
// and scratch directories in a private temporary directory, removed
// before it returns; the two that need a mount attached do it in a
// private mount namespace of their own (see inScratchNS). The mount table
// is unchanged. Without CAP_SYS_ADMIN every check is Unknown.
func (p *Prober) Kernel() Kernel {
	k := Kernel{Release: release()}
	userns, err := p.usernsFD()
	if err == nil {
		var dir string
		if dir, err = os.MkdirTemp("", "idmapkit-probe-"); err == nil {
			defer os.RemoveAll(dir)
			k.Checks = p.kernelChecks(dir, userns)
			return k
		}
	}
	if !p.privileged {
		err = fmt.Errorf("%w: %w", ErrNotPrivileged, err)
	}
	for _, name := range []string{CheckMounts, CheckOverlayIDMapped, CheckOverlayFDLayers, CheckOverlayDetached, CheckStatmountUIDMap} {
		k.Checks = append(k.Checks, Check{Name: name, Supported: Unknown, Errno: errnoName(err), Detail: err.Error()})
	}
	return k
}

func (p *Prober) kernelChecks(dir string, userns *os.File) []Check {
	mounts := checkOf(CheckMounts, "a private tmpfs can be idmapped", noIfENOSYS(p.Control()))
	fdLayers := checkOf(CheckOverlayFDLayers, "overlayfs takes layers as file descriptors (lowerdir+)", tryFDLayers(dir))
	detached := checkOf(CheckOverlayDetached, "overlayfs takes detached idmapped mounts as layers",
		tryDetachedLayers(userns, fdLayers.Supported == Yes))
	lower := Check{Name: CheckOverlayIDMapped, Supported: Yes, Detail: "overlayfs takes idmapped lower layers (detached ones, even)"}
	if detached.Supported != Yes {
		lower = checkOf(CheckOverlayIDMapped, "overlayfs takes idmapped lower layers", tryIDMappedLower(dir, userns))
	}
	statmount := checkOf(CheckStatmountUIDMap, "statmount reports an idmapped mount's uid map", tryStatmountUIDMap(dir, userns))
	return []Check{mounts, lower, fdLayers, detached, statmount}
}

func noIfENOSYS(err error) error {
	if errors.Is(err, unix.ENOSYS) {
		return &refusal{"the kernel has no idmapped mounts (open_tree, mount_setattr: Linux 5.12)", err}
	}
	return err
}

// tryFDLayers makes a detached overlay of two empty directories given to
// fsconfig(FSCONFIG_SET_FD, "lowerdir+") as O_PATH fds.
func tryFDLayers(dir string) error {
	fsfd, err := openOverlay()
	if err != nil {
		return err
	}
	defer unix.Close(fsfd)
	for _, name := range []string{"fd-lower1", "fd-lower2"} {
		l, err := scratchDir(dir, name)
		if err != nil {
			return err
		}
		fd, err := unix.Open(l, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: l, Err: err}
		}
		err = unix.FsconfigSetFd(fsfd, "lowerdir+", fd)
		unix.Close(fd)
		if errors.Is(err, unix.EINVAL) {
			return &refusal{`overlayfs takes no layers as file descriptors (fsconfig "lowerdir+": Linux 6.13)`, err}
		}
		if err != nil {
			return fmt.Errorf(`fsconfig(FSCONFIG_SET_FD, "lowerdir+", %s): %w`, l, err)
		}
	}
	return dropOverlay(fsfd, "")
}

// tryDetachedLayers makes a detached overlay whose two lower layers are
// detached idmapped tmpfs mounts, given by fd or else by /proc/self/fd path.
func tryDetachedLayers(userns *os.File, byFD bool) error {
	var layers []*os.File
	defer func() {
		for _, l := range layers {
			l.Close()
		}
	}()
	for range 2 {
		l, err := idmappedTmpfs(userns)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}
	fsfd, err := openOverlay()
	if err != nil {
		return err
	}
	defer unix.Close(fsfd)
	var paths []string
	for _, l := range layers {
		if byFD {
			if err := unix.FsconfigSetFd(fsfd, "lowerdir+", int(l.Fd())); err != nil {
				return layerRefusal("detached idmapped mounts", err)
			}
		}
		paths = append(paths, fmt.Sprintf("/proc/self/fd/%d", l.Fd()))
	}
	if !byFD {
		if err := unix.FsconfigSetString(fsfd, "lowerdir", strings.Join(paths, ":")); err != nil {
			return layerRefusal("detached idmapped mounts", err)
		}
	}
	return dropOverlay(fsfd, "detached idmapped mounts")
}

// tryIDMappedLower makes a detached overlay over two idmapped tmpfs
// mounts attached, by path, in a scratch mount namespace: the way that
// works before detached layers (Linux 6.15) do.
func tryIDMappedLower(dir string, userns *os.File) error {
	var paths []string
	for _, name := range []string{"idmapped-lower1", "idmapped-lower2"} {
		l, err := scratchDir(dir, name)
		if err != nil {
			return err
		}
		paths = append(paths, l)
	}
	return inScratchNS(func() error {
		for _, l := range paths {
			if err := attachIDMappedTmpfs(l, userns); err != nil {
				return err
			}
		}
		fsfd, err := openOverlay()
		if err != nil {
			return err
		}
		defer unix.Close(fsfd)
		if err := unix.FsconfigSetString(fsfd, "lowerdir", strings.Join(paths, ":")); err != nil {
			return layerRefusal("idmapped mounts", err)
		}
		return dropOverlay(fsfd, "idmapped mounts")
	})
}

func attachIDMappedTmpfs(target string, userns *os.File) error {
	mnt, err := idmappedTmpfs(userns)
	if err != nil {
		return err
	}
	defer mnt.Close()
	return attach(mnt, target)
}

func openOverlay() (int, error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if errors.Is(err, unix.ENODEV) {
		return -1, &refusal{"the kernel has no overlay filesystem (modprobe overlay?)", err}
	}
	if err != nil {
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	return fsfd, nil
}

// dropOverlay creates the configured overlay, mounts it detached and
// frees it again. EINVAL at create is overlayfs refusing the layers.
func dropOverlay(fsfd int, layers string) error {
	mnt, err := createAndMount(fsfd, "overlay")
	if err != nil {
		if layers != "" {
			return layerRefusal(layers, err)
		}
		return err
	}
	return mnt.Close()
}

func layerRefusal(layers string, err error) error {
	if errors.Is(err, unix.EINVAL) {
		return &refusal{"overlayfs refuses " + layers + " as layers", err}
	}
	return err
}

func scratchDir(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.Mkdir(p, 0o700); err != nil {
		return "", err
	}
	return p, nil
}

func release() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
