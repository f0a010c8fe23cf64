//go:build linux

package idmapmount

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RecordBind records tree, a detached bind mount (open_tree
// OPEN_TREE_CLONE) about to be attached at target, as a fallback bind, so
// that Unmount takes it without --force and List shows it. Call it before
// Attach; if the attach does not happen, remove the record with
// ForgetBind. rec gives Source, Mapping and Method; RecordBind fills in the
// rest and returns the record as written.
func RecordBind(tree *os.File, target string, rec BindRecord, stateDir string) (*BindRecord, error) {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	abs, err := resolve(target)
	if err != nil {
		return nil, &StepError{Step: "resolve target", Path: target, Err: errnoOf(err)}
	}
	id, unique, err := fdMountID(tree)
	if err != nil {
		return nil, &StepError{Step: "statx(STATX_MNT_ID_UNIQUE)", Path: tree.Name(), Err: err}
	}
	rec.Target, rec.MountID, rec.UniqueID = abs, id, unique
	if err := writeJSONFile(bindRecordPath(stateDir, id), &rec, "bind record"); err != nil {
		return nil, err
	}
	return &rec, nil
}

// ForgetBind removes the record RecordBind wrote.
func ForgetBind(rec *BindRecord, stateDir string) error {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	return removeFile(bindRecordPath(stateDir, rec.MountID), "bind record")
}

// bindRecordAt returns the record of the fallback bind mounted at abs (an
// absolute, resolved mount point; the mount visible there), or nil if
// that mount is not one.
func bindRecordAt(stateDir, abs string) (*BindRecord, error) {
	id, _, err := pathMountID(abs)
	if err != nil {
		return nil, nil // gone or over-mounted since the table was read
	}
	return bindRecordOf(stateDir, id, abs)
}

// bindRecordOf returns the record filed under mount ID id for a bind at
// mountpoint, or nil if there is none.
func bindRecordOf(stateDir string, id uint64, mountpoint string) (*BindRecord, error) {
	b, err := os.ReadFile(bindRecordPath(stateDir, id))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &StepError{Step: "read bind record", Path: bindRecordPath(stateDir, id), Err: errnoOf(err)}
	}
	rec, err := parseBindRecord(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bindRecordPath(stateDir, id), err)
	}
	if rec.Target != mountpoint || rec.MountID != id {
		return nil, nil // a stale record of an earlier mount with a reused ID
	}
	return rec, nil
}

// bindRecordIDs returns the mount IDs that have a bind record: none in
// the common case, where List need not look further.
func bindRecordIDs(stateDir string) map[uint64]bool {
	ents, _ := os.ReadDir(filepath.Join(stateDir, "binds"))
	ids := map[uint64]bool{}
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".json")
		if id, err := strconv.ParseUint(n, 10, 64); ok && err == nil {
			ids[id] = true
		}
	}
	return ids
}

// LiveBinds returns the records in stateDir of the fallback binds still
// mounted in this mount namespace, covered by another mount or not.
func LiveBinds(stateDir string) []BindRecord {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	var out []BindRecord
	for id := range bindRecordIDs(stateDir) {
		b, err := os.ReadFile(bindRecordPath(stateDir, id))
		if err != nil {
			continue
		}
		rec, err := parseBindRecord(b)
		if err != nil || rec.MountID != id {
			continue
		}
		if mounted(rec.MountID, rec.UniqueID, rec.Target) {
			out = append(out, *rec)
		}
	}
	return out
}

// mounted reports whether the mount with the given ID is in this mount
// namespace: asked of statmount where the ID is a unique one (Linux 6.8;
// covered mounts count), else told by the mount at target.
func mounted(id uint64, unique bool, target string) bool {
	if unique {
		_, err := Statmount(id, StatmountMntBasic)
		return err == nil
	}
	cur, _, err := pathMountID(target)
	return err == nil && cur == id
}
