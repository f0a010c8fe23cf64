package chownfallback

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A fixture tree is built from one line per inode:
//
//	d PATH UID:GID MODE                 directory
//	f PATH UID:GID MODE                 regular file (content: its path)
//	l PATH TARGET UID:GID               symlink
//	h PATH EXISTING                     hardlink
//	c PATH MAJ:MIN UID:GID MODE         character device (b: block device)
//	p PATH UID:GID MODE                 FIFO
//	s PATH UID:GID MODE                 unix socket (bound, then closed)
//	acl PATH u:5:rw,g:7:r               access ACL (named entries; the rest from the mode)
//	dacl PATH u:9:rx                    default ACL of a directory
//	cap PATH v2 | v3:ROOTID             cap_net_raw+ep, owned by root or by ROOTID
//	x PATH NAME=VALUE                   any other xattr
//	long PATH DEPTH UID:GID             DEPTH nested 200-byte directory names, then a file "f"
//
// A PATH in double quotes is a Go string literal (for newlines and bytes
// that are not UTF-8). Inodes are made relative to directory fds, as the
// shift walks them, so paths longer than PATH_MAX work.

// capNetRaw is CAP_NET_RAW's bit in the first permitted word.
const capNetRaw = 1 << 13

func buildFixture(t testing.TB, root, spec string) {
	t.Helper()
	for _, line := range strings.Split(spec, "\n") {
		f := fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if err := buildLine(root, f); err != nil {
			t.Fatalf("fixture line %q: %v", line, err)
		}
	}
}

// fields splits a spec line on blanks, keeping a quoted path whole.
func fields(line string) []string {
	line = strings.TrimSpace(line)
	kind, rest, _ := strings.Cut(line, " ")
	if kind == "" {
		return nil
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, `"`) {
		q, err := strconv.QuotedPrefix(rest)
		if err == nil {
			p, _ := strconv.Unquote(q)
			return append([]string{kind, p}, strings.Fields(rest[len(q):])...)
		}
	}
	return append([]string{kind}, strings.Fields(rest)...)
}

func buildLine(root string, f []string) error {
	if len(f) < 3 {
		return fmt.Errorf("too few fields")
	}
	kind, path := f[0], f[1]
	dir, name, err := openParent(root, path)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	switch kind {
	case "d":
		return finish(dir, name, f[2], f[3], unix.Mkdirat(dir, name, 0o700))
	case "f":
		return finish(dir, name, f[2], f[3], writeAt(dir, name, path))
	case "l":
		return finish(dir, name, f[3], "", unix.Symlinkat(f[2], dir, name))
	case "h":
		return unix.Linkat(unix.AT_FDCWD, filepath.Join(root, f[2]), dir, name, 0)
	case "c", "b":
		mode := map[string]uint32{"c": unix.S_IFCHR, "b": unix.S_IFBLK}[kind]
		var maj, min uint32
		fmt.Sscanf(f[2], "%d:%d", &maj, &min)
		return finish(dir, name, f[3], f[4], unix.Mknodat(dir, name, mode|0o600, int(unix.Mkdev(maj, min))))
	case "p":
		return finish(dir, name, f[2], f[3], unix.Mkfifoat(dir, name, 0o600))
	case "s":
		return finish(dir, name, f[2], f[3], bindSocket(dir, name))
	case "acl", "dacl":
		return setACL(dir, name, kind == "dacl", f[2])
	case "cap":
		return setxattrAt(dir, name, XattrCaps, fixtureCaps(f[2]))
	case "x":
		k, v, _ := strings.Cut(f[2], "=")
		return setxattrAt(dir, name, k, []byte(v))
	case "long":
		depth, _ := strconv.Atoi(f[2])
		return buildLong(dir, name, depth, f[3])
	}
	return fmt.Errorf("unknown kind %q", kind)
}

// openParent opens the directory that holds path, one component at a time.
func openParent(root, path string) (int, string, error) {
	dir, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", err
	}
	parts := strings.Split(path, "/")
	for _, p := range parts[:len(parts)-1] {
		next, err := unix.Openat(dir, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dir)
		if err != nil {
			return -1, "", fmt.Errorf("open %s: %w", p, err)
		}
		dir = next
	}
	return dir, parts[len(parts)-1], nil
}

func writeAt(dir int, name, content string) error {
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(content))
	return err
}

func bindSocket(dir int, name string) error {
	// bind(2) takes a path; reach the directory through its fd's magic link.
	l, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(l)
	return unix.Bind(l, &unix.SockaddrUnix{Name: procFD(dir) + "/" + name})
}

// finish sets the owner and mode of a new inode (the mode after the
// owner: chown clears setuid bits).
func finish(dir int, name, owner, mode string, err error) error {
	if err != nil {
		return err
	}
	var uid, gid int
	if _, err := fmt.Sscanf(owner, "%d:%d", &uid, &gid); err != nil {
		return fmt.Errorf("owner %q: %w", owner, err)
	}
	if err := unix.Fchownat(dir, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if mode == "" {
		return nil
	}
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil {
		return err
	}
	return unix.Fchmodat(dir, name, uint32(m), unix.AT_SYMLINK_NOFOLLOW)
}

func setxattrAt(dir int, name, attr string, val []byte) error {
	return unix.Lsetxattr(procFD(dir)+"/"+name, attr, val, 0)
}

// setACL writes an ACL as setfacl would: the owner, group and other
// entries from the mode, the named ones from spec, a mask over the group
// class.
func setACL(dir int, name string, dflt bool, spec string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	acl := ACL{{Tag: TagUserObj, Perm: uint16(st.Mode>>6) & 7}}
	var groups ACL
	mask := uint16(st.Mode>>3) & 7
	for _, e := range strings.Split(spec, ",") {
		parts := strings.Split(e, ":")
		id, _ := strconv.ParseUint(parts[1], 10, 32)
		perm := permBits(parts[2])
		mask |= perm
		if parts[0] == "u" {
			acl = append(acl, ACLEntry{Tag: TagUser, Perm: perm, ID: uint32(id)})
		} else {
			groups = append(groups, ACLEntry{Tag: TagGroup, Perm: perm, ID: uint32(id)})
		}
	}
	acl = append(acl, ACLEntry{Tag: TagGroupObj, Perm: uint16(st.Mode>>3) & 7})
	acl = append(acl, groups...)
	acl = append(acl, ACLEntry{Tag: TagMask, Perm: mask}, ACLEntry{Tag: TagOther, Perm: uint16(st.Mode) & 7})
	attr := XattrACLAccess
	if dflt {
		attr = XattrACLDefault
	}
	return setxattrAt(dir, name, attr, acl.Bytes())
}

func permBits(s string) uint16 {
	var p uint16
	for _, c := range s {
		p |= map[rune]uint16{'r': 4, 'w': 2, 'x': 1}[c]
	}
	return p
}

// fixtureCaps is cap_net_raw+ep as v2 ("v2") or v3 owned by a rootid ("v3:N").
func fixtureCaps(spec string) []byte {
	words := []uint32{capRevision2 | 1, capNetRaw, 0, 0, 0}
	if r, ok := strings.CutPrefix(spec, "v3:"); ok {
		id, _ := strconv.ParseUint(r, 10, 32)
		words = []uint32{capRevision3 | 1, capNetRaw, 0, 0, 0, uint32(id)}
	}
	var b []byte
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

// buildLong makes depth nested directories with 200-byte names under
// name, then a file "f" in the deepest, all owned by owner.
func buildLong(dir int, name string, depth int, owner string) error {
	if err := finish(dir, name, owner, "0755", unix.Mkdirat(dir, name, 0o755)); err != nil {
		return err
	}
	cur, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	long := strings.Repeat("L", 200)
	for range depth {
		if err := finish(cur, long, owner, "0755", unix.Mkdirat(cur, long, 0o755)); err != nil {
			unix.Close(cur)
			return err
		}
		next, err := unix.Openat(cur, long, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(cur)
		if err != nil {
			return err
		}
		cur = next
	}
	defer unix.Close(cur)
	return finish(cur, "f", owner, "0644", writeAt(cur, "f", "deep"))
}

// fullFixture covers every case the shift must handle, for the mapping
// b:0:100000:65536.
const fullFixture = `
d a 0:0 0755
f a/file 0:0 0644
x a/file user.note=keep
x a/file trusted.other=keep
f a/user 1000:1000 0640
f a/suid 0:0 4755
f a/sgid 0:50 2755
f a/sgid-noexec 0:50 2644
f a/suid-cap 0:0 4755
cap a/suid-cap v2
f a/ping 0:0 0755
cap a/ping v2
f a/cap3 1000:0 0750
cap a/cap3 v3:1000
f a/acl 0:0 0640
acl a/acl u:5:rw,g:7:r
d a/dacl 0:0 2775
acl a/dacl u:8:rwx
dacl a/dacl u:9:rx,g:9:rx
f a/dacl/inner 0:0 0644
f a/outside-ids 70000:70001 0644
f a/mixed 0:70002 0644
l a/escape /etc 0:0
l a/rel ../a/file 5:5
h a/hard a/file
h a/hard-cap a/suid-cap
c a/null 1:3 0:0 0666
b a/loop 7:0 0:6 0660
p a/fifo 0:0 0600
acl a/fifo u:3:rw
s a/sock 0:0 0755
f "a/new\nline" 3:3 0644
f "a/bad\xffname" 4:4 0644
d a/deep 0:0 0755
d a/deep/er 7:7 0700
f a/deep/er/file 7:7 0600
long a/long 22 0:0
`

func execCommand(name string, args ...string) error {
	return exec.Command(name, args...).Run()
}
