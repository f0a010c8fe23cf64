package idmapmount

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
)

// OverlayRecord is what idmapkit remembers about an overlay it made, for
// list and umount. The mount table names the overlay (source "idmapkit")
// but not its layers: with fd layers overlayfs shows each as "/", and with
// staging it shows staging paths that are gone a moment later.
//
// A record is a file in StateDir/overlays named after the overlay's mount
// ID. Where the kernel has unique mount IDs (statx STATX_MNT_ID_UNIQUE,
// Linux 6.8) that ID is never reused before a reboot, and /run is emptied
// at boot, so a record left behind by a crash or by an unmount that was not
// idmapkit's can never be taken for another mount's: it is simply never
// matched again. The fd-layers path writes the record before it attaches
// the overlay, so a crash cannot leave an overlay without one.
type OverlayRecord struct {
	Target   string  `json:"target"`
	MountID  uint64  `json:"mount_id"`
	UniqueID bool    `json:"unique_id"`
	Lower    []Layer `json:"lower"`
	Upper    string  `json:"upper,omitempty"`
	Work     string  `json:"work,omitempty"`
	Mapping  string  `json:"mapping"`
	ReadOnly bool    `json:"read_only"`
	Method   string  `json:"method"`
}

func recordPath(stateDir string, mountID uint64) string {
	return filepath.Join(stateDir, "overlays", strconv.FormatUint(mountID, 10)+".json")
}

// parseRecord decodes a record file.
func parseRecord(b []byte) (*OverlayRecord, error) {
	var rec OverlayRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("overlay record: %w", err)
	}
	if rec.Target == "" || rec.MountID == 0 {
		return nil, fmt.Errorf("overlay record: no target or mount id")
	}
	return &rec, nil
}
