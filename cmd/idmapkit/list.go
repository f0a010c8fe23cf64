package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/urfave/cli/v2"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the idmapped mounts and the overlays made by idmapkit",
		Description: `Lists the mounts of this mount namespace that carry the idmapped option, and
the overlays made by "idmapkit overlay" (whose layers are idmapped, not the
overlay itself), with their mapping where the kernel tells it (statmount,
Linux 6.15+) or idmapkit recorded it, and an overlay's layers, top first.

Examples:
  idmapkit list
  idmapkit list --format json | jq '.[] | select(.overlay)'`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or json"},
			stateDirFlag(),
		},
		OnUsageError: onUsageError,
		Action:       runList,
	}
}

func runList(c *cli.Context) error {
	if err := needArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	format := c.String("format")
	if format != "table" && format != "json" {
		return usagef("--format %q: want table or json", format)
	}
	entries, err := idmapmount.List(idmapmount.ListOptions{StateDir: c.String("state-dir")})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if format == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	return listTable(c, entries)
}

func listTable(c *cli.Context, entries []idmapmount.ListEntry) error {
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MOUNTPOINT\tFSTYPE\tSOURCE\tMAPPING\tLAYERS\tUPPER")
	for _, e := range entries {
		layers := make([]string, len(e.Layers))
		for i, l := range e.Layers {
			layers[i] = l.Dir
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Mountpoint, e.FSType, e.Source,
			orDash(e.Mapping), orDash(strings.Join(layers, ":")), orDash(e.Upper))
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
