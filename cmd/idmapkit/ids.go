package main

import (
	"fmt"
	"sync/atomic"
	"text/tabwriter"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/urfave/cli/v2"
)

func idsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ids",
		Usage:     "count the uids and gids a tree uses (owners, ACL entries, capability owners)",
		ArgsUsage: "DIR",
		Description: `Lists the IDs used under DIR (on DIR's mount) as runs of consecutive IDs
with the number of uses, to choose a mapping before "idmapkit shift" or
"idmapkit mount". Changes nothing.

Examples:
  idmapkit ids /srv/rootfs
  idmapkit ids --format json /srv/rootfs`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Usage: "directories read at once", DefaultText: "the number of CPUs"},
			&cli.BoolFlag{Name: "progress", Usage: "show progress on stderr even when it is not a terminal"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or json"},
		},
		OnUsageError: onUsageError,
		Action:       runIDs,
	}
}

func runIDs(c *cli.Context) error {
	if err := needArgs(c, 1, "DIR"); err != nil {
		return err
	}
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	seen := new(atomic.Uint64)
	stop := startProgress(c, "ids", c.Args().First(), seen)
	census, err := chownfallback.TakeCensus(c.Args().First(), c.Int("jobs"), seen)
	stop()
	if census != nil {
		printCensus(c, format, census)
	}
	return walkError("ids", err)
}

func printCensus(c *cli.Context, format string, census *chownfallback.Census) {
	if format == "json" {
		_ = writeJSON(c.App.Writer, census)
		return
	}
	for _, e := range census.Errors {
		fmt.Fprintf(c.App.ErrWriter, "idmapkit: ids: %v\n", e)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tFIRST\tLAST\tIDS\tUSES")
	for _, kind := range []struct {
		name string
		rs   []chownfallback.IDRange
	}{{"uid", census.UIDs}, {"gid", census.GIDs}} {
		for _, r := range kind.rs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", kind.name, r.First, r.Last, r.IDs, r.Uses)
		}
	}
	tw.Flush()
	fmt.Fprintf(c.App.Writer, "%d inodes, %d named ACL entries, %d file capabilities, %.2f s\n",
		census.Inodes, census.ACLEntries, census.Capabilities, census.Seconds)
	printMountPoints(c.App.Writer, census.MountPoints)
}
