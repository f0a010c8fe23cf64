//go:build !linux

package idmapmount

// Overlay needs Linux.
func Overlay(string, OverlayConfig) (*OverlayRecord, error) { return nil, errNotLinux }
