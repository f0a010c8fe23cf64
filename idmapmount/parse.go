package idmapmount

import (
	"fmt"
	"strconv"
	"strings"
)

const specExample = "b:0:100000:65536 (on-disk IDs 0..65535 presented as 100000..165535)"

// ParseSpecs parses one or more mapping specs and combines them into one
// validated Mapping. Each spec holds one or more whitespace- or
// comma-separated tokens in any of these forms:
//
//	b:FROM:TO:COUNT   u:FROM:TO:COUNT   g:FROM:TO:COUNT
//	both:…            uid:…             gid:…      (long forms)
//	FROM:TO:COUNT     (both)
//	u FROM TO COUNT   g FROM TO COUNT   b FROM TO COUNT  (LXC lxc.idmap)
//
// In every form the on-disk ID FROM+i is presented as TO+i.
func ParseSpecs(specs ...string) (Mapping, error) {
	var m Mapping
	for _, spec := range specs {
		if err := m.addSpec(spec); err != nil {
			return Mapping{}, err
		}
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// ParseSpec parses a single spec; see ParseSpecs.
func ParseSpec(spec string) (Mapping, error) { return ParseSpecs(spec) }

func (m *Mapping) addSpec(spec string) error {
	spec = strings.TrimSpace(spec)
	spec = strings.TrimSpace(strings.TrimPrefix(spec, "lxc.idmap"))
	spec = strings.TrimSpace(strings.TrimPrefix(spec, "="))
	if spec == "" {
		return fmt.Errorf("%w: empty spec; example: %s", ErrBadSpec, specExample)
	}
	fields := strings.FieldsFunc(spec, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == ',' })
	if len(fields) == 4 && isKind(fields[0]) && !strings.Contains(spec, ":") {
		return m.addToken(strings.Join(fields, ":"), spec)
	}
	for _, tok := range fields {
		if err := m.addToken(tok, tok); err != nil {
			return err
		}
	}
	return nil
}

func isKind(s string) bool {
	switch s {
	case "u", "g", "b", "uid", "gid", "both":
		return true
	}
	return false
}

// addToken adds one "KIND:FROM:TO:COUNT" or "FROM:TO:COUNT" token; orig is
// what the user wrote, for the error message.
func (m *Mapping) addToken(tok, orig string) error {
	parts := strings.Split(tok, ":")
	kind := "b"
	switch {
	case len(parts) == 3 && !isKind(parts[0]):
	case len(parts) == 4:
		kind, parts = parts[0], parts[1:]
		if !isKind(kind) {
			return fmt.Errorf("%w: %q: kind %q is not u, g or b; example: %s", ErrBadSpec, orig, kind, specExample)
		}
	default:
		return fmt.Errorf("%w: %q: want [u|g|b:]FROM:TO:COUNT; example: %s", ErrBadSpec, orig, specExample)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return fmt.Errorf("%w: %q: %q is not an ID from 0 to %d; example: %s", ErrBadSpec, orig, p, NoID-1, specExample)
		}
		v[i] = uint32(n)
	}
	e := Extent{From: v[0], To: v[1], Count: v[2]}
	if kind[0] != 'g' {
		m.UID = append(m.UID, e)
	}
	if kind[0] != 'u' {
		m.GID = append(m.GID, e)
	}
	return nil
}
