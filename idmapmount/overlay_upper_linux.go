//go:build linux

package idmapmount

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// upperRoot remembers how an upper directory's root was owned before
// prepareUpper changed it, so that a failed overlay can put it back.
type upperRoot struct {
	path     string
	uid, gid int
	changed  bool
}

// prepareUpper gives an empty upper directory's root to the mapped root:
// the overlay's root directory is the upper's root, and a user whose
// files show as owned by (say) 100000 expects to own the top directory
// too, and to be able to create files in it. A non-empty upper is the
// user's own earlier state and is left alone, as is everything when the
// mapping does not map on-disk 0.
func prepareUpper(dir string, m Mapping) (*upperRoot, error) {
	u := &upperRoot{path: dir}
	if dir == "" {
		return u, nil
	}
	empty, err := isEmptyDir(dir)
	if err != nil {
		return nil, &StepError{Step: "read upper directory", Path: dir, Err: errnoOf(err),
			Hint: "--upper must be an existing directory (empty for a new user)"}
	}
	if !empty {
		return u, nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return nil, &StepError{Step: "stat upper directory", Path: dir, Err: err}
	}
	u.uid, u.gid = int(st.Uid), int(st.Gid)
	uid, uok := m.UID.Map(0)
	gid, gok := m.GID.Map(0)
	if !uok {
		uid = st.Uid
	}
	if !gok {
		gid = st.Gid
	}
	if uid == st.Uid && gid == st.Gid {
		return u, nil
	}
	if err := unix.Lchown(dir, int(uid), int(gid)); err != nil {
		return nil, &StepError{Step: "chown upper directory", Path: dir, Err: err}
	}
	u.changed = true
	return u, nil
}

// restore gives the upper's root back its old owner.
func (u *upperRoot) restore() {
	if u != nil && u.changed {
		_ = unix.Lchown(u.path, u.uid, u.gid)
		u.changed = false
	}
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}
