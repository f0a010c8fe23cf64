package idmapmount

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
)

// BindRecord is what idmapkit remembers of a plain bind mount it made in
// place of an idmapped one (the chown fallback: the source was shifted on
// disk, then bind-mounted). The mount table cannot tell such a bind from
// any other, so without the record Unmount would refuse it and List would
// not show it.
//
// A record is a file in StateDir/binds named after the bind's mount ID,
// kept like an OverlayRecord (see there for why a stale one is harmless).
// It is written while the bind is still detached, so a crash cannot leave
// the bind attached without one.
type BindRecord struct {
	Target   string `json:"target"`
	MountID  uint64 `json:"mount_id"`
	UniqueID bool   `json:"unique_id"`
	Source   string `json:"source"`
	// Mapping is the mapping the source was shifted with, as a spec.
	Mapping string `json:"mapping"`
	// Method says how the mount stands in for an idmapped one: "chown"
	// (the source was shifted in place).
	Method string `json:"method"`
}

func bindRecordPath(stateDir string, mountID uint64) string {
	return filepath.Join(stateDir, "binds", strconv.FormatUint(mountID, 10)+".json")
}

func parseBindRecord(b []byte) (*BindRecord, error) {
	var rec BindRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("bind record: %w", err)
	}
	if rec.Target == "" || rec.MountID == 0 {
		return nil, fmt.Errorf("bind record: no target or mount id")
	}
	return &rec, nil
}
