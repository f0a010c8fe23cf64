package idmapmount

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseProcIDMap parses the text of /proc/PID/uid_map or gid_map: lines of
// "INSIDE OUTSIDE COUNT". The namespace's inside ID is the on-disk ID of an
// idmapped mount using that namespace, and its outside ID the presented one.
func ParseProcIDMap(r io.Reader) (IDMap, error) {
	var im IDMap
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: id map line %q: want INSIDE OUTSIDE COUNT", ErrBadSpec, sc.Text())
		}
		var v [3]uint32
		for i, s := range f {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%w: id map line %q: %v", ErrBadSpec, sc.Text(), err)
			}
			v[i] = uint32(n)
		}
		im = append(im, Extent{From: v[0], To: v[1], Count: v[2]})
	}
	return im, sc.Err()
}

// procIDMapText renders im in the uid_map / gid_map format.
func procIDMapText(im IDMap) string {
	var b strings.Builder
	for _, e := range im {
		fmt.Fprintf(&b, "%d %d %d\n", e.From, e.To, e.Count)
	}
	return b.String()
}
