//go:build !linux

package chownfallback

import "github.com/idmapkit/idmapkit/idmapmount"

// Mount needs Linux.
func Mount(MountConfig) (*MountReport, error) { return nil, errNotLinux }

// Overlay needs Linux.
func Overlay(string, OverlayConfig) (*OverlayReport, error) { return nil, errNotLinux }

// Get needs Linux.
func (c *Cache) Get(string, idmapmount.Mapping) (*Entry, error) { return nil, errNotLinux }
