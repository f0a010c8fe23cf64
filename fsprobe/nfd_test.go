package fsprobe

import (
	"regexp"
	"slices"
	"testing"
)

func TestNFD(t *testing.T) {
	k := Kernel{Release: "6.18.44-fc-v509", Checks: []Check{
		{Name: CheckMounts, Supported: Yes},
		{Name: CheckOverlayFDLayers, Supported: No},
		{Name: CheckStatmountUIDMap, Supported: Unknown},
	}}
	results := []Result{
		{FSType: "ext4", Supported: Yes},
		{FSType: "ext4", Supported: Yes},
		{FSType: "fuse.sshfs", Supported: Yes},
		{FSType: "fuse.sshfs", Supported: No}, // one FUSE server did not opt in
		{FSType: "proc", Supported: No},
		{FSType: "cgroup", Supported: Unknown},
		{FSType: "xfs", Supported: Unknown},
		{FSType: "xfs", Supported: Yes},
	}
	want := []string{
		"idmap.fs.ext4=true",
		"idmap.fs.fuse.sshfs=false",
		"idmap.fs.proc=false",
		"idmap.fs.xfs=true",
		"idmap.kernel=6.18.44",
		"idmap.mounts=true",
		"idmap.overlay.fd-layers=false",
	}
	if got := NFD(k, results); !slices.Equal(got, want) {
		t.Fatalf("NFD =\n%q\nwant\n%q", got, want)
	}
}

func TestKernelVersion(t *testing.T) {
	for in, want := range map[string]string{
		"6.18.44-fc-v509": "6.18.44", "5.15.0": "5.15.0", "6.1.0-rc1+": "6.1.0", "": "", "weird": "", "6.": "6",
	} {
		if got := kernelVersion(in); got != want {
			t.Errorf("kernelVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

var validLabelName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,48}[A-Za-z0-9])?$`)

func TestLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"ext4": "ext4", "fuse.sshfs": "fuse.sshfs", "fuse.my fs": "fuse.my-fs", "-x-": "x", "": "unnamed", "é": "unnamed",
	} {
		if got := labelName(in); got != want {
			t.Errorf("labelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzLabelName(f *testing.F) {
	for _, s := range []string{"ext4", "fuse.sshfs", "", "a b", "..", "é-x", "x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := labelName(s); !validLabelName.MatchString(got) {
			t.Fatalf("labelName(%q) = %q, not a valid label name", s, got)
		}
	})
}
