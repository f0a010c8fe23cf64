package fsprobe

import (
	"errors"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	ok := func() error { return nil }
	broken := func() error { return syscall.EINVAL }
	for _, tc := range []struct {
		name   string
		a      attempt
		want   Support
		reason Reason
	}{
		{"worked", attempt{privileged: true}, Yes, ReasonOK},
		{"no mount_setattr", attempt{step: stepSetattr, err: syscall.ENOSYS, privileged: true}, No, ReasonNoSyscall},
		{"no open_tree", attempt{step: stepOpenTree, err: syscall.ENOSYS, privileged: true}, No, ReasonNoSyscall},
		{"ENOSYS even unprivileged", attempt{step: stepOpenTree, err: syscall.ENOSYS}, No, ReasonNoSyscall},
		{"unprivileged clone", attempt{step: stepOpenTree, err: syscall.EPERM}, Unknown, ReasonNotPrivileged},
		{"unprivileged userns", attempt{step: stepUserns, err: syscall.EPERM}, Unknown, ReasonNotPrivileged},
		{"unprivileged, idmapped mount", attempt{step: stepSetattr, err: syscall.EPERM, idmapped: true}, Unknown, ReasonNotPrivileged},
		{"already idmapped", attempt{step: stepSetattr, err: syscall.EPERM, privileged: true, idmapped: true}, No, ReasonAlreadyIDMapped},
		{"EPERM for another reason", attempt{step: stepSetattr, err: syscall.EPERM, privileged: true}, Unknown, ReasonError},
		{"fs cannot", attempt{step: stepSetattr, err: syscall.EINVAL, privileged: true, control: ok}, No, ReasonFSUnsupported},
		{"kernel-wide EINVAL", attempt{step: stepSetattr, err: syscall.EINVAL, privileged: true, control: broken}, Unknown, ReasonKernelRefuses},
		{"no control", attempt{step: stepSetattr, err: syscall.EINVAL, privileged: true}, Unknown, ReasonKernelRefuses},
		{"unbindable", attempt{step: stepOpenTree, err: syscall.EINVAL, privileged: true, control: ok}, Unknown, ReasonCannotClone},
		{"other errno", attempt{step: stepSetattr, err: syscall.EBUSY, privileged: true}, Unknown, ReasonError},
		{"userns, privileged", attempt{step: stepUserns, err: syscall.ENOSPC, privileged: true}, Unknown, ReasonError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r, detail := classify(tc.a)
			if s != tc.want || r != tc.reason || detail == "" {
				t.Fatalf("classify = %s/%s (%q), want %s/%s", s, r, detail, tc.want, tc.reason)
			}
		})
	}
}

// EINVAL blames the filesystem only after the control probe ran.
func TestClassifyRunsControlOnlyForEINVAL(t *testing.T) {
	runs := 0
	control := func() error { runs++; return nil }
	for _, err := range []error{nil, syscall.EPERM, syscall.ENOSYS, syscall.EINVAL} {
		classify(attempt{step: stepSetattr, err: err, privileged: true, control: control})
	}
	if runs != 1 {
		t.Fatalf("control probe ran %d times, want once (for EINVAL)", runs)
	}
}

func TestSetVerdictErr(t *testing.T) {
	var r Result
	r.setVerdict(attempt{step: stepUserns, err: syscall.EPERM})
	if !errors.Is(r.Err(), ErrNotPrivileged) || !errors.Is(r.Err(), syscall.EPERM) || r.Errno != "EPERM" {
		t.Fatalf("Err() = %v, Errno %q: want ErrNotPrivileged and EPERM", r.Err(), r.Errno)
	}
	r = Result{}
	r.setVerdict(attempt{privileged: true})
	if r.Err() != nil || r.Errno != "" {
		t.Fatalf("a yes has Err %v, Errno %q", r.Err(), r.Errno)
	}
}

func TestBlockers(t *testing.T) {
	got := Blockers([]Result{{Path: "a", Supported: Yes}, {Path: "b", Supported: No}, {Path: "c", Supported: Unknown}})
	if len(got) != 2 || got[0].Path != "b" || got[1].Path != "c" {
		t.Fatalf("Blockers = %+v", got)
	}
	if got := Blockers(nil); got == nil || len(got) != 0 {
		t.Fatalf("Blockers(nil) = %#v, want an empty, non-nil slice (JSON [])", got)
	}
}
