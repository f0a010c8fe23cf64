package chownfallback

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/idmapkit/idmapkit/idmapmount"
)

func b100k() idmapmount.IDMap { return idmapmount.IDMap{{From: 0, To: 100000, Count: 65536}} }

func TestACLShift(t *testing.T) {
	base := ACL{{TagUserObj, 7, 0}, {TagGroupObj, 5, 0}, {TagMask, 7, 0}, {TagOther, 5, 0}}
	for _, tc := range []struct {
		name       string
		in         ACL
		uids, gids idmapmount.IDMap
		want       ACL
		changed    bool
		err        error
	}{
		{"no named entries", base, b100k(), b100k(), base, false, nil},
		{"user and group move",
			ACL{{TagUserObj, 7, 0}, {TagUser, 7, 5}, {TagGroupObj, 5, 0}, {TagGroup, 4, 7}, {TagMask, 7, 0}, {TagOther, 5, 0}},
			b100k(), b100k(),
			ACL{{TagUserObj, 7, 0}, {TagUser, 7, 100005}, {TagGroupObj, 5, 0}, {TagGroup, 4, 100007}, {TagMask, 7, 0}, {TagOther, 5, 0}},
			true, nil},
		{"already shifted stays",
			ACL{{TagUserObj, 7, 0}, {TagUser, 7, 100005}, {TagMask, 7, 0}, {TagOther, 5, 0}},
			b100k(), b100k(),
			ACL{{TagUserObj, 7, 0}, {TagUser, 7, 100005}, {TagMask, 7, 0}, {TagOther, 5, 0}},
			false, nil},
		{"re-sorted when the map reverses order",
			ACL{{TagUser, 1, 1}, {TagUser, 2, 2}, {TagUser, 4, 70000}},
			idmapmount.IDMap{{From: 0, To: 300000, Count: 2}, {From: 2, To: 200000, Count: 1}}, nil,
			ACL{{TagUser, 4, 70000}, {TagUser, 2, 200000}, {TagUser, 1, 300001}},
			true, nil},
		{"gid map only touches groups",
			ACL{{TagUser, 7, 5}, {TagGroup, 7, 5}},
			nil, b100k(),
			ACL{{TagUser, 7, 5}, {TagGroup, 7, 100005}},
			true, nil},
		{"collision",
			ACL{{TagUser, 7, 5}, {TagUser, 7, 100005}},
			b100k(), b100k(), nil, false, ErrACLCollision},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := tc.in.Shift(tc.uids, tc.gids)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(got, tc.want) || changed != tc.changed {
				t.Fatalf("Shift = %v, %v; want %v, %v", got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestACLCodec(t *testing.T) {
	// getfacl: user::rwx user:5:rwx group::r-x mask::rwx other::r-x
	raw := []byte{2, 0, 0, 0,
		1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
		2, 0, 7, 0, 5, 0, 0, 0,
		4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 5, 0, 0xff, 0xff, 0xff, 0xff}
	acl, err := ParseACL(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(acl) != 5 || acl[1] != (ACLEntry{TagUser, 7, 5}) {
		t.Fatalf("ParseACL = %v", acl)
	}
	if !bytes.Equal(acl.Bytes(), raw) {
		t.Fatalf("Bytes() = %v, want %v", acl.Bytes(), raw)
	}
	for _, bad := range [][]byte{nil, {2, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 0, 1}} {
		if _, err := ParseACL(bad); !errors.Is(err, ErrBadXattr) {
			t.Errorf("ParseACL(%v) = %v, want ErrBadXattr", bad, err)
		}
	}
}

func FuzzParseACL(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 2, 0, 7, 0, 5, 0, 0, 0})
	f.Add([]byte{2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		acl, err := ParseACL(b)
		if err != nil {
			return
		}
		if !bytes.Equal(acl.Bytes(), b) {
			t.Fatalf("round trip %v -> %v", b, acl.Bytes())
		}
		out, _, err := acl.Shift(b100k(), b100k())
		if err == nil && len(out) != len(acl) {
			t.Fatalf("Shift changed the entry count: %v -> %v", acl, out)
		}
	})
}
