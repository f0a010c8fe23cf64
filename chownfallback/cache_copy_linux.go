package chownfallback

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// layerIdentity resolves layer and says which inode it is.
func layerIdentity(layer string) (LayerID, error) {
	abs, err := filepath.Abs(layer)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return LayerID{}, &idmapmount.StepError{Step: "resolve layer", Path: layer, Err: bareErr(err)}
	}
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, abs, unix.AT_STATX_SYNC_AS_STAT, unix.STATX_INO|unix.STATX_TYPE|unix.STATX_BTIME, &st); err != nil {
		return LayerID{}, &idmapmount.StepError{Step: "statx", Path: abs, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return LayerID{}, &idmapmount.StepError{Step: "check layer", Path: abs, Err: unix.ENOTDIR}
	}
	id := LayerID{Path: abs, Dev: uint64(st.Dev_major)<<32 | uint64(st.Dev_minor), Ino: st.Ino}
	if st.Mask&unix.STATX_BTIME != 0 {
		id.Btime = st.Btime.Sec*1e9 + int64(st.Btime.Nsec)
	}
	return id, nil
}

// cpArgs copy a tree as Shift and an overlay layer need it: owners,
// modes with setuid bits, timestamps, hardlinks, symlinks, devices,
// FIFOs and sockets (-a), and every xattr: ACLs and security.capability
// (--preserve=xattr, which unlike -a alone makes a failure to copy one
// fatal instead of silently dropping it). The copy stays on the layer's
// filesystem (-x), as an idmapped mount of the layer and Shift do.
// --reflink=auto shares the data blocks where the filesystem can.
var cpArgs = []string{"-a", "--preserve=xattr", "--reflink=auto", "--one-file-system", "--no-target-directory", "--"}

// copyTree copies src to the new directory dst with cp from coreutils,
// which has done this right for decades, and says whether the copy could
// share data blocks ("reflink") or not ("copy").
func copyTree(src, dst string) (string, error) {
	how := "copy"
	if canReflink(src, filepath.Dir(dst)) {
		how = "reflink"
	}
	cmd := exec.Command("cp", append(cpArgs, src, dst)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return how, &idmapmount.StepError{Step: "cp " + strings.Join(cpArgs[:len(cpArgs)-1], " "), Path: src,
			Err: fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 5)), Hint: copyHint(stderr.String())}
	}
	return how, nil
}

func copyHint(stderr string) string {
	switch {
	case strings.Contains(stderr, "Operation not supported"):
		return "the cache directory's filesystem lacks xattrs the layer uses (ACLs, capabilities): use --cache-dir on ext4, xfs, btrfs or tmpfs"
	case strings.Contains(stderr, "File name too long"):
		return "cp cannot copy paths longer than PATH_MAX (4096 bytes); put the layer on a filesystem that supports idmapped mounts"
	case strings.Contains(stderr, "No space left"):
		return "the cache filesystem is full: free space, or use --cache-dir on a filesystem with room (xfs or btrfs share the blocks of a layer on the same filesystem)"
	}
	return ""
}

// lastLines keeps the last n lines of cp's messages, each cut to 300
// bytes: a message about a long path can be many kilobytes.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:150] + "..." + l[len(l)-150:]
		}
	}
	return strings.Join(lines, "; ")
}

// canReflink reports whether a copy from src into dir can share data
// blocks: both on one filesystem, and that filesystem takes FICLONE
// (tried on two scratch files in dir).
func canReflink(src, dir string) bool {
	var a, b unix.Stat_t
	if unix.Stat(src, &a) != nil || unix.Stat(dir, &b) != nil || a.Dev != b.Dev {
		return false
	}
	from, err := os.CreateTemp(dir, tmpPrefix+"reflink-")
	if err != nil {
		return false
	}
	defer os.Remove(from.Name())
	defer from.Close()
	if _, err := from.Write([]byte{0}); err != nil {
		return false
	}
	to, err := os.CreateTemp(dir, tmpPrefix+"reflink-")
	if err != nil {
		return false
	}
	defer os.Remove(to.Name())
	defer to.Close()
	return unix.IoctlFileClone(int(to.Fd()), int(from.Fd())) == nil
}
