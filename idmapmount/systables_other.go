//go:build !linux

package idmapmount

// SystemMountTables needs Linux.
func SystemMountTables() ([]NamespaceTable, error) { return nil, errNotLinux }
