package main

import (
	"fmt"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/urfave/cli/v2"
)

func overlayCommand() *cli.Command {
	return &cli.Command{
		Name:      "overlay",
		Usage:     "mount an overlay of idmapped lower layers at TARGET",
		ArgsUsage: "TARGET",
		Description: `Presents a read-only image (a stack of layer directories, the first --lower
on top) at TARGET under a mapping, without changing the image: each lower
layer is idmapped on its own, and the user's writes go to --upper, which is
not idmapped (files there are stored with the presented IDs). An empty upper
gets its root owned by the mapped root. Without --upper the overlay is
read-only. Many users can mount the same image at once, each with its own
mapping and upper.

Examples:
  idmapkit overlay --lower /srv/img/app --lower /srv/img/base \
      --upper /var/lib/alice/upper --work /var/lib/alice/work \
      --map b:0:100000:65536 /run/alice/rootfs
  idmapkit overlay --lower /srv/img/base --user bob /run/bob/rootfs
  idmapkit umount /run/alice/rootfs

Needs root and Linux 5.19+ (6.15+ builds it without attaching the layers
anywhere); every layer's filesystem must support idmapped mounts, unless
--fallback=chown is given.

With --fallback=chown, a layer whose filesystem cannot be idmapped (such as
ramfs) is copied into --cache-dir (cp -a, sharing data blocks with reflinks
where the filesystem can), the copy is shifted to the mapping, and the
overlay uses the copy. The layer itself is never changed. The copy is made
once per layer and mapping and reused after; idmapkit never changes it, and
removes it only when asked to by "idmapkit cache prune", which keeps every
copy a mount still uses.`,
		Flags: append(mappingFlags(),
			&cli.StringSliceFlag{Name: "lower", Aliases: []string{"l"}, Usage: "lower layer `DIR`, top first; repeatable"},
			&cli.StringFlag{Name: "upper", Usage: "upper `DIR` for the user's writes (not idmapped); needs --work"},
			&cli.StringFlag{Name: "work", Usage: "overlayfs work `DIR`, on the same mount as --upper"},
			&cli.BoolFlag{Name: "read-only", Aliases: []string{"r"}, Usage: "mount the overlay read-only (-r as in mount(8))"},
			fallbackFlag("none (fail, with a hint) or chown (use a shifted copy of the layer from --cache-dir; the layer is not changed)"),
			&cli.StringFlag{Name: "cache-dir", Value: chownfallback.DefaultCacheDir, EnvVars: []string{chownfallback.CacheDirEnv},
				Usage: "`DIR` for the shifted copies of layers --fallback=chown makes"},
			forceFallbackFlag(),
			&cli.StringFlag{Name: "method", Value: "auto", Hidden: true, EnvVars: []string{"IDMAPKIT_OVERLAY_METHOD"},
				Usage: "how to build the overlay: auto, fd-layers or staging (for tests)"},
			stateDirFlag(),
		),
		OnUsageError: onUsageError,
		Action:       runOverlay,
	}
}

// stateDirFlag is where overlays are recorded, shared by overlay, umount
// and list.
func stateDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "state-dir", Value: idmapmount.DefaultStateDir, EnvVars: []string{"IDMAPKIT_STATE_DIR"},
		Usage: "`DIR` where idmapkit records the overlays and fallback binds it made"}
}

func runOverlay(c *cli.Context) error {
	if err := needArgs(c, 1, "TARGET"); err != nil {
		return err
	}
	cfg, err := overlayConfig(c)
	if err != nil {
		return err
	}
	userns, err := mappingSource(c).UsernsFD()
	if err != nil {
		return err
	}
	defer userns.Close()
	cfg.Userns = userns
	rep, err := chownfallback.Overlay(c.Args().Get(0), cfg)
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	if rep.FellBack() {
		for _, l := range rep.Layers {
			fmt.Fprintf(c.App.ErrWriter, "idmapkit: overlay: %s\n", l.Message())
		}
	}
	if cfg.Method == idmapmount.MethodAuto && rep.Record.Method == idmapmount.MethodStaging.String() {
		fmt.Fprintln(c.App.ErrWriter, "idmapkit: overlay: this kernel does not take detached mounts as overlay layers (Linux 6.15+): the layers were attached under a staging directory while the overlay was built, and detached again")
	}
	return nil
}

// fallbackFlag is --fallback for mount and overlay.
func fallbackFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "fallback", Value: "none", Usage: "`MODE` if the filesystem cannot be idmapped: " + usage}
}

// forceFallbackFlag takes the fallback even where idmapping would work,
// to compare the two on one tree (tests, bench/fallback.sh).
func forceFallbackFlag() cli.Flag {
	return &cli.BoolFlag{Name: "force-fallback", Hidden: true, EnvVars: []string{chownfallback.ForceEnv},
		Usage: "take the --fallback=chown path whatever the filesystem (for tests and benchmarks)"}
}

func parseFallback(c *cli.Context) (chownfallback.Mode, error) {
	mode, err := chownfallback.ParseMode(c.String("fallback"))
	if err != nil {
		return mode, usagef("--fallback %q: want none or chown", c.String("fallback"))
	}
	if c.Bool("force-fallback") && mode != chownfallback.FallbackChown {
		return mode, usagef("--force-fallback (%s) needs --fallback=chown", chownfallback.ForceEnv)
	}
	return mode, nil
}

// overlayConfig checks the flags and turns them into an OverlayConfig.
func overlayConfig(c *cli.Context) (chownfallback.OverlayConfig, error) {
	var cfg chownfallback.OverlayConfig
	mode, err := parseFallback(c)
	if err != nil {
		return cfg, err
	}
	cfg.Fallback, cfg.Force, cfg.Cache.Dir = mode, c.Bool("force-fallback"), c.String("cache-dir")
	method, err := idmapmount.ParseOverlayMethod(c.String("method"))
	if err != nil {
		return cfg, usagef("%v", err)
	}
	if len(c.StringSlice("lower")) == 0 {
		return cfg, usagef("overlay: give at least one --lower DIR")
	}
	if (c.String("upper") == "") != (c.String("work") == "") {
		return cfg, usagef("overlay: give --upper and --work together, or neither for a read-only overlay")
	}
	m, err := resolveMapping(c)
	if err != nil {
		return cfg, err
	}
	for _, d := range c.StringSlice("lower") {
		cfg.Lower = append(cfg.Lower, idmapmount.Layer{Dir: d})
	}
	cfg.Upper, cfg.Work, cfg.Mapping = c.String("upper"), c.String("work"), m
	cfg.ReadOnly, cfg.Method, cfg.StateDir = c.Bool("read-only"), method, c.String("state-dir")
	return cfg, nil
}
