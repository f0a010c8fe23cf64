//go:build !linux

package idmapmount

import "os"

// The mount code needs Linux; elsewhere every entry point says so.

func Tree(string, *os.File, Options) (*os.File, error)    { return nil, errNotLinux }
func Attach(*os.File, string) error                       { return errNotLinux }
func Mount(string, string, *os.File, Options) error       { return errNotLinux }
func MountMapping(string, string, Mapping, Options) error { return errNotLinux }
func Unmount(string, UnmountOptions) error                { return errNotLinux }
func UsernsFD(Mapping) (*os.File, error)                  { return nil, errNotLinux }
func NewUsernsFD(Mapping) (*os.File, error)               { return nil, errNotLinux }
func (Source) UsernsFD() (*os.File, error)                { return nil, errNotLinux }
