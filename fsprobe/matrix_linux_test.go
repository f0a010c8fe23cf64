package fsprobe

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

func TestMatrix(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"mkfs.ext4", "mkfs.ext2", "mkfs.xfs", "mkfs.btrfs", "mksquashfs", "mkfs.erofs"} {
		testutil.RequireCmd(t, tool)
	}
	dir := privateTemp(t)
	mounts, loops, tmp := testutil.MountInfo(t), losetup(t, dir), tempEntries(t)
	p := NewProber()
	defer p.Close()
	results, err := p.Matrix(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sameMountTable(t, mounts)
	if after := losetup(t, dir); after != loops {
		t.Errorf("losetup -a before:\n%s\nafter:\n%s", loops, after)
	}
	if after := tempEntries(t); len(after) != len(tmp) {
		t.Errorf("left temporary files: %v", after)
	}
	want := map[string]Support{
		"tmpfs": Yes, "ramfs": No, "ext4": Yes, "ext2 as ext4": Yes, "xfs": Yes,
		"btrfs": Yes, "squashfs": Yes, "erofs": Yes, "overlay": No,
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(results), len(want), results)
	}
	for _, r := range results {
		t.Logf("%-13s %-8s %-7s %-14s %s", r.Path, r.FSType, r.Supported, r.Reason, r.Source)
		if r.Supported != want[r.Path] {
			t.Errorf("%s: %s/%s (%s), want %s", r.Path, r.Supported, r.Reason, r.Detail, want[r.Path])
		}
		if r.Supported == No && (r.Reason != ReasonFSUnsupported || r.Errno != "EINVAL") {
			t.Errorf("%s: reason %s/%s, want fs-unsupported/EINVAL", r.Path, r.Reason, r.Errno)
		}
	}
}

// A cancelled matrix stops, reports it, and still cleans up.
func TestMatrixInterrupted(t *testing.T) {
	testutil.RequireRoot(t)
	dir := privateTemp(t)
	mounts, loops, tmp := testutil.MountInfo(t), losetup(t, dir), tempEntries(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var made []string
	afterScratch = func(name string) {
		made = append(made, name)
		if name == "xfs" {
			cancel()
		}
	}
	defer func() { afterScratch = nil }()
	p := NewProber()
	defer p.Close()
	results, err := p.Matrix(ctx)
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrInterrupted and context.Canceled", err)
	}
	if len(results) != len(made) || made[len(made)-1] != "xfs" {
		t.Fatalf("made %v, returned %d results: want it to stop after xfs", made, len(results))
	}
	sameMountTable(t, mounts)
	if losetup(t, dir) != loops || len(tempEntries(t)) != len(tmp) {
		t.Error("an interrupted matrix left loop devices or files")
	}
}

// losetup lists the loop devices whose backing file is under dir (other
// test binaries may attach and detach their own meanwhile).
func losetup(t *testing.T, dir string) string {
	t.Helper()
	testutil.RequireCmd(t, "losetup")
	out, err := exec.Command("losetup", "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("losetup -a: %v\n%s", err, out)
	}
	var mine []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, dir) {
			mine = append(mine, line)
		}
	}
	return strings.Join(mine, "\n")
}
