package chownfallback

import (
	"fmt"
	"os"
	"runtime"

	"github.com/idmapkit/idmapkit/fsprobe"
	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// Overlay mounts at target an overlay of idmapped lower layers, as
// idmapmount.Overlay does. With FallbackChown, each layer whose
// filesystem cannot be idmapped is replaced by a shifted copy from the
// cache (made on first use, reused after), used as it is; the other
// layers are idmapped as usual. The layers themselves are only read, and
// cache entries are never changed once made. A failure at any step
// leaves the mount table as it was (a new cache entry, complete, stays
// for next time).
func Overlay(target string, cfg OverlayConfig) (*OverlayReport, error) {
	if cfg.Fallback != FallbackChown && !cfg.Force {
		rec, err := idmapmount.Overlay(target, cfg.OverlayConfig)
		return &OverlayReport{Record: rec, Layers: []LayerReport{}}, err
	}
	if err := checkOverlayTarget(target); err != nil {
		return nil, err
	}
	layers, err := routeLayers(cfg)
	// The entries are held from Get until the overlay is mounted (it then
	// keeps them in use itself) or has failed: Prune must not remove one
	// in between.
	defer func() {
		for _, l := range layers {
			l.Entry.Release()
		}
	}()
	rep := &OverlayReport{Layers: layers}
	if err != nil {
		return rep, err
	}
	oc := cfg.OverlayConfig
	oc.Lower = make([]idmapmount.Layer, len(cfg.Lower))
	for i, l := range cfg.Lower {
		oc.Lower[i] = l
		if e := layers[i].Entry; e != nil {
			oc.Lower[i] = idmapmount.Layer{Dir: e.Tree, AsIs: true}
		}
	}
	rep.Record, err = idmapmount.Overlay(target, oc)
	return rep, err
}

// checkOverlayTarget fails early, before a copy that may take minutes,
// for a target the overlay could not be mounted on anyway.
func checkOverlayTarget(target string) error {
	st, err := os.Stat(target)
	if err != nil {
		return &idmapmount.StepError{Step: "stat target", Path: target, Err: bareErr(err), Hint: "create the mount point first"}
	}
	if !st.IsDir() {
		return &idmapmount.StepError{Step: "check target", Path: target, Err: unix.ENOTDIR, Hint: "an overlay is mounted on a directory"}
	}
	return nil
}

// routeLayers decides, layer by layer, between an idmapped clone and a
// shifted copy, and gets the copies from the cache.
func routeLayers(cfg OverlayConfig) ([]LayerReport, error) {
	userns, err := layerUserns(cfg)
	if err != nil {
		return nil, err
	}
	defer userns.Close()
	reps := make([]LayerReport, 0, len(cfg.Lower))
	for _, l := range cfg.Lower {
		r := LayerReport{Dir: l.Dir, Route: RouteIDMapped}
		if !l.AsIs {
			if r.Verdict, err = layerVerdict(l.Dir, userns, cfg.Force); err != nil {
				return reps, err
			}
		}
		if r.Verdict.Fallback() {
			if r.Entry, err = cfg.Cache.Get(l.Dir, cfg.Mapping); err != nil {
				return reps, fmt.Errorf("layer %s: %s: %w", l.Dir, r.Verdict, err)
			}
			r.Route = RouteCacheBuilt
			if r.Entry.Reused {
				r.Route = RouteCacheReused
			}
		}
		reps = append(reps, r)
	}
	return reps, nil
}

func layerUserns(cfg OverlayConfig) (*os.File, error) {
	if cfg.Userns != nil {
		fd, err := unix.FcntlInt(cfg.Userns.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		runtime.KeepAlive(cfg.Userns)
		if err != nil {
			return nil, &idmapmount.StepError{Step: "fcntl", Flags: "F_DUPFD_CLOEXEC", Path: cfg.Userns.Name(), Err: err}
		}
		return os.NewFile(uintptr(fd), cfg.Userns.Name()), nil
	}
	return idmapmount.UsernsFD(cfg.Mapping)
}

// layerVerdict tries an idmapped clone of the layer, as the overlay will
// make it (read-only), and asks the probe why when it fails. Errors other
// than a filesystem that cannot be idmapped are returned as they are.
func layerVerdict(dir string, userns *os.File, force bool) (Verdict, error) {
	if force {
		return forced(dir), nil
	}
	tree, err := idmapmount.Tree(dir, userns, idmapmount.Options{ReadOnly: true})
	if err == nil {
		tree.Close()
		return Verdict{Dir: dir, Reason: fsprobe.ReasonOK}, nil
	}
	if !unsupported(err) {
		return Verdict{}, err
	}
	v, perr := probe(dir)
	if perr != nil || !v.Fallback() {
		return v, err
	}
	return v, nil
}
