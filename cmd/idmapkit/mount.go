package main

import (
	"fmt"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/urfave/cli/v2"
)

func mountCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "make an idmapped bind mount of SOURCE at TARGET",
		ArgsUsage: "SOURCE TARGET",
		Description: `Presents the tree at SOURCE at TARGET with its owners mapped: with
--map b:0:100000:65536 a file owned 0:0 on disk shows as 100000:100000, and a
file created by uid 100000 is written as 0 on disk. Nothing on disk changes.

Examples:
  idmapkit mount --map b:0:100000:65536 /srv/image /run/alice/rootfs
  idmapkit mount --user alice --read-only /srv/image /run/alice/rootfs
  idmapkit mount --map u:0:100000:65536 --map g:0:200000:65536 SRC DST
  idmapkit mount --userns /proc/4242/ns/user --recursive SRC DST

Needs root and Linux 5.12+ with a filesystem that supports idmapped mounts
(check with "idmapkit probe SOURCE").

With --fallback=chown, a SOURCE whose filesystem cannot be idmapped (such
as ramfs) is shifted in place instead, as "idmapkit shift" does, and then
bind-mounted: this CHANGES THE OWNERS ON DISK under SOURCE, for good, and
everyone else who uses SOURCE sees them changed. Use it only for a tree
that belongs to this one user; for a shared image use "idmapkit overlay
--fallback=chown", which shifts a copy. The result is a plain bind mount,
not an idmapped one; idmapkit records it under --state-dir, so that
"idmapkit umount TARGET" removes it and "idmapkit list" shows it.`,
		Flags: append(mappingFlags(),
			&cli.BoolFlag{Name: "recursive", Aliases: []string{"R"}, Usage: "also idmap every mount below SOURCE (fails, naming it, if one cannot be idmapped)"},
			&cli.BoolFlag{Name: "read-only", Aliases: []string{"r"}, Usage: "make the mount read-only (-r as in mount(8))"},
			&cli.StringFlag{Name: "propagation", Value: "private", Usage: "mount propagation: private, shared, slave or unbindable"},
			fallbackFlag("none (fail, with a hint) or chown (shift SOURCE in place, changing it on disk, and bind-mount it)"),
			forceFallbackFlag(),
			stateDirFlag(),
		),
		OnUsageError: onUsageError,
		Action:       runMount,
	}
}

func runMount(c *cli.Context) error {
	if err := needArgs(c, 2, "SOURCE TARGET"); err != nil {
		return err
	}
	prop, err := idmapmount.ParsePropagation(c.String("propagation"))
	if err != nil {
		return err
	}
	fallback, err := parseFallback(c)
	if err != nil {
		return err
	}
	m, err := resolveMapping(c)
	if err != nil {
		return err
	}
	userns, err := mappingSource(c).UsernsFD()
	if err != nil {
		return err
	}
	defer userns.Close()
	rep, err := chownfallback.Mount(chownfallback.MountConfig{
		Source: c.Args().Get(0), Target: c.Args().Get(1), Mapping: m, Userns: userns,
		Options:  idmapmount.Options{Recursive: c.Bool("recursive"), ReadOnly: c.Bool("read-only"), Propagation: prop},
		Fallback: fallback, Force: c.Bool("force-fallback"), StateDir: c.String("state-dir"),
	})
	if msg := rep.Message(); msg != "" && err == nil {
		fmt.Fprintf(c.App.ErrWriter, "idmapkit: %s\n", msg)
	}
	if err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	return nil
}
