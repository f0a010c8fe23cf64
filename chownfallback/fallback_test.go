package chownfallback

import (
	"errors"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/fsprobe"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
		err  bool
	}{
		{"", FallbackNone, false},
		{"none", FallbackNone, false},
		{"chown", FallbackChown, false},
		{"CHOWN", "", true},
		{"copy", "", true},
		{" chown", "", true},
	} {
		got, err := ParseMode(tc.in)
		if tc.err != (err != nil) || !tc.err && got != tc.want {
			t.Errorf("ParseMode(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrBadFallback) {
			t.Errorf("ParseMode(%q): %v does not match ErrBadFallback", tc.in, err)
		}
	}
}

func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"", "none", "chown", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if (err == nil) != (s == "" || s == "none" || s == "chown") {
			t.Fatalf("ParseMode(%q) = %q, %v", s, m, err)
		}
	})
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		v        Verdict
		fallback bool
		says     string
	}{
		{Verdict{Dir: "/r", FSType: "ramfs", Reason: fsprobe.ReasonFSUnsupported, Errno: "EINVAL"}, true, "ramfs at /r cannot be idmapped (EINVAL)"},
		{Verdict{Dir: "/x", FSType: "ext4", Reason: fsprobe.ReasonNotPrivileged, Errno: "EPERM"}, false, "ext4 at /x cannot be idmapped (EPERM)"},
		{Verdict{Dir: "/x", FSType: "nfs", Reason: fsprobe.ReasonKernelRefuses}, true, "(kernel-refuses)"},
		{Verdict{Dir: "/x", FSType: "ext4", Reason: fsprobe.ReasonNoSyscall, Errno: "ENOSYS"}, true, "(ENOSYS)"},
		{Verdict{Dir: "/x", FSType: "ext4", Reason: fsprobe.ReasonAlreadyIDMapped, Errno: "EPERM"}, false, "cannot be idmapped"},
		{Verdict{Dir: "/t", FSType: "tmpfs", Forced: true}, true, "fallback forced (" + ForceEnv + ")"},
		{Verdict{Dir: "/t", FSType: "tmpfs", Reason: fsprobe.ReasonOK}, false, "can be idmapped"},
	} {
		if tc.v.Fallback() != tc.fallback || !strings.Contains(tc.v.String(), tc.says) {
			t.Errorf("%+v: fallback %v, %q; want %v, %q", tc.v, tc.v.Fallback(), tc.v.String(), tc.fallback, tc.says)
		}
	}
}

// TestCacheKey: every part of a layer's identity and the mapping make
// another key.
func TestCacheKey(t *testing.T) {
	id := LayerID{Path: "/srv/img/base", Dev: 8<<32 | 1, Ino: 128, Btime: 1700000000e9}
	m := "b:0:100000:65536"
	keys := map[string]string{"base": cacheKey(id, m)}
	for name, other := range map[string]LayerID{
		"path":  {Path: "/srv/img/base2", Dev: id.Dev, Ino: id.Ino, Btime: id.Btime},
		"dev":   {Path: id.Path, Dev: 8<<32 | 2, Ino: id.Ino, Btime: id.Btime},
		"ino":   {Path: id.Path, Dev: id.Dev, Ino: 129, Btime: id.Btime},
		"btime": {Path: id.Path, Dev: id.Dev, Ino: id.Ino, Btime: id.Btime + 1},
	} {
		keys[name] = cacheKey(other, m)
	}
	keys["mapping"] = cacheKey(id, "b:0:200000:65536")
	seen := map[string]string{}
	for name, k := range keys {
		if len(k) != 64 {
			t.Errorf("%s: key %q is not a sha256 in hex", name, k)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("%s and %s give the same key", name, prev)
		}
		seen[k] = name
	}
	if cacheKey(id, m) != keys["base"] {
		t.Error("the key is not stable")
	}
	info := EntryInfo{Version: cacheVersion, Layer: id, Mapping: m}
	if !info.matches(id, m) || info.matches(id, "b:0:1:1") || (EntryInfo{Layer: id, Mapping: m}).matches(id, m) {
		t.Error("EntryInfo.matches")
	}
}

func TestMessages(t *testing.T) {
	res := &Result{Changed: 4, Unmapped: 1, UnmappedUIDs: []IDRange{{First: 70000, Last: 70000}}}
	r := &MountReport{Source: "/r", Route: RouteShiftedInPlace, Shift: res,
		Verdict: Verdict{Dir: "/r", FSType: "ramfs", Reason: fsprobe.ReasonFSUnsupported, Errno: "EINVAL"}}
	want := "ramfs at /r cannot be idmapped (EINVAL): shifted /r in place (4 inodes changed) and bind-mounted it; warning: 1 inodes hold IDs outside the mapping (uids 70000)"
	if !strings.HasPrefix(r.Message(), want) {
		t.Errorf("message %q\nwant prefix %q", r.Message(), want)
	}
	if (&MountReport{Route: RouteIDMapped}).Message() != "" || (*MountReport)(nil).Message() != "" {
		t.Error("an idmapped mount has a fallback message")
	}
	l := LayerReport{Dir: "/l", Route: RouteCacheBuilt, Verdict: r.Verdict,
		Entry: &Entry{Tree: "/c/k/tree", Copy: "reflink", Shift: &Result{Seen: 9, Changed: 8}, Seconds: 1.5}}
	if got := l.Message(); got != "layer /l: ramfs at /r cannot be idmapped (EINVAL): made a shifted copy /c/k/tree (reflink, 9 inodes, 8 shifted, 1.50s)" {
		t.Errorf("layer message %q", got)
	}
}
