package chownfallback

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/idmapkit/idmapkit/idmapmount"
)

// capBytes builds a security.capability value: magic, data words, rootid.
func capBytes(words ...uint32) []byte {
	var b []byte
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

func TestCapsShift(t *testing.T) {
	const eff = 1
	v2 := capBytes(capRevision2|eff, 1<<13, 0, 0, 0) // cap_net_raw+ep
	for _, tc := range []struct {
		name    string
		in      []byte
		uids    idmapmount.IDMap
		want    []byte
		changed bool
	}{
		{"v2 to v3", v2, b100k(), capBytes(capRevision3|eff, 1<<13, 0, 0, 0, 100000), true},
		{"v3 moves", capBytes(capRevision3, 1, 2, 3, 4, 1000), b100k(), capBytes(capRevision3, 1, 2, 3, 4, 101000), true},
		{"v3 already shifted", capBytes(capRevision3, 1, 2, 3, 4, 101000), b100k(), capBytes(capRevision3, 1, 2, 3, 4, 101000), false},
		{"v3 to root becomes v2", capBytes(capRevision3|eff, 1, 2, 3, 4, 100000), b100k().Inverse(), capBytes(capRevision2|eff, 1, 2, 3, 4), true},
		{"v2 unmapped root stays", v2, idmapmount.IDMap{{From: 1000, To: 101000, Count: 10}}, v2, false},
		{"v1 to v3", capBytes(capRevision1, 5, 6), b100k(), capBytes(capRevision3, 5, 6, 0, 0, 100000), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCaps(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.Bytes(), tc.in) {
				t.Fatalf("round trip: %x -> %x", tc.in, c.Bytes())
			}
			got, changed := c.Shift(tc.uids)
			if !bytes.Equal(got.Bytes(), tc.want) || changed != tc.changed {
				t.Fatalf("Shift = %x, %v; want %x, %v", got.Bytes(), changed, tc.want, tc.changed)
			}
		})
	}
}

func TestCapsRoundTripThroughInverse(t *testing.T) {
	for _, in := range [][]byte{capBytes(capRevision2|1, 8, 0, 0, 0), capBytes(capRevision3, 8, 0, 0, 0, 1234)} {
		c, _ := ParseCaps(in)
		fwd, _ := c.Shift(b100k())
		back, _ := fwd.Shift(b100k().Inverse())
		if !bytes.Equal(back.Bytes(), in) {
			t.Errorf("%x -> %x -> %x", in, fwd.Bytes(), back.Bytes())
		}
	}
}

func TestCapsBad(t *testing.T) {
	for _, bad := range [][]byte{nil, {1, 2}, capBytes(capRevision2, 1), capBytes(capRevision3, 1, 2, 3, 4), capBytes(0x04000000, 1, 2, 3, 4)} {
		if _, err := ParseCaps(bad); !errors.Is(err, ErrBadXattr) {
			t.Errorf("ParseCaps(%x) = %v, want ErrBadXattr", bad, err)
		}
	}
}

func FuzzParseCaps(f *testing.F) {
	f.Add(capBytes(capRevision2|1, 1<<13, 0, 0, 0))
	f.Add(capBytes(capRevision3, 1, 2, 3, 4, 5))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCaps(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("round trip %x -> %x", b, c.Bytes())
		}
		s, _ := c.Shift(b100k())
		if _, err := ParseCaps(s.Bytes()); err != nil {
			t.Fatalf("shifted %x does not parse: %v", s.Bytes(), err)
		}
	})
}

func TestRecordCodec(t *testing.T) {
	for _, r := range []record{{Mode: 0o4755}, {Mode: 0o755, Caps: capBytes(capRevision2, 1, 0, 0, 0)}} {
		got, err := parseRecord(r.bytes())
		if err != nil || got.Mode != r.Mode || !bytes.Equal(got.Caps, r.Caps) {
			t.Errorf("parseRecord(%x) = %+v, %v; want %+v", r.bytes(), got, err, r)
		}
	}
	for _, bad := range [][]byte{nil, {1, 0, 0}, {2, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 9}} {
		if _, err := parseRecord(bad); !errors.Is(err, ErrBadXattr) {
			t.Errorf("parseRecord(%x) = %v, want ErrBadXattr", bad, err)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add(record{Mode: 0o4755}.bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b)
		if err == nil && !bytes.Equal(r.bytes(), b) {
			t.Fatalf("round trip %x -> %x", b, r.bytes())
		}
	})
}

func TestTallyRanges(t *testing.T) {
	got := tally{0: 3, 1: 1, 2: 1, 5: 2, 4294967294: 1}.ranges()
	want := []IDRange{{0, 2, 3, 5}, {5, 5, 1, 2}, {4294967294, 4294967294, 1, 1}}
	if len(got) != len(want) {
		t.Fatalf("ranges = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ranges = %+v, want %+v", got, want)
		}
	}
	if s := FormatRanges(got); s != "0-2,5,4294967294" {
		t.Fatalf("FormatRanges = %q", s)
	}
}

func TestCheckMappingRefusesOverlap(t *testing.T) {
	for _, spec := range []string{"b:0:1000:65536", "u:0:100000:65536 g:0:10:100", "b:0:0:10"} {
		m, err := idmapmount.ParseSpecs(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMapping(m); !errors.Is(err, ErrOverlap) {
			t.Errorf("checkMapping(%s) = %v, want ErrOverlap", spec, err)
		}
	}
	m, _ := idmapmount.ParseSpecs("b:0:100000:65536")
	if err := checkMapping(m); err != nil {
		t.Errorf("checkMapping(b:0:100000:65536) = %v", err)
	}
}
