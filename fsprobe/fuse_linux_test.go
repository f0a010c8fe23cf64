package fsprobe

import (
	"errors"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestProbeFUSEPerMount: two mounts of one FUSE filesystem type, one whose
// server opts in to idmapped mounts and one whose server does not, get
// different answers: support is per mount, not per type.
func TestProbeFUSEPerMount(t *testing.T) {
	testutil.RequireKernel(t, 6, 12, "FUSE servers can opt in to idmapped mounts")
	base := testutil.Tmpfs(t)
	yes, no := testutil.FUSE(t, base, true), testutil.FUSE(t, base, false)
	before := testutil.MountInfo(t)
	p := NewProber()
	defer p.Close()
	ry, err := p.Probe(yes)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := p.Probe(no)
	if err != nil {
		t.Fatal(err)
	}
	sameMountTable(t, before)
	if ry.FSType != testutil.FUSEType || ry.Mountpoint != yes || ry.Supported != Yes || ry.Reason != ReasonOK {
		t.Errorf("opted-in FUSE mount: %+v", ry)
	}
	if rn.FSType != testutil.FUSEType || rn.Supported != No || rn.Reason != ReasonFSUnsupported || rn.Errno != "EINVAL" ||
		!errors.Is(rn.Err(), unix.EINVAL) || !strings.Contains(rn.Detail, "FUSE server did not opt in") {
		t.Errorf("FUSE mount without opt-in: %+v (%s)", rn, rn.Detail)
	}
}
