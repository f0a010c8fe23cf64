package idmapmount

import "fmt"

// Source says where a mapping comes from, as idmapkit's --map, --user and
// --userns flags give it. Exactly one of the three must be set.
type Source struct {
	Specs  []string // mapping specs, combined (see ParseSpecs)
	User   string   // a user name: its first /etc/subuid and /etc/subgid ranges
	Userns string   // a user namespace file such as /proc/PID/ns/user
}

// check reports a Source with none or more than one of its fields set.
func (s Source) check() error {
	n := 0
	for _, set := range []bool{len(s.Specs) > 0, s.User != "", s.Userns != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return fmt.Errorf("%w: give --map SPEC (e.g. --map b:0:100000:65536), --user NAME or --userns PATH", ErrEmptyMapping)
	case n > 1:
		return fmt.Errorf("%w: give only one of --map, --user and --userns", ErrBadSpec)
	}
	return nil
}

// Mapping returns the mapping the source describes, validated. For a user
// namespace file it is read from the uid_map and gid_map of a process in
// that namespace.
func (s Source) Mapping() (Mapping, error) {
	if err := s.check(); err != nil {
		return Mapping{}, err
	}
	switch {
	case s.User != "":
		return FromSubID(s.User)
	case s.Userns != "":
		return usernsMapping(s.Userns)
	}
	return ParseSpecs(s.Specs...)
}
