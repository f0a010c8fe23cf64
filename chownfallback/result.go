package chownfallback

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Unmapped says what Shift does about IDs in no extent of the mapping.
type Unmapped int

const (
	// UnmappedKeep leaves such IDs as they are and lists them in the
	// Result (the default).
	UnmappedKeep Unmapped = iota
	// UnmappedFail first walks the tree without changing it and refuses,
	// with ErrUnmapped, if it holds any such ID.
	UnmappedFail
)

// Options say how Shift walks and what it does.
type Options struct {
	// Jobs is the number of directories worked on at once; 0 means the
	// number of CPUs.
	Jobs int
	// DryRun changes nothing and reports what would change.
	DryRun bool
	// Unmapped is the policy for IDs outside the mapping.
	Unmapped Unmapped
	// Seen, if set, counts the inodes as they are seen (in batches), for a
	// progress display.
	Seen *atomic.Uint64
	// AfterWrite, if set, is called after every change written to the
	// tree. Tests use it to kill the process at every point of a shift.
	AfterWrite func()
}

// IDRange is a run of consecutive IDs found in a tree.
type IDRange struct {
	First uint32 `json:"first"`
	Last  uint32 `json:"last"`
	IDs   uint64 `json:"ids"`  // distinct IDs in the run (Last-First+1)
	Uses  uint64 `json:"uses"` // owners, ACL entries and capability owners using them
}

// InodeError is an inode that could not be shifted or read.
type InodeError struct {
	Path string `json:"path"`
	Step string `json:"step"`
	Err  error  `json:"-"`
	Msg  string `json:"error"`
}

func (e *InodeError) Error() string { return fmt.Sprintf("%s %q: %s", e.Step, e.Path, e.Msg) }
func (e *InodeError) Unwrap() error { return e.Err }

// maxErrors bounds the errors a Result keeps (all are counted): a tree on
// a failing disk must not make the error list grow with the tree.
const maxErrors = 1000

// Result is what a Shift did.
type Result struct {
	Dir          string        `json:"dir"`
	Mapping      string        `json:"mapping"`
	DryRun       bool          `json:"dry_run"`
	Seen         uint64        `json:"seen"`         // inodes visited (a hardlinked inode once)
	Changed      uint64        `json:"changed"`      // inodes changed (or that would be, with DryRun)
	AlreadyDone  uint64        `json:"already_done"` // inodes that needed no change
	Restored     uint64        `json:"restored"`     // inodes finished from a record a killed run left
	Unmapped     uint64        `json:"unmapped"`     // inodes holding an ID outside the mapping
	UnmappedUIDs []IDRange     `json:"unmapped_uids"`
	UnmappedGIDs []IDRange     `json:"unmapped_gids"`
	MountPoints  []string      `json:"mount_points"` // not crossed
	ErrorCount   uint64        `json:"error_count"`
	Errors       []*InodeError `json:"errors"` // the first maxErrors
	Warnings     []string      `json:"warnings"`
	Seconds      float64       `json:"seconds"`
}

// Census is the IDs a tree uses.
type Census struct {
	Dir          string        `json:"dir"`
	Inodes       uint64        `json:"inodes"`
	UIDs         []IDRange     `json:"uids"`
	GIDs         []IDRange     `json:"gids"`
	ACLEntries   uint64        `json:"acl_entries"`  // named user and group entries
	Capabilities uint64        `json:"capabilities"` // files with security.capability
	MountPoints  []string      `json:"mount_points"`
	ErrorCount   uint64        `json:"error_count"`
	Errors       []*InodeError `json:"errors"`
	Seconds      float64       `json:"seconds"`
}

// errorList collects InodeErrors from the workers.
type errorList struct {
	count uint64
	kept  []*InodeError
}

func (l *errorList) add(e *InodeError) {
	l.count++
	if len(l.kept) < maxErrors {
		l.kept = append(l.kept, e)
	}
}

// failure wraps the first inode error of an incomplete run.
func failure(n uint64, errs []*InodeError) error {
	if n == 0 {
		return nil
	}
	var first error = errors.New("no detail kept")
	if len(errs) > 0 {
		first = errs[0]
	}
	return fmt.Errorf("%w: %d inode(s) failed, the first: %w", ErrIncomplete, n, first)
}
