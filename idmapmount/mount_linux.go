//go:build linux

package idmapmount

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// propagationFlags are the MS_* values of each Propagation.
var propagationFlags = map[Propagation]uint64{
	"":                    unix.MS_PRIVATE,
	PropagationPrivate:    unix.MS_PRIVATE,
	PropagationShared:     unix.MS_SHARED,
	PropagationSlave:      unix.MS_SLAVE,
	PropagationUnbindable: unix.MS_UNBINDABLE,
}

// Tree clones the mount tree at source (open_tree with OPEN_TREE_CLONE,
// Linux 5.2) and idmaps it with the user namespace userns (mount_setattr
// with MOUNT_ATTR_IDMAP, Linux 5.12). It returns the detached, never
// attached tree: attach it with Attach, use it as an overlay layer, or
// close it, which frees it with no unmount needed.
func Tree(source string, userns *os.File, opts Options) (_ *os.File, retErr error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if opts.Recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := retryEINTR(func() (int, error) { return unix.OpenTree(unix.AT_FDCWD, source, flags) })
	if err != nil {
		return nil, &StepError{Step: "open_tree", Flags: openTreeFlags(flags), Path: source, Err: err}
	}
	tree := os.NewFile(uintptr(fd), source)
	defer func() {
		if retErr != nil {
			tree.Close()
		}
	}()
	if err := setIDMap(tree, userns, opts); err != nil {
		return nil, explainSetattr(source, userns, opts, err)
	}
	return tree, nil
}

// setIDMap applies MOUNT_ATTR_IDMAP (and RDONLY, propagation) to a
// detached tree.
func setIDMap(tree, userns *os.File, opts Options) error {
	attr := unix.MountAttr{
		Attr_set:    unix.MOUNT_ATTR_IDMAP,
		Userns_fd:   uint64(userns.Fd()),
		Propagation: propagationFlags[opts.Propagation],
	}
	if attr.Propagation == 0 {
		return unix.EINVAL
	}
	if opts.ReadOnly {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	flags := uint(unix.AT_EMPTY_PATH)
	if opts.Recursive {
		flags |= unix.AT_RECURSIVE
	}
	_, err := retryEINTR(func() (int, error) { return 0, unix.MountSetattr(int(tree.Fd()), "", flags, &attr) })
	runtime.KeepAlive(tree)
	runtime.KeepAlive(userns)
	return err
}

// Attach attaches a detached tree at target (move_mount with
// MOVE_MOUNT_F_EMPTY_PATH, Linux 5.2). A target that is a symlink is
// followed, as mount(8) follows it: the tree is mounted on what it points
// to, and the mount table shows that path.
func Attach(tree *os.File, target string) error {
	_, err := retryEINTR(func() (int, error) {
		return 0, unix.MoveMount(int(tree.Fd()), "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_SYMLINKS)
	})
	runtime.KeepAlive(tree)
	if err != nil {
		return &StepError{Step: "move_mount", Flags: "MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_SYMLINKS", Path: target, Err: err}
	}
	return nil
}

// Mount makes an idmapped bind mount of source at target: Tree, then
// Attach. On failure nothing is left mounted.
func Mount(source, target string, userns *os.File, opts Options) error {
	if err := checkPaths(source, target); err != nil {
		return err
	}
	tree, err := Tree(source, userns, opts)
	if err != nil {
		return err
	}
	defer tree.Close()
	return Attach(tree, target)
}

// MountMapping is Mount with the user namespace for m (see UsernsFD).
func MountMapping(source, target string, m Mapping, opts Options) error {
	userns, err := UsernsFD(m)
	if err != nil {
		return err
	}
	defer userns.Close()
	return Mount(source, target, userns, opts)
}

// checkPaths gives clear errors for what move_mount would report as a
// bare ENOENT or ENOTDIR.
func checkPaths(source, target string) error {
	sst, err := os.Stat(source)
	if err != nil {
		return &StepError{Step: "stat source", Path: source, Err: errnoOf(err)}
	}
	tst, err := os.Stat(target)
	if err != nil {
		return &StepError{Step: "stat target", Path: target, Err: errnoOf(err), Hint: "create the mount point first"}
	}
	if sst.IsDir() != tst.IsDir() {
		kind := map[bool]string{true: "a directory", false: "not a directory"}
		return &StepError{Step: "check target", Path: target, Err: unix.ENOTDIR,
			Hint: fmt.Sprintf("source %s is %s but the target is %s; both must be directories or both files", source, kind[sst.IsDir()], kind[tst.IsDir()])}
	}
	return nil
}

// explainSetattr turns a mount_setattr error into a StepError with a hint,
// naming the submount at fault for a recursive mount, or the user
// namespace when it, not the filesystem, is what the kernel refused.
func explainSetattr(source string, userns *os.File, opts Options, err error) error {
	se := &StepError{Step: "mount_setattr", Flags: setattrFlags(opts), Path: source, Err: err}
	switch {
	case errors.Is(err, unix.EINVAL):
		se.Hint = unsupportedHint(source, opts)
	case errors.Is(err, unix.EPERM):
		se.Hint = permHint(source, userns)
	case errors.Is(err, unix.ENOSYS):
		se.Hint = "this kernel has no mount_setattr: idmapped mounts need Linux 5.12 or later; try --fallback=chown"
	}
	return se
}

// idmappable reports whether source's own mount takes an idmap with a
// user namespace made here for the purpose.
func idmappable(source string) bool {
	userns, err := UsernsFD(identity)
	if err != nil {
		return false
	}
	defer userns.Close()
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return false
	}
	tree := os.NewFile(uintptr(fd), source)
	defer tree.Close()
	return setIDMap(tree, userns, Options{}) == nil
}

// identity maps root to itself: enough to ask whether a mount takes an
// idmap at all.
var identity = Mapping{UID: IDMap{{0, 0, 1}}, GID: IDMap{{0, 0, 1}}}

// permHint tells an already idmapped source, and the initial user
// namespace (which the kernel never idmaps with), from a lack of
// privilege.
func permHint(source string, userns *os.File) string {
	if m, _, err := MountOf(source); err == nil && IsIDMapped(m) {
		return fmt.Sprintf("the source is already on an idmapped mount (%s); the kernel will not idmap a mount twice: idmap the original directory instead", m.Mountpoint)
	}
	if userns != nil && isInitialUserns(userns) {
		return "the user namespace given is the initial one, which the kernel never idmaps with: give a namespace that maps IDs, or --map"
	}
	return "idmapping a mount needs CAP_SYS_ADMIN in the initial user namespace: run as root"
}

// unsupportedHint says what refused the idmap (EINVAL): for a recursive
// mount, the first submount that cannot be idmapped; else the filesystem,
// or, if it takes an idmap with a user namespace made for the purpose,
// the user namespace given.
func unsupportedHint(source string, opts Options) string {
	m, _, err := MountOf(source)
	if err != nil {
		return "the filesystem may not support idmapped mounts; try --fallback=chown"
	}
	if opts.Recursive {
		if bad := firstUnsupported(m); bad != "" {
			return bad
		}
	}
	if idmappable(source) {
		return "the filesystem can be idmapped (it takes another user namespace), so the kernel refuses this user namespace: it needs both a uid_map and a gid_map"
	}
	if m.FSType == "overlay" {
		return fmt.Sprintf("filesystem overlay (mounted at %s) does not support idmapped mounts itself: idmap its layers and build the overlay from them (idmapkit overlay), or try --fallback=chown", m.Mountpoint)
	}
	if IsFUSE(m.FSType) {
		return fmt.Sprintf("filesystem %s (mounted at %s) cannot be idmapped: %s; try --fallback=chown", m.FSType, m.Mountpoint, FUSENoOptIn)
	}
	return fmt.Sprintf("filesystem %s (mounted at %s) does not support idmapped mounts; try --fallback=chown", m.FSType, m.Mountpoint)
}

// firstUnsupported probes each submount of m on
// its own and describes the first that cannot be idmapped.
func firstUnsupported(m *mountinfo.Info) string {
	subs, err := Submounts(m)
	if err != nil {
		return ""
	}
	userns, err := UsernsFD(identity)
	if err != nil {
		return ""
	}
	defer userns.Close()
	for _, s := range subs {
		t, err := Tree(s.Mountpoint, userns, Options{})
		if err != nil && errors.Is(err, unix.EINVAL) {
			return fmt.Sprintf("submount %s (filesystem %s) does not support idmapped mounts; leave out --recursive or unmount it", s.Mountpoint, s.FSType)
		}
		if err == nil {
			t.Close()
		}
	}
	return ""
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}

func openTreeFlags(f uint) string {
	s := []string{"OPEN_TREE_CLONE", "OPEN_TREE_CLOEXEC"}
	if f&unix.AT_RECURSIVE != 0 {
		s = append(s, "AT_RECURSIVE")
	}
	return strings.Join(s, "|")
}

func setattrFlags(opts Options) string {
	s := []string{"MOUNT_ATTR_IDMAP"}
	if opts.ReadOnly {
		s = append(s, "MOUNT_ATTR_RDONLY")
	}
	if opts.Recursive {
		s = append(s, "AT_RECURSIVE")
	}
	return strings.Join(s, "|")
}

// errnoOf strips an *os.PathError, whose path a StepError already names.
func errnoOf(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isInitialUserns reports whether userns has no parent (ioctl
// NS_GET_PARENT fails with EPERM for the initial user namespace, and for
// one whose parent is outside the caller's reach, which a caller that
// could idmap cannot meet).
func isInitialUserns(userns *os.File) bool {
	fd, err := unix.IoctlRetInt(int(userns.Fd()), unix.NS_GET_PARENT)
	runtime.KeepAlive(userns)
	if err == nil {
		unix.Close(fd)
	}
	return err == unix.EPERM
}
