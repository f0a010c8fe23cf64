package fsprobe

import "errors"

// Names of the kernel checks, as Kernel.Checks and the NFD labels
// (idmap.NAME) give them.
const (
	CheckMounts          = "mounts"                  // idmapped mounts at all (a private tmpfs can be idmapped)
	CheckOverlayIDMapped = "overlay.idmapped-lower"  // overlayfs takes idmapped lower layers (5.19)
	CheckOverlayFDLayers = "overlay.fd-layers"       // fsconfig(FSCONFIG_SET_FD, "lowerdir+") (6.13)
	CheckOverlayDetached = "overlay.detached-layers" // detached idmapped mounts as layers (6.15)
	CheckStatmountUIDMap = "statmount.uidmap"        // statmount(STATMOUNT_MNT_UIDMAP) (6.15)
)

// Check is the answer to one kernel capability, found by trying it.
type Check struct {
	Name      string  `json:"name"`
	Supported Support `json:"supported"`
	Errno     string  `json:"errno,omitempty"`
	Detail    string  `json:"detail"`
}

// Kernel is what the running kernel can do around idmapped mounts.
type Kernel struct {
	Release string  `json:"release"` // uname -r
	Checks  []Check `json:"checks"`
}

// Check returns the check with the name, and whether there is one.
func (k Kernel) Check(name string) (Check, bool) {
	for _, c := range k.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// refusal is a definite "no" from the kernel, as opposed to a failure
// that says nothing about the capability.
type refusal struct {
	why string
	err error
}

func (r *refusal) Error() string { return r.why + ": " + r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// checkOf turns the error of a try into a Check: nil is Yes, a refusal
// is No, and anything else is Unknown.
func checkOf(name, yes string, err error) Check {
	c := Check{Name: name, Supported: Yes, Detail: yes}
	if err == nil {
		return c
	}
	c.Errno, c.Supported, c.Detail = errnoName(err), Unknown, err.Error()
	var r *refusal
	if errors.As(err, &r) {
		c.Supported = No
	}
	return c
}
