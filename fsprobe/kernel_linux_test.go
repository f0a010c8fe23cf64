package fsprobe

import (
	"fmt"
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// On the kernel CI runs (6.18) every capability is there; an older kernel
// should show No, not Unknown, for what it lacks.
func TestKernel(t *testing.T) {
	testutil.RequireRoot(t)
	privateTemp(t)
	before := testutil.MountInfo(t)
	tmpBefore := tempEntries(t)
	p := NewProber()
	defer p.Close()
	k := p.Kernel()
	sameMountTable(t, before)
	if after := tempEntries(t); len(after) != len(tmpBefore) {
		t.Errorf("Kernel() left files in %s: %v, was %v", os.TempDir(), after, tmpBefore)
	}
	if k.Release == "" {
		t.Error("no kernel release")
	}
	names := []string{CheckMounts, CheckOverlayIDMapped, CheckOverlayFDLayers, CheckOverlayDetached, CheckStatmountUIDMap}
	if len(k.Checks) != len(names) {
		t.Fatalf("checks = %+v, want %v", k.Checks, names)
	}
	for i, name := range names {
		c := k.Checks[i]
		if c.Name != name || c.Supported == Unknown || c.Detail == "" {
			t.Errorf("check %d = %+v, want %s answered yes or no", i, c, name)
		}
		t.Logf("%s: %s (%s)", c.Name, c.Supported, c.Detail)
	}
}

// privateTemp points TMPDIR, for the rest of the test, at a directory of
// its own, so that the checks for leftovers see only what this test made
// and not the temporary files of other test binaries running alongside.
func privateTemp(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

func tempEntries(t *testing.T) []string {
	m, err := filepath.Glob(filepath.Join(os.TempDir(), "idmapkit-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The fallbacks Kernel takes on older kernels work here too.
func TestKernelFallbacks(t *testing.T) {
	testutil.RequireRoot(t)
	before := testutil.MountInfo(t)
	p := NewProber()
	defer p.Close()
	userns, err := p.usernsFD()
	if err != nil {
		t.Fatal(err)
	}
	if err := tryIDMappedLower(t.TempDir(), userns); err != nil {
		t.Errorf("idmapped lower layers attached in a scratch namespace: %v", err)
	}
	if err := tryDetachedLayers(userns, false); err != nil {
		t.Errorf("detached idmapped layers by /proc/self/fd path: %v", err)
	}
	sameMountTable(t, before)
}

func TestCheckOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Support
	}{
		{nil, Yes},
		{&refusal{"no", unix.EINVAL}, No},
		{fmt.Errorf("wrapped: %w", &refusal{"no", unix.ENODEV}), No},
		{unix.EIO, Unknown},
	} {
		c := checkOf("x", "fine", tc.err)
		if c.Supported != tc.want || c.Name != "x" || c.Detail == "" {
			t.Errorf("checkOf(%v) = %+v, want %s", tc.err, c, tc.want)
		}
	}
}
