package main

import (
	"fmt"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/urfave/cli/v2"
)

func umountCommand() *cli.Command {
	return &cli.Command{
		Name:      "umount",
		Usage:     "unmount an idmapped mount or an overlay made by idmapkit",
		ArgsUsage: "TARGET",
		Description: `Refuses a path that is not a mount point, and a mount that is neither
idmapped nor an overlay made by "idmapkit overlay" unless --force is given.
An overlay goes with its record; its layers were never attached anywhere.

Examples:
  idmapkit umount /run/alice/rootfs
  idmapkit umount --lazy /run/alice/rootfs   # detach now, free when unused`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "lazy", Aliases: []string{"l"}, Usage: "detach now, free when no longer busy (MNT_DETACH)"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "unmount even if TARGET is not an idmapped mount"},
			stateDirFlag(),
		},
		OnUsageError: onUsageError,
		Action:       runUmount,
	}
}

func runUmount(c *cli.Context) error {
	if err := needArgs(c, 1, "TARGET"); err != nil {
		return err
	}
	opts := idmapmount.UnmountOptions{Lazy: c.Bool("lazy"), Force: c.Bool("force"), StateDir: c.String("state-dir")}
	if err := idmapmount.Unmount(c.Args().Get(0), opts); err != nil {
		return fmt.Errorf("umount: %w", err)
	}
	return nil
}
