package idmapmount

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idmapkit/idmapkit/internal/testutil"
	"golang.org/x/sys/unix"
)

// scratch returns a traversable dir with a src and dst directory in it.
func scratch(t *testing.T) (base, src, dst string) {
	base = testutil.Tmpfs(t)
	src, dst = filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return base, src, dst
}

func mountFS(t *testing.T, fstype, dir, data string) {
	t.Helper()
	if err := unix.Mount(fstype, dir, fstype, 0, data); err != nil {
		t.Fatalf("mount %s on %s: %v", fstype, dir, err)
	}
	testutil.Unmount(t, dir)
}

// TestMountFailures checks that every failure names its step and path,
// carries the errno and a hint, and leaves the mount table as it was.
func TestMountFailures(t *testing.T) {
	testutil.RequireMountNS(t)
	for _, tc := range []struct {
		name      string
		setup     func(t *testing.T, base, src, dst string) (string, string, Options)
		errno     error
		wantInErr []string
	}{
		{"ramfs", func(t *testing.T, base, src, dst string) (string, string, Options) {
			mountFS(t, "ramfs", src, "")
			return src, dst, Options{}
		}, unix.EINVAL, []string{"mount_setattr(MOUNT_ATTR_IDMAP)", "filesystem ramfs", "does not support idmapped mounts", "--fallback=chown"}},
		{"overlay", func(t *testing.T, base, src, dst string) (string, string, Options) {
			lower, upper, work := filepath.Join(base, "l"), filepath.Join(base, "u"), filepath.Join(base, "w")
			for _, d := range []string{lower, upper, work} {
				os.Mkdir(d, 0o755)
			}
			mountFS(t, "overlay", src, "lowerdir="+lower+",upperdir="+upper+",workdir="+work)
			return src, dst, Options{}
		}, unix.EINVAL, []string{"filesystem overlay", "does not support idmapped mounts"}},
		{"recursive with a ramfs submount", func(t *testing.T, base, src, dst string) (string, string, Options) {
			sub := filepath.Join(src, "sub")
			os.Mkdir(sub, 0o755)
			mountFS(t, "ramfs", sub, "")
			return src, dst, Options{Recursive: true}
		}, unix.EINVAL, []string{"submount " + "SRC/sub", "filesystem ramfs", "leave out --recursive"}},
		{"missing source", func(t *testing.T, base, src, dst string) (string, string, Options) {
			return filepath.Join(base, "nope"), dst, Options{}
		}, unix.ENOENT, []string{"stat source", "nope"}},
		{"missing target", func(t *testing.T, base, src, dst string) (string, string, Options) {
			return src, filepath.Join(base, "nope"), Options{}
		}, unix.ENOENT, []string{"stat target", "nope", "create the mount point first"}},
		{"file target for a directory source", func(t *testing.T, base, src, dst string) (string, string, Options) {
			f := filepath.Join(base, "file")
			os.WriteFile(f, nil, 0o644)
			return src, f, Options{}
		}, unix.ENOTDIR, []string{"check target", "is a directory but the target is not a directory"}},
		{"already idmapped", func(t *testing.T, base, src, dst string) (string, string, Options) {
			mid := filepath.Join(base, "mid")
			os.Mkdir(mid, 0o755)
			if err := MountMapping(src, mid, b100k, Options{}); err != nil {
				t.Fatal(err)
			}
			testutil.Unmount(t, mid)
			return mid, dst, Options{}
		}, unix.EPERM, []string{"mount_setattr", "already on an idmapped mount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, src, dst := scratch(t)
			from, to, opts := tc.setup(t, base, src, dst)
			before := testutil.MountInfo(t)
			err := MountMapping(from, to, b100k, opts)
			if after := testutil.MountInfo(t); after != before {
				t.Errorf("mount table changed by a failed mount:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if !errors.Is(err, tc.errno) {
				t.Fatalf("MountMapping: %v, want errno %v", err, tc.errno)
			}
			var se *StepError
			if !errors.As(err, &se) || se.Path == "" {
				t.Fatalf("error %v is not a StepError with a path", err)
			}
			msg := err.Error()
			for _, want := range tc.wantInErr {
				want = strings.ReplaceAll(want, "SRC", src)
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}

func TestRecursiveIdmapsSubmounts(t *testing.T) {
	_, src, dst := scratch(t)
	sub := filepath.Join(src, "sub")
	os.Mkdir(sub, 0o755)
	mountFS(t, "tmpfs", sub, "mode=0755")
	mustWrite(t, filepath.Join(sub, "f"), 5, 5)
	if err := MountMapping(src, dst, b100k, Options{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dst)
	checkOwner(t, filepath.Join(dst, "sub", "f"), 100005, 100005)
}

func TestUnmount(t *testing.T) {
	base, src, dst := scratch(t)
	if err := Unmount(dst, UnmountOptions{}); !errors.Is(err, ErrNotMountPoint) {
		t.Fatalf("Unmount of a plain directory: %v, want ErrNotMountPoint", err)
	}
	plain := filepath.Join(base, "plain")
	os.Mkdir(plain, 0o755)
	mountFS(t, "tmpfs", plain, "")
	if err := Unmount(plain, UnmountOptions{}); !errors.Is(err, ErrNotIDMapped) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Unmount of a plain tmpfs: %v, want ErrNotIDMapped with a hint to --force", err)
	}
	if err := Unmount(plain, UnmountOptions{Force: true}); err != nil {
		t.Fatalf("Unmount --force: %v", err)
	}
	before := testutil.MountInfo(t)
	if err := MountMapping(src, dst, b100k, Options{}); err != nil {
		t.Fatal(err)
	}
	testutil.Unmount(t, dst)
	if err := Unmount(dst, UnmountOptions{}); err != nil {
		t.Fatalf("Unmount of an idmapped mount: %v", err)
	}
	if after := testutil.MountInfo(t); after != before {
		t.Errorf("mount table after mount+umount differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
