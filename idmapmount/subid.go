package idmapmount

import (
	"fmt"
	"strconv"

	"github.com/moby/sys/user"
)

// Default locations of the subordinate ID files (shadow-utils, subuid(5)).
const (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

// FromSubID returns the mapping for user name's first ranges in /etc/subuid
// and /etc/subgid: on-disk IDs 0..count-1 are presented as the range.
func FromSubID(name string) (Mapping, error) {
	return FromSubIDFiles(name, SubUIDFile, SubGIDFile)
}

// FromSubIDFiles is FromSubID with the subuid and subgid files given.
// Entries match the user's name or, if the user exists, its numeric uid.
func FromSubIDFiles(name, subuidPath, subgidPath string) (Mapping, error) {
	keys := map[string]bool{name: true}
	if u, err := user.LookupUser(name); err == nil {
		keys[strconv.Itoa(u.Uid)] = true
	}
	uid, err := firstSubID(subuidPath, name, keys)
	if err != nil {
		return Mapping{}, err
	}
	gid, err := firstSubID(subgidPath, name, keys)
	if err != nil {
		return Mapping{}, err
	}
	m := Mapping{UID: IDMap{uid}, GID: IDMap{gid}}
	return m, m.Validate()
}

func firstSubID(path, name string, keys map[string]bool) (Extent, error) {
	ranges, err := user.ParseSubIDFileFilter(path, func(s user.SubID) bool { return keys[s.Name] })
	if err != nil {
		return Extent{}, fmt.Errorf("read %s: %w", path, err)
	}
	if len(ranges) == 0 {
		return Extent{}, fmt.Errorf("%w: user %q has no entry in %s (add one with: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", ErrNoSubID, name, path, name)
	}
	r := ranges[0]
	if r.SubID < 0 || r.Count < 1 || r.SubID+r.Count > int64(NoID) {
		return Extent{}, fmt.Errorf("%w: %s: entry %s:%d:%d is out of range", ErrBadSpec, path, r.Name, r.SubID, r.Count)
	}
	return Extent{From: 0, To: uint32(r.SubID), Count: uint32(r.Count)}, nil
}
