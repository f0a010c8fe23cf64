package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/idmapkit/idmapkit/fsprobe"
	"github.com/urfave/cli/v2"
)

func printProbe(c *cli.Context, format string, rep probeReport) error {
	w := c.App.Writer
	switch format {
	case "json":
		return writeJSON(w, rep)
	case "nfd":
		for _, line := range fsprobe.NFD(rep.Kernel, append(rep.Mounts, rep.Blockers...)) {
			fmt.Fprintln(w, line)
		}
		return nil
	}
	if err := resultTable(w, rep.Mounts, c.Bool("matrix")); err != nil {
		return err
	}
	if c.Bool("recursive") {
		if err := blockerTable(w, rep.Blockers); err != nil {
			return err
		}
	}
	if c.Bool("kernel") {
		return kernelTable(w, rep.Kernel)
	}
	return nil
}

// resultTable prints one row per mount. For the matrix the first column
// names the scratch filesystem instead of the path.
func resultTable(out io.Writer, results []fsprobe.Result, matrix bool) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	first := "PATH"
	if matrix {
		first = "FILESYSTEM"
	}
	fmt.Fprintf(w, "%s\tMOUNTPOINT\tFSTYPE\tSOURCE\tIDMAP\tERRNO\tWHY\n", first)
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(r.Path), orDash(r.Mountpoint), orDash(r.FSType),
			orDash(r.Source), r.Supported, orDash(r.Errno), r.Detail)
	}
	return w.Flush()
}

func blockerTable(w io.Writer, blockers []fsprobe.Result) error {
	if len(blockers) == 0 {
		_, err := fmt.Fprintln(w, "\nno submount would make a recursive idmapped mount fail")
		return err
	}
	fmt.Fprintln(w, "\nsubmounts that would make a recursive idmapped mount fail:")
	return resultTable(w, blockers, false)
}

func kernelTable(out io.Writer, k fsprobe.Kernel) error {
	fmt.Fprintf(out, "\nkernel %s:\n", k.Release)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CHECK\tSUPPORTED\tERRNO\tWHY")
	for _, ch := range k.Checks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", ch.Name, ch.Supported, orDash(ch.Errno), ch.Detail)
	}
	return w.Flush()
}
