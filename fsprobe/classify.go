package fsprobe

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// Steps of a probe, as attempt.step names them.
const (
	stepUserns   = "make user namespace"
	stepOpenTree = "open_tree"
	stepSetattr  = "mount_setattr"
)

// attempt is what happened when a probe tried to idmap a clone: the step
// that failed (none if err is nil) and the facts needed to read its errno.
type attempt struct {
	step       string
	err        error
	fstype     string
	privileged bool         // the caller has CAP_SYS_ADMIN
	idmapped   bool         // the mount is already idmapped
	control    func() error // the control probe on a private tmpfs, run only for EINVAL
}

// classify reads an attempt. EINVAL from mount_setattr blames the
// filesystem only when the control probe succeeds: the same errno comes
// from a user namespace the kernel will not take, or from a kernel built
// without idmapped mount support, and those are not the filesystem's fault.
func classify(a attempt) (Support, Reason, string) {
	errno := errnoOf(a.err)
	switch {
	case a.err == nil:
		return Yes, ReasonOK, "the mount can be idmapped"
	case errno == syscall.ENOSYS:
		return No, ReasonNoSyscall, fmt.Sprintf("the kernel has no %s: idmapped mounts need Linux 5.12 or later; use a shifting chown instead", a.step)
	case !a.privileged && (errno == syscall.EPERM || a.step == stepUserns):
		return Unknown, ReasonNotPrivileged, "idmapping a mount needs CAP_SYS_ADMIN: run as root"
	case a.step == stepSetattr && errno == syscall.EPERM && a.idmapped:
		return No, ReasonAlreadyIDMapped, "the mount is already idmapped and the kernel will not idmap a mount twice: probe the original directory"
	case a.step == stepSetattr && errno == syscall.EINVAL:
		return classifyEINVAL(a)
	case a.step == stepOpenTree:
		return Unknown, ReasonCannotClone, fmt.Sprintf("cannot clone the mount (open_tree: %v); an unbindable mount or a locked one cannot be idmapped", a.err)
	}
	return Unknown, ReasonError, fmt.Sprintf("%s: %v", a.step, a.err)
}

func classifyEINVAL(a attempt) (Support, Reason, string) {
	if a.control == nil {
		return Unknown, ReasonKernelRefuses, "mount_setattr: EINVAL and no control probe was run"
	}
	if cerr := a.control(); cerr != nil {
		return Unknown, ReasonKernelRefuses, fmt.Sprintf("the kernel refuses to idmap a private tmpfs too (%v), so this says nothing about %s", cerr, a.fstype)
	}
	if a.fstype == "overlay" {
		return No, ReasonFSUnsupported, "overlayfs itself cannot be idmapped (a private tmpfs can); idmap its layers instead and build the overlay from them (idmapkit overlay)"
	}
	if idmapmount.IsFUSE(a.fstype) {
		return No, ReasonFSUnsupported, fmt.Sprintf("this %s mount cannot be idmapped: %s; use a shifting chown instead", a.fstype, idmapmount.FUSENoOptIn)
	}
	return No, ReasonFSUnsupported, fmt.Sprintf("filesystem %s does not support idmapped mounts (a private tmpfs does); use a shifting chown instead", a.fstype)
}

// result fills the verdict fields of r from an attempt.
func (r *Result) setVerdict(a attempt) {
	r.Supported, r.Reason, r.Detail = classify(a)
	r.Errno = errnoName(a.err)
	r.err = a.err
	if r.Reason == ReasonNotPrivileged {
		r.err = fmt.Errorf("%w: %w", ErrNotPrivileged, a.err)
	}
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

func errnoName(err error) string {
	errno := errnoOf(err)
	if errno == 0 {
		return ""
	}
	if name := unix.ErrnoName(errno); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", int(errno))
}
