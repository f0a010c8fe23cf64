package main

import (
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
Binds made by "idmapkit mount --fallback=chown" are listed too (KIND
fallback-chown, SOURCE the tree that was shifted on disk).

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
		return writeJSON(c.App.Writer, entries)
	}
	return listTable(c, entries)
}

func listTable(c *cli.Context, entries []idmapmount.ListEntry) error {
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MOUNTPOINT\tFSTYPE\tSOURCE\tMAPPING\tLAYERS\tUPPER\tKIND")
	for _, e := range entries {
		layers := make([]string, len(e.Layers))
		for i, l := range e.Layers {
			layers[i] = l.Dir
		}
		source := e.Source
		if e.Fallback != "" {
			source = e.ShiftedSource
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(e.Mountpoint), orDash(e.FSType), orDash(source),
			orDash(e.Mapping), orDash(strings.Join(layers, ":")), orDash(e.Upper), kind(e))
	}
	return w.Flush()
}

// kind names what a listed mount is: an idmapped mount, an overlay on
// idmapped layers, or a bind of a tree shifted on disk by the fallback.
func kind(e idmapmount.ListEntry) string {
	switch {
	case e.Overlay:
		return "overlay"
	case e.Fallback != "":
		return "fallback-" + e.Fallback
	}
	return "idmapped"
}

// orDash is s for a table cell: "-" when empty, and with the characters
// that would break the table's rows and columns (tab, newline, and the
// backslash that escapes them) written as the mount table writes them,
// \011, \012 and \134.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return cellEscaper.Replace(s)
}

var cellEscaper = strings.NewReplacer("\\", "\\134", "\t", "\\011", "\n", "\\012", "\r", "\\015")
