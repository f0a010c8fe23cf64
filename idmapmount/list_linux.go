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
	out := []ListEntry{}
	for _, m := range all {
		e := ListEntry{Mountpoint: m.Mountpoint, FSType: m.FSType, Source: m.Source, MountID: m.ID,
			IDMapped: IsIDMapped(m), Overlay: IsIDMapkitOverlay(m), Layers: []Layer{}}
		if !e.IDMapped && !e.Overlay {
			if len(binds) > 0 {
				ok, err := addBindRecord(&e, m, opts.StateDir)
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
			mp, err := statmountMaps(m)
			if err != nil {
				return nil, err
			}
			e.setMaps(mp)
		}
		if e.Overlay {
			if err := addRecord(&e, m, opts.StateDir); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// uniqueID returns the unique mount ID of the mount m, if the mount at
// its mount point is m (it may be over-mounted) and the kernel has unique
// IDs (Linux 6.8).
func uniqueID(m *mountinfo.Info) (uint64, bool) {
	if _, unique, err := pathMountID(m.Mountpoint); err != nil || !unique {
		return 0, false
	}
	return recordID(m)
}

// recordID returns the ID idmapkit files records of the mount m under
// (its unique ID where the kernel has them, else its mountinfo ID), and
// whether m is the mount visible at its mount point: a record found
// through the path belongs to that one, not to a mount it covers.
func recordID(m *mountinfo.Info) (uint64, bool) {
	id, unique, err := pathMountID(m.Mountpoint)
	if err != nil {
		return 0, false
	}
	if !unique {
		return id, id == uint64(m.ID)
	}
	sm, err := Statmount(id, StatmountMntBasic)
	if err != nil || sm.MntIDOld != uint32(m.ID) {
		return 0, false
	}
	return id, true
}

// statmountMaps asks the kernel for an idmapped mount's maps. Kernels
// before 6.15 do not tell (statmount is missing or leaves the map bits
// out of its mask), and then the maps stay unknown: that is the answer,
// not an error.
func statmountMaps(m *mountinfo.Info) (Mapping, error) {
	var mp Mapping
	id, ok := uniqueID(m)
	if !ok {
		return mp, nil
	}
	sm, err := Statmount(id, StatmountMntUIDMap|StatmountMntGIDMap)
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
func addRecord(e *ListEntry, m *mountinfo.Info, stateDir string) error {
	id, ok := recordID(m)
	if !ok {
		return nil // over-mounted or gone since the table was read
	}
	rec, err := readRecord(stateDir, id)
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
// record, and reports whether the mount m is one.
func addBindRecord(e *ListEntry, m *mountinfo.Info, stateDir string) (bool, error) {
	id, ok := recordID(m)
	if !ok {
		return false, nil
	}
	rec, err := bindRecordOf(stateDir, id, e.Mountpoint)
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
