package fsprobe

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestProbeFilesystems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mount  func(t *testing.T) string
		want   Support
		reason Reason
		errno  string
	}{
		{"tmpfs", func(t *testing.T) string { return testutil.Tmpfs(t) }, Yes, ReasonOK, ""},
		{"ext4", func(t *testing.T) string { return testutil.LoopFS(t, "ext4") }, Yes, ReasonOK, ""},
		{"xfs", func(t *testing.T) string { return testutil.LoopFS(t, "xfs") }, Yes, ReasonOK, ""},
		{"btrfs", func(t *testing.T) string { return testutil.LoopFS(t, "btrfs") }, Yes, ReasonOK, ""},
		{"squashfs", func(t *testing.T) string { return imageFS(t, "squashfs") }, Yes, ReasonOK, ""},
		{"erofs", func(t *testing.T) string { return imageFS(t, "erofs") }, Yes, ReasonOK, ""},
		{"ramfs", func(t *testing.T) string { return kernelFS(t, "ramfs", "") }, No, ReasonFSUnsupported, "EINVAL"},
		{"proc", func(t *testing.T) string { return kernelFS(t, "proc", "") }, No, ReasonFSUnsupported, "EINVAL"},
		{"sysfs", func(t *testing.T) string { return kernelFS(t, "sysfs", "") }, No, ReasonFSUnsupported, "EINVAL"},
		{"overlay", overlayFS, No, ReasonFSUnsupported, "EINVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.mount(t)
			before := testutil.MountInfo(t)
			p := NewProber()
			defer p.Close()
			r, err := p.Probe(dir)
			if err != nil {
				t.Fatal(err)
			}
			sameMountTable(t, before)
			if r.Supported != tc.want || r.Reason != tc.reason || r.Errno != tc.errno {
				t.Fatalf("Probe(%s) = %s/%s/%q (%s), want %s/%s/%q", dir, r.Supported, r.Reason, r.Errno, r.Detail, tc.want, tc.reason, tc.errno)
			}
			if r.Mountpoint != dir || r.FSType != tc.name {
				t.Errorf("mount %s type %s, want %s type %s", r.Mountpoint, r.FSType, dir, tc.name)
			}
			if tc.errno != "" && !errors.Is(r.Err(), unix.EINVAL) {
				t.Errorf("Err() = %v, want EINVAL", r.Err())
			}
		})
	}
}

// A path below the mount point probes the mount that holds it.
func TestProbeSubdirectory(t *testing.T) {
	dir := kernelFS(t, "proc", "")
	r, err := Probe(filepath.Join(dir, "self"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Mountpoint != dir || r.FSType != "proc" || r.Supported != No {
		t.Fatalf("got %+v", r)
	}
}

func TestProbeAlreadyIDMapped(t *testing.T) {
	src := testutil.Tmpfs(t)
	dst := mkdir(t, "idmapped")
	m := idmapmount.Mapping{UID: idmapmount.IDMap{{From: 0, To: 1000, Count: 10}}, GID: idmapmount.IDMap{{From: 0, To: 1000, Count: 10}}}
	if err := idmapmount.MountMapping(src, dst, m, idmapmount.Options{}); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dst)
	r, err := Probe(dst)
	if err != nil {
		t.Fatal(err)
	}
	if r.Supported != No || r.Reason != ReasonAlreadyIDMapped || r.Errno != "EPERM" {
		t.Fatalf("got %s/%s/%s (%s), want no/already-idmapped/EPERM", r.Supported, r.Reason, r.Errno, r.Detail)
	}
}

func TestProbeMissingPath(t *testing.T) {
	_, err := Probe(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func TestSubmountsBlockers(t *testing.T) {
	top := testutil.Tmpfs(t)
	for _, sub := range []struct{ name, fstype string }{{"ok", "tmpfs"}, {"ram", "ramfs"}, {"proc", "proc"}} {
		dir := filepath.Join(top, sub.name)
		if err := unix.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(sub.fstype, dir, sub.fstype, 0, ""); err != nil {
			t.Fatal(err)
		}
		testutil.Unmount(t, dir)
	}
	p := NewProber()
	defer p.Close()
	all, err := p.Submounts(top)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("Submounts = %d results, want 3: %+v", len(all), all)
	}
	bad := Blockers(all)
	if len(bad) != 2 || bad[0].Mountpoint != filepath.Join(top, "ram") || bad[1].Mountpoint != filepath.Join(top, "proc") {
		t.Fatalf("Blockers = %+v, want ram and proc", bad)
	}
}

func TestProbeShadowed(t *testing.T) {
	dir := testutil.Tmpfs(t)
	if err := unix.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dir)
	p := NewProber()
	defer p.Close()
	all, err := p.All()
	if err != nil {
		t.Fatal(err)
	}
	var seen []Result
	for _, r := range all {
		if r.Mountpoint == dir {
			seen = append(seen, r)
		}
	}
	if len(seen) != 2 || seen[0].Reason != ReasonShadowed || seen[1].FSType != "ramfs" || seen[1].Reason != ReasonFSUnsupported {
		t.Fatalf("All() at %s = %+v, want the tmpfs shadowed and the ramfs fs-unsupported", dir, seen)
	}
}

func TestControlProbe(t *testing.T) {
	testutil.RequireRoot(t)
	p := NewProber()
	defer p.Close()
	if err := p.Control(); err != nil {
		t.Fatalf("control probe on a private tmpfs: %v", err)
	}
}
