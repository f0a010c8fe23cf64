package idmapmount

import (
	"strings"
)

// ListEntry is one mount List reports: an idmapped mount, an overlay
// made by Overlay (which does not carry the idmapped option itself: its
// layers do), or a bind recorded by the chown fallback (RecordBind).
type ListEntry struct {
	Mountpoint string `json:"mountpoint"`
	FSType     string `json:"fstype"`
	Source     string `json:"source"`
	// MountID is the ID in /proc/self/mountinfo.
	MountID int `json:"mount_id"`
	// IDMapped says the mount carries the idmapped option.
	IDMapped bool `json:"idmapped"`
	// Overlay says the mount is an overlay made by idmapkit.
	Overlay bool `json:"overlay"`
	// UIDMap and GIDMap are the mount's maps (on-disk From+i presented as
	// To+i), from statmount (Linux 6.15) for an idmapped mount, from the
	// record for an overlay; empty where unknown.
	UIDMap IDMap `json:"uid_map"`
	GIDMap IDMap `json:"gid_map"`
	// Mapping is UIDMap and GIDMap as a spec; empty where unknown.
	Mapping string `json:"mapping"`
	// Layers are an overlay's lower layers, top first, where recorded.
	Layers []Layer `json:"layers"`
	// Upper is an overlay's upper directory, if it has one.
	Upper string `json:"upper,omitempty"`
	// Fallback is "chown" for a plain bind made by the chown fallback in
	// place of an idmapped mount (chownfallback.Mount): ShiftedSource was
	// shifted on disk with Mapping and bind-mounted here.
	Fallback      string `json:"fallback,omitempty"`
	ShiftedSource string `json:"shifted_source,omitempty"`
}

// parseStatmountIDMap parses the uid or gid map statmount returns: one
// "INSIDE OUTSIDE COUNT" string per extent, inside being the on-disk ID.
func parseStatmountIDMap(lines []string) (IDMap, error) {
	im, err := ParseProcIDMap(strings.NewReader(strings.Join(lines, "\n")))
	if im == nil {
		im = IDMap{}
	}
	return im, err
}

// setMaps fills in the maps of e and their spec.
func (e *ListEntry) setMaps(m Mapping) {
	e.UIDMap, e.GIDMap = m.UID, m.GID
	if e.UIDMap == nil {
		e.UIDMap = IDMap{}
	}
	if e.GIDMap == nil {
		e.GIDMap = IDMap{}
	}
	if !m.Empty() {
		e.Mapping = m.String()
	}
}
