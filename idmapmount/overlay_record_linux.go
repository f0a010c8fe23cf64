//go:build linux

package idmapmount

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// writeRecord writes rec atomically (a temporary file renamed over).
func writeRecord(stateDir string, rec *OverlayRecord) error {
	return writeJSONFile(recordPath(stateDir, rec.MountID), rec, "overlay record")
}

// writeJSONFile writes v as JSON to path atomically (a temporary file
// renamed over), making path's directory if need be.
func writeJSONFile(path string, v any, what string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return &StepError{Step: "make state directory", Path: filepath.Dir(path), Err: errnoOf(err),
			Hint: "idmapkit records its overlays and fallback binds there; pass --state-dir to use another directory"}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return &StepError{Step: "write " + what, Path: tmp, Err: errnoOf(err)}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return &StepError{Step: "rename " + what, Path: path, Err: errnoOf(err)}
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
	return removeFile(recordPath(stateDir, mountID), "overlay record")
}

func removeFile(path, what string) error {
	err := os.Remove(path)
	if err != nil && !os.IsNotExist(err) {
		return &StepError{Step: "remove " + what, Path: path, Err: errnoOf(err)}
	}
	return nil
}
