package idmapmount

import "fmt"

// Propagation is the mount propagation type of a new mount.
type Propagation string

// The propagation types (mount_namespaces(7)).
const (
	PropagationPrivate    Propagation = "private"
	PropagationShared     Propagation = "shared"
	PropagationSlave      Propagation = "slave"
	PropagationUnbindable Propagation = "unbindable"
)

// ParsePropagation checks a propagation type given by name.
func ParsePropagation(s string) (Propagation, error) {
	switch p := Propagation(s); p {
	case PropagationPrivate, PropagationShared, PropagationSlave, PropagationUnbindable:
		return p, nil
	}
	return "", fmt.Errorf("%w: --propagation %q: want private, shared, slave or unbindable", ErrBadOption, s)
}

// Options say how to make an idmapped mount.
type Options struct {
	// Recursive clones and idmaps every submount of the source too
	// (AT_RECURSIVE); otherwise only the source's own mount is cloned.
	Recursive bool
	// ReadOnly sets MOUNT_ATTR_RDONLY.
	ReadOnly bool
	// Propagation of the new mount; private when empty.
	Propagation Propagation
}

// UnmountOptions say how to unmount.
type UnmountOptions struct {
	// Lazy detaches the mount now and frees it when it is no longer busy
	// (MNT_DETACH).
	Lazy bool
	// Force unmounts even a mount that is not idmapped.
	Force bool
	// StateDir is where Overlay recorded its overlays; DefaultStateDir
	// when empty.
	StateDir string
}
