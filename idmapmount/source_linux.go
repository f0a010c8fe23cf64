//go:build linux

package idmapmount

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// UsernsFD returns a user namespace fd for the source: the named namespace
// file itself for Userns, else the cached namespace made for its mapping.
// The caller closes it.
func (s Source) UsernsFD() (*os.File, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.Userns != "" {
		return OpenUserns(s.Userns)
	}
	m, err := s.Mapping()
	if err != nil {
		return nil, err
	}
	return UsernsFD(m)
}

// OpenUserns opens a user namespace file (/proc/PID/ns/user or a bind
// mount of one) and checks that it is one (ioctl NS_GET_NSTYPE, Linux 4.11).
func OpenUserns(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &StepError{Step: "open user namespace", Path: path, Err: errnoOf(err)}
	}
	typ, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil || typ != unix.CLONE_NEWUSER {
		f.Close()
		if err == nil {
			err = unix.EINVAL
		}
		return nil, &StepError{Step: "ioctl(NS_GET_NSTYPE)", Path: path, Err: err,
			Hint: "--userns wants a user namespace file such as /proc/PID/ns/user"}
	}
	return f, nil
}

// usernsMapping reads the maps of the user namespace at path from a
// process inside it: /proc/PID when path is /proc/PID/ns/user, else the
// first process whose ns/user is the same namespace.
func usernsMapping(path string) (Mapping, error) {
	f, err := OpenUserns(path)
	if err != nil {
		return Mapping{}, err
	}
	defer f.Close()
	var want unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &want); err != nil {
		return Mapping{}, &StepError{Step: "fstat", Path: path, Err: err}
	}
	proc := filepath.Dir(filepath.Dir(path))
	if !sameNS(filepath.Join(proc, "ns/user"), want) {
		if proc, err = findNSProcess(want); err != nil {
			return Mapping{}, &StepError{Step: "find a process in user namespace", Path: path, Err: err,
				Hint: "the mapping is read from /proc/PID/uid_map of a process in the namespace"}
		}
	}
	var m Mapping
	for _, x := range []struct {
		file string
		dst  *IDMap
	}{{"uid_map", &m.UID}, {"gid_map", &m.GID}} {
		r, err := os.Open(filepath.Join(proc, x.file))
		if err != nil {
			return Mapping{}, err
		}
		*x.dst, err = ParseProcIDMap(r)
		r.Close()
		if err != nil {
			return Mapping{}, fmt.Errorf("%s/%s: %w", proc, x.file, err)
		}
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("the maps of user namespace %s (read from %s): %w", path, proc, err)
	}
	return m, nil
}

func sameNS(path string, want unix.Stat_t) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino
}

func findNSProcess(want unix.Stat_t) (string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if strings.Trim(e.Name(), "0123456789") == "" && sameNS("/proc/"+e.Name()+"/ns/user", want) {
			return "/proc/" + e.Name(), nil
		}
	}
	return "", unix.ESRCH
}
