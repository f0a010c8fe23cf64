package idmapmount

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func both(e ...Extent) Mapping { return Mapping{UID: e, GID: e} }

func TestParseSpecs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs []string
		want  Mapping
	}{
		{"both", []string{"b:0:100000:65536"}, both(Extent{0, 100000, 65536})},
		{"long both", []string{"both:0:100000:65536"}, both(Extent{0, 100000, 65536})},
		{"bare", []string{"0:100000:65536"}, both(Extent{0, 100000, 65536})},
		{"u and g flags", []string{"u:0:100000:65536", "g:0:200000:1000"},
			Mapping{UID: IDMap{{0, 100000, 65536}}, GID: IDMap{{0, 200000, 1000}}}},
		{"long u and g", []string{"uid:1000:0:1 gid:1001:1:2"},
			Mapping{UID: IDMap{{1000, 0, 1}}, GID: IDMap{{1001, 1, 2}}}},
		{"space list (X-mount.idmap)", []string{"u:0:100000:1000 u:1000:200000:10 g:0:100000:1010"},
			Mapping{UID: IDMap{{0, 100000, 1000}, {1000, 200000, 10}}, GID: IDMap{{0, 100000, 1010}}}},
		{"comma list", []string{"b:0:100000:10,b:10:200000:10"}, both(Extent{0, 100000, 10}, Extent{10, 200000, 10})},
		{"lxc", []string{"u 0 100000 65536", "g 0 100000 65536"}, both(Extent{0, 100000, 65536})},
		{"lxc config line", []string{"lxc.idmap = b 0 100000 65536"}, both(Extent{0, 100000, 65536})},
		{"top of range", []string{"b:4294967294:0:1"}, both(Extent{4294967294, 0, 1})},
		{"up to the last id", []string{"b:0:0:4294967295"}, both(Extent{0, 0, 4294967295})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSpecs(tc.specs...)
			if err != nil {
				t.Fatalf("ParseSpecs(%q): %v", tc.specs, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseSpecs(%q) = %+v, want %+v", tc.specs, got, tc.want)
			}
		})
	}
}

func TestParseSpecsErrors(t *testing.T) {
	for _, tc := range []struct {
		spec, want string // want: a substring of the message
	}{
		{"", "empty spec"},
		{"x:0:1:2", `kind "x"`},
		{"b:0:100000", "FROM:TO:COUNT"},
		{"b:-1:100000:1", `"-1" is not an ID`},
		{"b:0:100000:0", "count must be at least 1"},
		{"b:0:4294967295:1", "range passes"},
		{"b:4294967295:0:1", "range passes"},
		{"b:0:0:4294967296", "is not an ID"},
		{"b:0:100000:10 b:5:200000:10", "overlap on the on-disk side"},
		{"b:0:100000:10 b:20:100005:10", "overlap on the presented side"},
		{"u:0:1:1 garbage", `"garbage"`},
		{"b:0:1:1:1", "FROM:TO:COUNT"},
	} {
		_, err := ParseSpecs(tc.spec)
		if err == nil || !errors.Is(err, ErrBadSpec) && !errors.Is(err, ErrEmptyMapping) {
			t.Errorf("ParseSpecs(%q) = %v, want ErrBadSpec", tc.spec, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSpecs(%q) error %q does not mention %q", tc.spec, err, tc.want)
		}
	}
}

func TestParseSpecsErrorShowsExample(t *testing.T) {
	_, err := ParseSpecs("b:zero:100000:65536")
	if err == nil || !strings.Contains(err.Error(), `"zero"`) || !strings.Contains(err.Error(), "example: b:0:100000:65536") {
		t.Fatalf("error %v: want the bad token and an example", err)
	}
}

// extentSpecs returns n one-ID extents, i presented as base+i.
func extentSpecs(n int, base uint32) []string {
	var specs []string
	for i := range n {
		specs = append(specs, fmt.Sprintf("b:%d:%d:1", i, base+uint32(i)))
	}
	return specs
}

func TestTooManyExtents(t *testing.T) {
	if _, err := ParseSpecs(extentSpecs(MaxExtents, 1000)...); err != nil {
		t.Fatalf("%d extents: %v", MaxExtents, err)
	}
	if _, err := ParseSpecs(extentSpecs(MaxExtents+1, 1000)...); !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "at most 340") {
		t.Fatalf("%d extents: %v, want ErrBadSpec", MaxExtents+1, err)
	}
	// The kernel also takes less than 4096 bytes of uid_map text: 340
	// extents with six-digit IDs are more than that.
	_, err := ParseSpecs(extentSpecs(MaxExtents, 100000)...)
	if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "less than 4096") || !strings.Contains(err.Error(), "example:") {
		t.Fatalf("340 extents of six-digit IDs: %v, want ErrBadSpec about the size", err)
	}
}

func TestMapAndInverse(t *testing.T) {
	im := IDMap{{0, 100000, 1000}, {1000, 5000, 10}}
	for _, tc := range []struct {
		in, out uint32
		ok      bool
	}{{0, 100000, true}, {999, 100999, true}, {1000, 5000, true}, {1009, 5009, true}, {1010, 1010, false}, {NoID, NoID, false}} {
		got, ok := im.Map(tc.in)
		if got != tc.out || ok != tc.ok {
			t.Errorf("Map(%d) = %d, %v; want %d, %v", tc.in, got, ok, tc.out, tc.ok)
		}
		if ok {
			back, ok := im.Inverse().Map(got)
			if !ok || back != tc.in {
				t.Errorf("Inverse().Map(%d) = %d, %v; want %d", got, back, ok, tc.in)
			}
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, spec := range []string{
		"b:0:100000:65536",
		"u:0:100000:65536 g:0:200000:65536",
		"b:1000:0:1 b:0:1:1000",
		"u:0:100000:1",
	} {
		m, err := ParseSpecs(spec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpecs(m.String())
		if err != nil {
			t.Fatalf("ParseSpecs(%q) (from %q): %v", m.String(), spec, err)
		}
		if !reflect.DeepEqual(back.Sorted(), m.Sorted()) {
			t.Errorf("%q -> %q -> %+v, want %+v", spec, m.String(), back, m)
		}
	}
	m, _ := ParseSpecs("b:1000:0:1 b:0:1:1000")
	if got, want := m.String(), "b:0:1:1000 b:1000:0:1"; got != want {
		t.Errorf("String() = %q, want canonical %q", got, want)
	}
}

func TestWarnings(t *testing.T) {
	m, _ := ParseSpecs("u:0:100000:65536")
	if w := m.Warnings(); len(w) != 1 || !strings.Contains(w[0], "65534") {
		t.Errorf("u:-only warnings = %q, want one about unmapped gids", w)
	}
	m, _ = ParseSpecs("b:0:100000:65536")
	if w := m.Warnings(); len(w) != 0 {
		t.Errorf("b: warnings = %q, want none", w)
	}
}

func TestSelfOverlap(t *testing.T) {
	if _, _, ok := (IDMap{{0, 100000, 65536}}).SelfOverlap(); ok {
		t.Error("0->100000 x65536 reported as overlapping")
	}
	if _, _, ok := (IDMap{{0, 1000, 65536}}).SelfOverlap(); !ok {
		t.Error("0->1000 x65536 not reported as overlapping")
	}
}

func TestOCIRoundTrip(t *testing.T) {
	m, _ := ParseSpecs("u:0:100000:65536 g:0:200000:1000 g:1000:300000:1")
	u, g := m.ToOCI()
	if u[0].ContainerID != 0 || u[0].HostID != 100000 || u[0].Size != 65536 {
		t.Fatalf("ToOCI uid = %+v: want containerID = on-disk, hostID = presented", u)
	}
	back, err := FromOCI(u, g)
	if err != nil || !reflect.DeepEqual(back, m) {
		t.Fatalf("FromOCI(ToOCI(m)) = %+v, %v; want %+v", back, err, m)
	}
}

func TestFromSubIDFiles(t *testing.T) {
	dir := t.TempDir()
	uidf, gidf := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	os.WriteFile(uidf, []byte("bob:300000:65536\nalice:100000:65536\nalice:500000:10\n"), 0o644)
	os.WriteFile(gidf, []byte("alice:200000:1000\n"), 0o644)
	m, err := FromSubIDFiles("alice", uidf, gidf)
	if err != nil {
		t.Fatal(err)
	}
	want := Mapping{UID: IDMap{{0, 100000, 65536}}, GID: IDMap{{0, 200000, 1000}}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("FromSubIDFiles = %+v, want %+v", m, want)
	}
	if _, err := FromSubIDFiles("bob", uidf, gidf); !errors.Is(err, ErrNoSubID) || !strings.Contains(err.Error(), gidf) {
		t.Fatalf("bob has no subgid: err = %v, want ErrNoSubID naming %s", err, gidf)
	}
}

func TestParseProcIDMap(t *testing.T) {
	im, err := ParseProcIDMap(strings.NewReader("         0     100000      65536\n     65536 4294967294          1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (IDMap{{0, 100000, 65536}, {65536, 4294967294, 1}}); !reflect.DeepEqual(im, want) {
		t.Fatalf("got %+v, want %+v", im, want)
	}
	if got := procIDMapText(im); got != "0 100000 65536\n65536 4294967294 1\n" {
		t.Fatalf("procIDMapText = %q", got)
	}
	if _, err := ParseProcIDMap(strings.NewReader("0 1\n")); !errors.Is(err, ErrBadSpec) {
		t.Fatalf("short line: %v, want ErrBadSpec", err)
	}
}

func TestSourceNeedsExactlyOne(t *testing.T) {
	if _, err := (Source{}).Mapping(); !errors.Is(err, ErrEmptyMapping) {
		t.Errorf("empty source: %v", err)
	}
	if _, err := (Source{Specs: []string{"b:0:1:1"}, User: "x"}).Mapping(); !errors.Is(err, ErrBadSpec) {
		t.Errorf("two sources: %v", err)
	}
}

// FuzzParseSpecs checks that the parser never panics and that whatever it
// accepts is valid and survives String() and a re-parse unchanged.
func FuzzParseSpecs(f *testing.F) {
	for _, s := range []string{"b:0:100000:65536", "u:0:1:1 g:0:2:2", "0:1:2", "u 0 100000 65536", "lxc.idmap = g 1 2 3", "b:4294967294:0:1", ",,", "uid:1:2:3,gid:4:5:6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		m, err := ParseSpecs(spec)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) && !errors.Is(err, ErrEmptyMapping) {
				t.Fatalf("ParseSpecs(%q): error %v matches no sentinel", spec, err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("ParseSpecs(%q) accepted an invalid mapping: %v", spec, err)
		}
		back, err := ParseSpecs(m.String())
		if err != nil || !reflect.DeepEqual(back.Sorted(), m.Sorted()) {
			t.Fatalf("ParseSpecs(%q) = %+v; String %q re-parses to %+v, %v", spec, m, m.String(), back, err)
		}
	})
}

func TestEquivalent(t *testing.T) {
	a, _ := ParseSpecs("b:0:100000:65536")
	b, _ := ParseSpecs("b:1000:101000:64536", "b:0:100000:1000")
	c, _ := ParseSpecs("u:0:100000:65536", "g:0:200000:65536")
	d, _ := ParseSpecs("b:0:100000:1000", "b:1000:102000:64536")
	if !a.Equivalent(b) || !b.Equivalent(a) {
		t.Errorf("%s and %s map alike", a, b)
	}
	if a.Equivalent(c) || a.Equivalent(d) {
		t.Errorf("%s is equivalent to %s or %s", a, c, d)
	}
}
