package idmapmount

import (
	"fmt"
	"os"
	"strings"
)

// DefaultStateDir is where idmapkit keeps its records of the overlays it
// made (and, on kernels before 6.15, its short-lived staging mounts).
// /run is a tmpfs cleared at boot, as the records must be: they name
// mount IDs, which are only unique until the next boot.
const DefaultStateDir = "/run/idmapkit"

// OverlaySource is the source string idmapkit gives every overlay it
// makes. It shows in /proc/self/mountinfo, so the mount table itself says
// which overlays are idmapkit's, whatever happened to its records.
const OverlaySource = "idmapkit"

// Layer is one lower layer of an overlay.
type Layer struct {
	// Dir is the layer's directory.
	Dir string `json:"dir"`
	// AsIs uses Dir as it is, without idmapping it: for a layer whose
	// owners are already the presented IDs, such as a copy shifted by
	// package chownfallback where the filesystem cannot be idmapped.
	AsIs bool `json:"as_is,omitempty"`
}

// OverlayMethod says how the idmapped layers reach the overlay.
type OverlayMethod int

const (
	// MethodAuto uses MethodFDLayers where the kernel takes detached
	// mounts as layers and falls back to MethodStaging where it does not.
	MethodAuto OverlayMethod = iota
	// MethodFDLayers hands each detached idmapped layer to the overlay as
	// a file descriptor (fsconfig FSCONFIG_SET_FD "lowerdir+", Linux 6.13;
	// detached mounts as layers, Linux 6.15). Nothing but the overlay is
	// ever attached.
	MethodFDLayers
	// MethodStaging attaches the idmapped layers under a private staging
	// directory, mounts the overlay from their paths, then detaches the
	// staging mounts (Linux 5.19: idmapped lower layers).
	MethodStaging
)

func (m OverlayMethod) String() string {
	switch m {
	case MethodFDLayers:
		return "fd-layers"
	case MethodStaging:
		return "staging"
	}
	return "auto"
}

// ParseOverlayMethod parses "auto", "fd-layers" or "staging".
func ParseOverlayMethod(s string) (OverlayMethod, error) {
	for _, m := range []OverlayMethod{MethodAuto, MethodFDLayers, MethodStaging} {
		if m.String() == s {
			return m, nil
		}
	}
	return MethodAuto, fmt.Errorf("overlay method %q: want auto, fd-layers or staging", s)
}

// OverlayConfig describes an overlay whose lower layers are idmapped.
type OverlayConfig struct {
	// Lower are the lower layers, the top one first. Each is idmapped on
	// its own (a detached clone of it; the layer itself is untouched) and
	// made read-only, unless it is AsIs.
	Lower []Layer
	// Upper and Work are the overlay's upperdir and workdir, both or
	// neither. They are not idmapped: files the user writes are stored
	// with the presented IDs. An empty Upper gets its root owned by the
	// mapped root (the presented ID of on-disk 0) so that user can write.
	// With no Upper the overlay is read-only.
	Upper, Work string
	// Mapping is the mapping the layers are presented under.
	Mapping Mapping
	// Userns, if set, is the user namespace to idmap with (it must carry
	// Mapping); otherwise the cached one for Mapping is used (UsernsFD).
	Userns *os.File
	// ReadOnly mounts the overlay read-only even with an Upper.
	ReadOnly bool
	// Method forces a way to build the overlay; the zero value picks one.
	Method OverlayMethod
	// StateDir holds the overlay records; DefaultStateDir when empty.
	StateDir string
}

// check reports a config that cannot describe an overlay.
func (c OverlayConfig) check() error {
	if len(c.Lower) == 0 {
		return fmt.Errorf("%w: no lower layer (give at least one --lower DIR)", ErrBadOverlay)
	}
	if (c.Upper == "") != (c.Work == "") {
		return fmt.Errorf("%w: give --upper and --work together, or neither for a read-only overlay", ErrBadOverlay)
	}
	return nil
}

func (c OverlayConfig) stateDir() string {
	if c.StateDir == "" {
		return DefaultStateDir
	}
	return c.StateDir
}

// escapeOverlayPath escapes a path for overlayfs's option parser, which
// splits options at ',' and lowerdir at ':', and takes '\' as escape.
func escapeOverlayPath(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`)
	return r.Replace(p)
}
