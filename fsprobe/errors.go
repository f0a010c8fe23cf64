package fsprobe

import "errors"

// Sentinel errors. Errors from this package match them with errors.Is;
// those from a system call also match the errno.
var (
	// ErrNotPrivileged is returned where a probe cannot answer because the
	// caller lacks CAP_SYS_ADMIN.
	ErrNotPrivileged = errors.New("probing idmapped mounts needs CAP_SYS_ADMIN (run as root)")
	// ErrInterrupted is returned by Matrix when its context is cancelled
	// midway; everything it made is cleaned up before it returns.
	ErrInterrupted = errors.New("matrix interrupted")
)
