//go:build !linux

package idmapmount

import "errors"

var errNotLinux = errors.New("idmapped mounts need Linux")

func usernsMapping(string) (Mapping, error) { return Mapping{}, errNotLinux }
