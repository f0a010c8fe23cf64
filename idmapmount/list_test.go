package idmapmount

import (
	"errors"
	"slices"
	"testing"
)

func TestParseStatmountIDMap(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want IDMap
		err  bool
	}{
		{nil, IDMap{}, false},
		{[]string{"0 100000 65536"}, IDMap{{0, 100000, 65536}}, false},
		{[]string{"0 100000 1", "1 200000 9"}, IDMap{{0, 100000, 1}, {1, 200000, 9}}, false},
		{[]string{"0 100000"}, nil, true},
		{[]string{"0 -1 1"}, nil, true},
	} {
		got, err := parseStatmountIDMap(tc.in)
		if (err != nil) != tc.err || !tc.err && !slices.Equal(got, tc.want) {
			t.Errorf("parseStatmountIDMap(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrBadSpec) {
			t.Errorf("error %v does not match ErrBadSpec", err)
		}
	}
}

func TestParseRecord(t *testing.T) {
	rec, err := parseRecord([]byte(`{"target":"/t","mount_id":7,"lower":[{"dir":"/a"},{"dir":"/b","as_is":true}],"mapping":"b:0:1:1"}`))
	if err != nil || rec.Target != "/t" || len(rec.Lower) != 2 || !rec.Lower[1].AsIs {
		t.Fatalf("parseRecord = %+v, %v", rec, err)
	}
	for _, bad := range []string{``, `{}`, `{"target":"/t"}`, `[1]`, `{"target":"/t","mount_id":-1}`} {
		if _, err := parseRecord([]byte(bad)); err == nil {
			t.Errorf("parseRecord(%q) accepted", bad)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"target":"/t","mount_id":7,"lower":[{"dir":"/a"}],"mapping":"b:0:1:1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := parseRecord(b)
		if err == nil && (rec.Target == "" || rec.MountID == 0) {
			t.Fatalf("accepted a record without target or id: %+v", rec)
		}
	})
}

func FuzzParseStatmountIDMap(f *testing.F) {
	f.Add("0 100000 65536", "1 2 3")
	f.Fuzz(func(t *testing.T, a, b string) {
		im, err := parseStatmountIDMap([]string{a, b})
		if err == nil && len(im) > 2 {
			t.Fatalf("%q %q gave %d extents", a, b, len(im))
		}
	})
}
