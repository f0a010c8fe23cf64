package main

import (
	"fmt"

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
(check with "idmapkit probe SOURCE").`,
		Flags: append(mappingFlags(),
			&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "also idmap every mount below SOURCE (fails, naming it, if one cannot be idmapped)"},
			&cli.BoolFlag{Name: "read-only", Usage: "make the mount read-only"},
			&cli.StringFlag{Name: "propagation", Value: "private", Usage: "mount propagation: private, shared, slave or unbindable"},
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
	if _, err := resolveMapping(c); err != nil {
		return err
	}
	userns, err := mappingSource(c).UsernsFD()
	if err != nil {
		return err
	}
	defer userns.Close()
	opts := idmapmount.Options{Recursive: c.Bool("recursive"), ReadOnly: c.Bool("read-only"), Propagation: prop}
	if err := idmapmount.Mount(c.Args().Get(0), c.Args().Get(1), userns, opts); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	return nil
}
