package fsprobe

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// probeMapping is the mapping every probe idmaps with. Whether a mount can
// be idmapped does not depend on the mapping, only on the user namespace
// not being the initial one, so the smallest one will do; it is also the
// one idmapmount's own hints use, so the cached namespace is shared.
var probeMapping = idmapmount.Mapping{
	UID: idmapmount.IDMap{{From: 0, To: 0, Count: 1}},
	GID: idmapmount.IDMap{{From: 0, To: 0, Count: 1}},
}

// Prober probes mounts with one user namespace fd and one control probe
// shared by all its probes. It is safe for concurrent use. Close it to
// free the namespace fd.
type Prober struct {
	privileged bool

	usernsOnce sync.Once
	userns     *os.File
	usernsErr  error

	controlOnce sync.Once
	controlErr  error
}

// NewProber returns a Prober. It does no system call beyond capget: the
// namespace and the control probe are made when first needed.
func NewProber() *Prober {
	return &Prober{privileged: hasCapSysAdmin()}
}

// Close frees the user namespace fd.
func (p *Prober) Close() error {
	if p.userns != nil {
		return p.userns.Close()
	}
	return nil
}

// Probe finds the mount that holds path and tries to idmap a detached
// clone of it (open_tree OPEN_TREE_CLONE, mount_setattr MOUNT_ATTR_IDMAP),
// which is then closed, never attached. The error is for a path that
// cannot be resolved (errors.Is(err, fs.ErrNotExist) for a missing one);
// every answer about the mount, including "unknown", is in the Result.
func (p *Prober) Probe(path string) (Result, error) {
	m, abs, err := idmapmount.MountOf(path)
	if err != nil {
		return Result{Path: path, Supported: Unknown, Reason: ReasonError, err: err}, fmt.Errorf("probe %s: %w", path, err)
	}
	r := resultOf(m)
	r.Path = abs
	p.try(&r, abs, m)
	return r, nil
}

// ProbeMount probes the mount m of the mount table through its mount
// point. A mount covered by another one at the same place cannot be
// reached by path and is reported as shadowed.
func (p *Prober) ProbeMount(m *mountinfo.Info) Result {
	r := resultOf(m)
	r.Path = m.Mountpoint
	if m.FSType == "autofs" {
		p.try(&r, m.Mountpoint, m)
		return r
	}
	id, err := statxMountID(m.Mountpoint)
	switch {
	case err != nil:
		r.Supported, r.Reason, r.Errno, r.err = Unknown, ReasonError, errnoName(err), err
		r.Detail = err.Error()
	case id != m.ID:
		r.Supported, r.Reason = Unknown, ReasonShadowed
		r.Detail = fmt.Sprintf("another mount (id %d) covers this one at %s, so it cannot be probed by path", id, m.Mountpoint)
	default:
		p.try(&r, m.Mountpoint, m)
	}
	return r
}

// All probes every mount of the caller's mount table, in its order.
func (p *Prober) All() ([]Result, error) {
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	out := make([]Result, 0, len(mounts))
	for _, m := range mounts {
		out = append(out, p.ProbeMount(m))
	}
	return out, nil
}

// Submounts probes every mount below the one that holds path (parents
// before children): each must be idmappable for a recursive idmapped
// mount (AT_RECURSIVE) of path to succeed. See Blockers.
func (p *Prober) Submounts(path string) ([]Result, error) {
	m, _, err := idmapmount.MountOf(path)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", path, err)
	}
	subs, err := idmapmount.Submounts(m)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(subs))
	for _, s := range subs {
		out = append(out, p.ProbeMount(s))
	}
	return out, nil
}

// try fills r's verdict from a real attempt on path.
func (p *Prober) try(r *Result, path string, m *mountinfo.Info) {
	if m.FSType == "autofs" {
		// open_tree without AT_NO_AUTOMOUNT would trigger the mount: a
		// side effect, and an answer about another filesystem.
		r.Supported, r.Reason = Unknown, ReasonAutomount
		r.Detail = "an automount point: probing it would trigger the mount; probe it once mounted"
		return
	}
	a := attempt{fstype: m.FSType, privileged: p.privileged, idmapped: idmapmount.IsIDMapped(m), control: p.Control}
	a.step, a.err = p.tryClone(path)
	r.setVerdict(a)
}

// tryClone clones and idmaps the mount at path, and drops the clone.
func (p *Prober) tryClone(path string) (step string, err error) {
	userns, err := p.usernsFD()
	if err != nil {
		return stepUserns, err
	}
	tree, err := idmapmount.Tree(path, userns, idmapmount.Options{})
	if err == nil {
		return "", tree.Close()
	}
	var se *idmapmount.StepError
	if errors.As(err, &se) {
		return se.Step, err
	}
	return stepSetattr, err
}

// usernsFD is the namespace shared by all of p's probes (a dup of
// idmapmount's cached one, so it is made once per process).
func (p *Prober) usernsFD() (*os.File, error) {
	p.usernsOnce.Do(func() { p.userns, p.usernsErr = idmapmount.UsernsFD(probeMapping) })
	return p.userns, p.usernsErr
}

// Control idmaps a private tmpfs made for the purpose (fsopen, fsmount:
// detached, never attached) and returns the error, nil if it worked. It
// runs once per Prober. A tmpfs can be idmapped since Linux 6.3.
func (p *Prober) Control() error {
	p.controlOnce.Do(func() {
		userns, err := p.usernsFD()
		if err != nil {
			p.controlErr = err
			return
		}
		p.controlErr = idmapScratchTmpfs(userns)
	})
	return p.controlErr
}

func resultOf(m *mountinfo.Info) Result {
	return Result{Mountpoint: m.Mountpoint, MountID: m.ID, FSType: m.FSType, Source: m.Source}
}

func statxMountID(path string) (int, error) {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID, &st)
	if err != nil {
		return 0, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	return int(st.Mnt_id), nil
}

// hasCapSysAdmin reports whether CAP_SYS_ADMIN is in the caller's
// effective set (capget, _LINUX_CAPABILITY_VERSION_3).
func hasCapSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.Geteuid() == 0
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) != 0
}

// Probe probes path with a Prober of its own (see Prober.Probe).
func Probe(path string) (Result, error) {
	p := NewProber()
	defer p.Close()
	return p.Probe(path)
}
