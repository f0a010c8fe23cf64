package idmapmount

import (
	"fmt"
	"os"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
)

// userMapping is the mapping of user i of many: on-disk 0..65535 shown as
// a range of its own.
func userMapping(i int) Mapping {
	e := IDMap{{From: 0, To: uint32(200000 + i*65536), Count: 65536}}
	return Mapping{UID: e, GID: e}
}

// TestOverlayManyUsers mounts one lower image (on ext4) for 50 users at
// once, each under its own mapping and with its own upper, and checks that
// each sees the image under its own IDs, that a write by one user lands in
// that user's upper only, and that the image is unchanged inode for inode.
func TestOverlayManyUsers(t *testing.T) {
	const users = 50
	for _, method := range overlayMethods {
		t.Run(method.String(), func(t *testing.T) {
			img := testutil.LoopFS(t, "ext4")
			o := newOvl(t, img)
			uppers := testutil.Tmpfs(t)
			image := treeState(t, o.top)
			maps(image, treeState(t, o.bottom))
			before := testutil.MountInfo(t)
			targets := make([]string, users)
			for i := range users {
				d := fmt.Sprintf("%s/u%d", uppers, i)
				targets[i] = d + "/target"
				for _, sub := range []string{d, d + "/upper", d + "/work", targets[i]} {
					mkdir755(t, sub)
				}
				cfg := OverlayConfig{Lower: []Layer{{Dir: o.top}, {Dir: o.bottom}}, Upper: d + "/upper",
					Work: d + "/work", Mapping: userMapping(i), Method: method, StateDir: o.state}
				mountOvl(t, targets[i], cfg)
			}
			for i, target := range targets {
				root := uint32(200000 + i*65536)
				checkOwner(t, target+"/shared", root+7, root+8)
				checkOwner(t, target+"/dir/deep", root+1000, root+1000)
				if out, err := runAs(root, root, "echo mine > "+target+"/mine"); err != nil {
					t.Fatalf("user %d writes: %v\n%s", i, err, out)
				}
			}
			for i := range users {
				d := fmt.Sprintf("%s/u%d", uppers, i)
				root := uint32(200000 + i*65536)
				checkOwner(t, d+"/upper/mine", root, root)
				ents, err := os.ReadDir(d + "/upper")
				if err != nil || len(ents) != 1 {
					t.Errorf("user %d's upper holds %v (%v), want only its own file", i, ents, err)
				}
			}
			after := treeState(t, o.top)
			maps(after, treeState(t, o.bottom))
			checkSameTree(t, "image", image, after)
			for _, target := range targets {
				if err := Unmount(target, UnmountOptions{StateDir: o.state}); err != nil {
					t.Fatal(err)
				}
			}
			if got := testutil.MountInfo(t); got != before {
				t.Errorf("mount table after 50 overlays and umounts differs")
			}
			checkNoLeftovers(t, o.state)
		})
	}
}
