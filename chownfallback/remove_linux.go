package chownfallback

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// removeTree removes path (a file or a symlink is just unlinked, never
// followed) and everything below it without leaving the mount of its
// parent directory: where something is mounted, on path itself or
// inside it, it stops before entering, with EXDEV, so no other mount's
// files are deleted (os.RemoveAll deletes through mount points). It
// works by file descriptor, so depth and path length do not matter.
func removeTree(path string) error {
	parent := filepath.Dir(path)
	fd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: parent, Err: err}
	}
	defer unix.Close(fd)
	mnt, err := mountIDOf(fd, parent)
	if err != nil {
		return err
	}
	return removeEntry(fd, path, filepath.Base(path), unix.DT_UNKNOWN, mnt)
}

// removeContents empties the directory fd (at path, for messages), whose
// mount is mnt.
func removeContents(fd int, path string, mnt uint64) error {
	buf := make([]byte, 16<<10)
	for {
		// Entries are deleted as they are read: read each batch from the
		// start again, so that none is skipped.
		if _, err := unix.Seek(fd, 0, 0); err != nil {
			return &os.PathError{Op: "lseek", Path: path, Err: err}
		}
		ents, err := readDirents(fd, buf, nil)
		if err != nil {
			return &os.PathError{Op: "getdents64", Path: path, Err: err}
		}
		if len(ents) == 0 {
			return nil
		}
		names := make([]string, len(ents))
		types := make([]uint8, len(ents))
		for i, e := range ents {
			names[i], types[i] = string(e.name), e.typ
		}
		for i, name := range names {
			if err := removeEntry(fd, filepath.Join(path, name), name, types[i], mnt); err != nil {
				return err
			}
		}
	}
}

// removeEntry removes name in the directory fd. A name already gone
// (another cleanup of the same leftover) is not an error.
func removeEntry(fd int, path, name string, typ uint8, mnt uint64) error {
	err := removeName(fd, path, name, typ, mnt)
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Err == unix.ENOENT {
		return nil
	}
	return err
}

func removeName(fd int, path, name string, typ uint8, mnt uint64) error {
	if typ == unix.DT_UNKNOWN {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "fstatat", Path: path, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			typ = unix.DT_DIR
		}
	}
	if typ == unix.DT_DIR {
		child, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "openat", Path: path, Err: err}
		}
		m, err := mountIDOf(child, path)
		if err == nil && m != mnt {
			err = &os.PathError{Op: "remove", Path: path, Err: unix.EXDEV}
		}
		if err == nil {
			err = removeContents(child, path, mnt)
		}
		unix.Close(child)
		if err != nil {
			return err
		}
		if err := unix.Unlinkat(fd, name, unix.AT_REMOVEDIR); err != nil {
			return &os.PathError{Op: "unlinkat(AT_REMOVEDIR)", Path: path, Err: err}
		}
		return nil
	}
	if err := unix.Unlinkat(fd, name, 0); err != nil {
		return &os.PathError{Op: "unlinkat", Path: path, Err: err}
	}
	return nil
}

// mountIDOf is the ID of the mount the open file fd is on.
func mountIDOf(fd int, path string) (uint64, error) {
	var st unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &st); err != nil {
		return 0, &os.PathError{Op: "statx(STATX_MNT_ID)", Path: path, Err: err}
	}
	return st.Mnt_id, nil
}
