package chownfallback

import (
	"testing"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/idmapkit/idmapkit/internal/testutil"
)

// TestShiftMatchesIDMappedMount: the same spec given to an idmapped mount
// and to Shift gives the same view: owners, ACLs and capabilities read
// through an idmapped mount of one copy of a fixture equal those Shift
// wrote to another copy. IDs in no extent differ by design: the mount
// shows them as the overflow ID, Shift leaves them.
func TestShiftMatchesIDMappedMount(t *testing.T) {
	for name, mk := range fsDirs() {
		t.Run(name, func(t *testing.T) {
			base := mk(t)
			viewed, shiftedDir, view := mkdir(t, base, "viewed"), mkdir(t, base, "shifted"), mkdir(t, base, "view")
			buildFixture(t, viewed, fullFixture)
			buildFixture(t, shiftedDir, fullFixture)
			const spec = "b:0:100000:65536"
			if err := idmapmount.MountMapping(viewed, view, mapping(t, spec), idmapmount.Options{}); err != nil {
				t.Fatalf("idmapped mount: %v", err)
			}
			testutil.Unmount(t, view)
			mustShift(t, shiftedDir, mapping(t, spec), Options{})
			compareViews(t, snapshot(t, view), snapshot(t, shiftedDir))
		})
	}
}

func compareViews(t *testing.T, mounted, shifted map[string]meta) {
	t.Helper()
	if len(mounted) != len(shifted) {
		t.Fatalf("%d inodes through the mount, %d shifted", len(mounted), len(shifted))
	}
	compared := 0
	for path, s := range shifted {
		v := mounted[path]
		if s.UID >= 65536 && s.UID < 100000 || s.GID >= 65536 && s.GID < 100000 {
			// in no extent: the mount presents the overflow ID
			if v.UID != s.UID && v.UID != idmapmount.OverflowID || v.GID != s.GID && v.GID != idmapmount.OverflowID {
				t.Errorf("%q: unmapped owner %d:%d shows as %d:%d through the mount", path, s.UID, s.GID, v.UID, v.GID)
			}
			continue
		}
		if v.UID != s.UID || v.GID != s.GID {
			t.Errorf("%q: owner %d:%d through the mount, %d:%d shifted", path, v.UID, v.GID, s.UID, s.GID)
		}
		for _, attr := range []string{XattrACLAccess, XattrACLDefault, XattrCaps} {
			if v.Xattrs[attr] != s.Xattrs[attr] {
				t.Errorf("%q: %s %x through the mount, %x shifted", path, attr, v.Xattrs[attr], s.Xattrs[attr])
			}
		}
		compared++
	}
	if compared < len(shifted)-3 {
		t.Fatalf("compared only %d of %d inodes", compared, len(shifted))
	}
}

// TestDebianRootfsRoundTrip shifts a real rootfs on each filesystem,
// checks its setuid binaries and ping's capability, compares with an
// idmapped mount of a pristine copy, and shifts it back exactly.
func TestDebianRootfsRoundTrip(t *testing.T) {
	for name, mk := range fsDirs() {
		t.Run(name, func(t *testing.T) {
			base := mk(t)
			root := testutil.DebianRootfsIn(t, mkdir(t, base, "a"))
			before := snapshot(t, root)
			m := mapping(t, "b:0:100000:65536")
			res := mustShift(t, root, m, Options{})
			if res.Changed != res.Seen || res.Unmapped != 0 || res.ErrorCount != 0 {
				t.Fatalf("changed %d of %d, unmapped %d, errors %d", res.Changed, res.Seen, res.Unmapped, res.ErrorCount)
			}
			after := snapshot(t, root)
			checkRootfs(t, before, after)

			// A second copy does not fit on the 512 MiB loop filesystems.
			scratch := testutil.Tmpfs(t)
			pristine := testutil.DebianRootfsIn(t, mkdir(t, scratch, "b"))
			view := mkdir(t, scratch, "view")
			if err := idmapmount.MountMapping(pristine, view, m, idmapmount.Options{}); err != nil {
				t.Fatalf("idmapped mount: %v", err)
			}
			testutil.Unmount(t, view)
			compareViews(t, snapshot(t, view), after)

			mustShift(t, root, m.Inverse(), Options{})
			requireSame(t, "rootfs after shift and --reverse", before, snapshot(t, root))
		})
	}
}

func checkRootfs(t *testing.T, before, after map[string]meta) {
	t.Helper()
	setuid := 0
	for path, b := range before {
		a := after[path]
		if b.Mode&0o6000 != 0 && b.Mode&0o170000 == 0o100000 {
			setuid++
			if a.Mode != b.Mode {
				t.Errorf("%s: mode %o, want %o", path, a.Mode, b.Mode)
			}
		}
		if a.UID != b.UID+100000 || a.GID != b.GID+100000 {
			t.Errorf("%s: owner %d:%d, want %d:%d", path, a.UID, a.GID, b.UID+100000, b.GID+100000)
		}
	}
	if setuid < 5 {
		t.Errorf("only %d setuid/setgid files in the rootfs", setuid)
	}
	ping := after["usr/bin/ping"].Xattrs[XattrCaps]
	c, err := ParseCaps([]byte(ping))
	if err != nil || c.Revision() != capRevision3 || c.RootID != 100000 || c.Data[0]&capNetRaw == 0 {
		t.Errorf("usr/bin/ping capability %x (%+v, %v), want cap_net_raw as v3 owned by 100000", ping, c, err)
	}
}
