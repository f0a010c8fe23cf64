package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
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
anywhere); every layer's filesystem must support idmapped mounts.`,
		Flags: append(mappingFlags(),
			&cli.StringSliceFlag{Name: "lower", Aliases: []string{"l"}, Usage: "lower layer `DIR`, top first; repeatable"},
			&cli.StringFlag{Name: "upper", Usage: "upper `DIR` for the user's writes (not idmapped); needs --work"},
			&cli.StringFlag{Name: "work", Usage: "overlayfs work `DIR`, on the same mount as --upper"},
			&cli.BoolFlag{Name: "read-only", Usage: "mount the overlay read-only"},
			&cli.StringFlag{Name: "fallback", Value: "none", Usage: "`MODE` for a layer that cannot be idmapped: none (fail, with a hint) or chown (shifted copies in a cache; not available yet)"},
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
		Usage: "`DIR` where idmapkit records the overlays it made"}
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
	rec, err := idmapmount.Overlay(c.Args().Get(0), cfg)
	if err != nil {
		return fmt.Errorf("overlay: %w", fallbackUnavailable(c, err))
	}
	if cfg.Method == idmapmount.MethodAuto && rec.Method == idmapmount.MethodStaging.String() {
		fmt.Fprintln(c.App.ErrWriter, "idmapkit: overlay: this kernel does not take detached mounts as overlay layers (Linux 6.15+): the layers were attached under a staging directory while the overlay was built, and detached again")
	}
	return nil
}

// fallbackUnavailable says so when --fallback=chown was asked for and a
// layer could not be idmapped: the shifted-copy cache is not built yet.
func fallbackUnavailable(c *cli.Context, err error) error {
	var se *idmapmount.StepError
	if c.String("fallback") != "chown" || !errors.As(err, &se) || se.Step != "mount_setattr" || !errors.Is(err, unix.EINVAL) {
		return err
	}
	const unavailable = "--fallback=chown (shifted copies of the layers in a cache) is not available yet: put the layers on a filesystem that supports idmapped mounts"
	if strings.Contains(se.Hint, "try --fallback=chown") {
		se.Hint = strings.Replace(se.Hint, "try --fallback=chown", unavailable, 1)
	} else {
		se.Hint = joinHints(se.Hint, "a layer cannot be idmapped, and "+unavailable)
	}
	return err
}

func joinHints(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// overlayConfig checks the flags and turns them into an OverlayConfig.
func overlayConfig(c *cli.Context) (idmapmount.OverlayConfig, error) {
	var cfg idmapmount.OverlayConfig
	if f := c.String("fallback"); f != "none" && f != "chown" {
		return cfg, usagef("--fallback %q: want none or chown", f)
	}
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
