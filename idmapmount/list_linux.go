//go:build linux

package idmapmount

import (
	"fmt"

	"github.com/moby/sys/mountinfo"
)

// ListOptions say where List finds idmapkit's overlay records.
type ListOptions struct {
	// StateDir is the state directory overlays were made with;
	// DefaultStateDir when empty.
	StateDir string
}

// List returns the idmapped mounts of the caller's mount namespace (the
// idmapped option in /proc/self/mountinfo), the overlays made by Overlay
// and the binds recorded by the chown fallback, in mount-table order, with
// their maps and layers where known.
func List(opts ListOptions) ([]ListEntry, error) {
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir
	}
	all, err := mountTable()
	if err != nil {
		return nil, err
	}
	binds := bindRecordIDs(opts.StateDir)
	ids := &mountIDs{}
	out := []ListEntry{}
	for _, m := range all {
		e := ListEntry{Mountpoint: m.Mountpoint, FSType: m.FSType, Source: m.Source, MountID: m.ID,
			IDMapped: IsIDMapped(m), Overlay: IsIDMapkitOverlay(m), Layers: []Layer{}}
		if !e.IDMapped && !e.Overlay {
			if len(binds) > 0 {
				ok, err := addBindRecord(&e, ids.of(m), opts.StateDir)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, e)
				}
			}
			continue
		}
		e.setMaps(Mapping{})
		if e.IDMapped {
			mp, err := statmountMaps(m, ids.of(m))
			if err != nil {
				return nil, err
			}
			e.setMaps(mp)
		}
		if e.Overlay {
			if err := addRecord(&e, ids.of(m), opts.StateDir); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// listedID is the ID records of a listed mount are filed under: its unique
// ID where the kernel has them (Linux 6.8), else its mountinfo ID; ok is
// false where it cannot be told.
type listedID struct {
	id         uint64
	unique, ok bool
}

// mountIDs tells the ID of each listed mount, covered ones included: from
// listmount and statmount where the kernel has them (asked once, when
// first needed), else through the mount point, which only the mount on
// top answers for.
type mountIDs struct {
	asked  bool
	unique map[int]uint64
}

func (r *mountIDs) of(m *mountinfo.Info) listedID {
	if !r.asked {
		r.asked, r.unique = true, uniqueIDs()
	}
	if r.unique != nil {
		id, ok := r.unique[m.ID]
		return listedID{id: id, unique: true, ok: ok}
	}
	id, unique, err := pathMountID(m.Mountpoint)
	if err != nil || unique {
		return listedID{} // unique IDs but no listmount: cannot tell
	}
	return listedID{id: id, ok: id == uint64(m.ID)}
}

// statmountMaps asks the kernel for an idmapped mount's maps. Kernels
// before 6.15 do not tell (statmount is missing or leaves the map bits
// out of its mask), and then the maps stay unknown: that is the answer,
// not an error.
func statmountMaps(m *mountinfo.Info, id listedID) (Mapping, error) {
	var mp Mapping
	if !id.ok || !id.unique {
		return mp, nil
	}
	sm, err := Statmount(id.id, StatmountMntUIDMap|StatmountMntGIDMap)
	if err != nil {
		return mp, nil
	}
	if sm.Mask&StatmountMntUIDMap != 0 {
		if mp.UID, err = parseStatmountIDMap(sm.UIDMap); err != nil {
			return mp, fmt.Errorf("statmount uid map of %s: %w", m.Mountpoint, err)
		}
	}
	if sm.Mask&StatmountMntGIDMap != 0 {
		if mp.GID, err = parseStatmountIDMap(sm.GIDMap); err != nil {
			return mp, fmt.Errorf("statmount gid map of %s: %w", m.Mountpoint, err)
		}
	}
	return mp, nil
}

// addRecord fills in an overlay's layers and mapping from its record,
// which is only believed if it names this very mount.
// An overlay without a record (made by a process that crashed before
// writing it, or recorded under another state directory) is listed
// without them.
func addRecord(e *ListEntry, id listedID, stateDir string) error {
	if !id.ok {
		return nil // cannot be told, or gone since the table was read
	}
	rec, err := readRecord(stateDir, id.id)
	if err != nil {
		return fmt.Errorf("overlay record of %s: %w", e.Mountpoint, err)
	}
	if rec == nil || rec.Target != e.Mountpoint {
		return nil
	}
	e.Layers = append(e.Layers, rec.Lower...)
	e.Upper = rec.Upper
	mp, err := ParseSpecs(rec.Mapping)
	if err != nil {
		return fmt.Errorf("overlay record of %s: %w", e.Mountpoint, err)
	}
	e.setMaps(mp)
	return nil
}

// addBindRecord fills in a fallback bind's source and mapping from its
// record, and reports whether the mount with that ID is one.
func addBindRecord(e *ListEntry, id listedID, stateDir string) (bool, error) {
	if !id.ok {
		return false, nil
	}
	rec, err := bindRecordOf(stateDir, id.id, e.Mountpoint)
	if err != nil || rec == nil {
		return false, err
	}
	mp, err := ParseSpecs(rec.Mapping)
	if err != nil {
		return false, fmt.Errorf("bind record of %s: %w", e.Mountpoint, err)
	}
	e.setMaps(mp)
	e.Fallback, e.ShiftedSource = rec.Method, rec.Source
	return true, nil
}
