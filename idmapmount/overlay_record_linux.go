//go:build linux

package idmapmount

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// writeRecord writes rec atomically (a temporary file renamed over).
func writeRecord(stateDir string, rec *OverlayRecord) error {
	path := recordPath(stateDir, rec.MountID)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return &StepError{Step: "make state directory", Path: filepath.Dir(path), Err: errnoOf(err),
			Hint: "idmapkit records its overlays there; pass --state-dir to use another directory"}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return &StepError{Step: "write overlay record", Path: tmp, Err: errnoOf(err)}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return &StepError{Step: "rename overlay record", Path: path, Err: errnoOf(err)}
	}
	return nil
}

// readRecord returns the record for mountID, or nil if there is none.
func readRecord(stateDir string, mountID uint64) (*OverlayRecord, error) {
	b, err := os.ReadFile(recordPath(stateDir, mountID))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseRecord(b)
}

func removeRecord(stateDir string, mountID uint64) error {
	err := os.Remove(recordPath(stateDir, mountID))
	if err != nil && !os.IsNotExist(err) {
		return &StepError{Step: "remove overlay record", Path: recordPath(stateDir, mountID), Err: errnoOf(err)}
	}
	return nil
}
