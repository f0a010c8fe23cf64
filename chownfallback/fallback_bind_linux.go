package chownfallback

import (
	"os"
	"runtime"
	"strings"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

var propagationFlags = map[idmapmount.Propagation]uint64{
	"":                               unix.MS_PRIVATE,
	idmapmount.PropagationPrivate:    unix.MS_PRIVATE,
	idmapmount.PropagationShared:     unix.MS_SHARED,
	idmapmount.PropagationSlave:      unix.MS_SLAVE,
	idmapmount.PropagationUnbindable: unix.MS_UNBINDABLE,
}

// bindTree is a detached bind mount of source (open_tree with
// OPEN_TREE_CLONE, Linux 5.2) with the options' read-only flag and
// propagation (mount_setattr, Linux 5.12), not idmapped: what
// idmapmount.Tree makes, less the idmap. Closing it frees it.
func bindTree(source string, opts idmapmount.Options) (*os.File, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	names := []string{"OPEN_TREE_CLONE", "OPEN_TREE_CLOEXEC"}
	if opts.Recursive {
		flags |= unix.AT_RECURSIVE
		names = append(names, "AT_RECURSIVE")
	}
	var fd int
	err := retryEINTR(func() (err error) { fd, err = unix.OpenTree(unix.AT_FDCWD, source, flags); return err })
	if err != nil {
		return nil, &idmapmount.StepError{Step: "open_tree", Flags: strings.Join(names, "|"), Path: source, Err: err}
	}
	tree := os.NewFile(uintptr(fd), source)
	attr := unix.MountAttr{Propagation: propagationFlags[opts.Propagation]}
	setFlags := "propagation"
	if opts.ReadOnly {
		attr.Attr_set, setFlags = unix.MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"
	}
	at := uint(unix.AT_EMPTY_PATH)
	if opts.Recursive {
		at |= unix.AT_RECURSIVE
	}
	err = retryEINTR(func() error { return unix.MountSetattr(int(tree.Fd()), "", at, &attr) })
	runtime.KeepAlive(tree)
	if err != nil {
		tree.Close()
		return nil, &idmapmount.StepError{Step: "mount_setattr", Flags: setFlags, Path: source, Err: err}
	}
	return tree, nil
}
