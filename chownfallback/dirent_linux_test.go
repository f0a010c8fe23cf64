package chownfallback

import (
	"encoding/binary"
	"testing"
)

// direntBytes builds a getdents64 record.
func direntBytes(name string, typ uint8) []byte {
	reclen := (direntNameOff + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint64(b, 1)
	binary.NativeEndian.PutUint16(b[direntReclenOff:], uint16(reclen))
	b[direntTypeOff] = typ
	copy(b[direntNameOff:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	var buf []byte
	for _, e := range []struct {
		name string
		typ  uint8
	}{{".", 4}, {"..", 4}, {"a", 8}, {"new\nline", 8}, {"\xff", 10}, {"..x", 4}} {
		buf = append(buf, direntBytes(e.name, e.typ)...)
	}
	got := parseDirents(buf, nil)
	want := []string{"a", "new\nline", "\xff", "..x"}
	if len(got) != len(want) {
		t.Fatalf("parseDirents = %q", got)
	}
	for i, w := range want {
		if string(got[i].name) != w {
			t.Errorf("entry %d = %q, want %q", i, got[i].name, w)
		}
	}
	if got[2].typ != 10 {
		t.Errorf("type %d, want 10", got[2].typ)
	}
}

func FuzzParseDirents(f *testing.F) {
	f.Add(append(direntBytes("a", 8), direntBytes("bb", 4)...))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, e := range parseDirents(b, nil) {
			for _, c := range e.name {
				if c == 0 {
					t.Fatalf("name %q holds a NUL", e.name)
				}
			}
		}
	})
}
