package fsprobe

// Support is a probe's answer.
type Support string

// The three answers. Unknown means the probe could not tell; Result.Reason
// and Result.Errno say why.
const (
	Yes     Support = "yes"
	No      Support = "no"
	Unknown Support = "unknown"
)

// Reason is a short, stable code for why a probe answered as it did.
type Reason string

// Reasons a probe gives.
const (
	ReasonOK              Reason = "ok"               // the idmap was applied to the clone
	ReasonNoSyscall       Reason = "no-syscall"       // ENOSYS: no open_tree or mount_setattr
	ReasonNotPrivileged   Reason = "not-privileged"   // no CAP_SYS_ADMIN
	ReasonFSUnsupported   Reason = "fs-unsupported"   // EINVAL from mount_setattr, control probe fine
	ReasonAlreadyIDMapped Reason = "already-idmapped" // EPERM on an idmapped mount
	ReasonKernelRefuses   Reason = "kernel-refuses"   // EINVAL here and on the control tmpfs too
	ReasonCannotClone     Reason = "cannot-clone"     // open_tree(OPEN_TREE_CLONE) failed
	ReasonShadowed        Reason = "shadowed"         // over-mounted: its path reaches another mount
	ReasonAutomount       Reason = "automount"        // an autofs trigger: probing would mount it
	ReasonNoTool          Reason = "no-tool"          // Matrix: no mkfs for this type
	ReasonNoFS            Reason = "no-fs"            // Matrix: the kernel has no such filesystem
	ReasonError           Reason = "error"            // anything else; see Errno
)

// Result is the answer for one mount.
type Result struct {
	Path       string  `json:"path"`       // as asked, resolved; for Matrix the scratch filesystem's name
	Mountpoint string  `json:"mountpoint"` // of the mount that holds Path ("" for a detached scratch mount)
	MountID    int     `json:"mount_id"`   // the ID in /proc/self/mountinfo (0 if detached)
	FSType     string  `json:"fstype"`
	Source     string  `json:"source"`
	Supported  Support `json:"supported"`
	Reason     Reason  `json:"reason"`
	Errno      string  `json:"errno,omitempty"` // "EINVAL", ...
	Detail     string  `json:"detail"`          // a human sentence, with a hint when the cause is known

	err error // the raw error of the failed step, for Err
}

// Err returns the error the probe met (nil when Supported is Yes). It
// matches the errno with errors.Is, and ErrNotPrivileged for a caller
// without CAP_SYS_ADMIN.
func (r Result) Err() error { return r.err }

// Blockers returns the results that are not Yes: the submounts that would
// make a recursive idmapped mount fail.
func Blockers(results []Result) []Result {
	out := []Result{}
	for _, r := range results {
		if r.Supported != Yes {
			out = append(out, r)
		}
	}
	return out
}
