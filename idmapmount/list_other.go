//go:build !linux

package idmapmount

// ListOptions say where List finds idmapkit's overlay records.
type ListOptions struct{ StateDir string }

// List needs Linux.
func List(ListOptions) ([]ListEntry, error) { return nil, errNotLinux }
