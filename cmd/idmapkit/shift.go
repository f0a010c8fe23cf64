package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"text/tabwriter"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/urfave/cli/v2"
)

func shiftCommand() *cli.Command {
	return &cli.Command{
		Name:      "shift",
		Usage:     "rewrite the owners in a tree on disk as an idmapped mount would present them",
		ArgsUsage: "DIR",
		Description: `Moves every owner, named ACL entry and file-capability owner under DIR
(on DIR's mount; mount points below are not crossed) through the mapping:
with --map b:0:100000:65536 on-disk 0:0 becomes 100000:100000, exactly what
"idmapkit mount" with the same --map presents. Setuid/setgid bits and file
capabilities, which chown clears, are put back. IDs in no extent stay.

Safe to kill: running the same command again finishes the job with the same
result. Mappings whose from and to ranges overlap are refused. An ID already
in a to range counts as done, so --reverse restores the tree exactly when it
held no such IDs before the first shift ("idmapkit ids DIR" tells).

Examples:
  idmapkit ids /srv/rootfs                                 # what it uses
  idmapkit shift --map b:0:100000:65536 /srv/rootfs
  idmapkit shift --map b:0:100000:65536 --reverse /srv/rootfs   # and back
  idmapkit shift --user alice --dry-run --format json /srv/rootfs`,
		Flags: append(mappingFlags(),
			&cli.BoolFlag{Name: "reverse", Usage: "apply the inverse mapping (undo a shift)"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "change nothing; report what would change"},
			&cli.StringFlag{Name: "unmapped", Value: "keep", Usage: "IDs in no extent: keep (leave and report) or fail (refuse, changing nothing)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Usage: "directories worked on at once", DefaultText: "the number of CPUs"},
			&cli.BoolFlag{Name: "progress", Usage: "show progress on stderr even when it is not a terminal"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or json"},
		),
		OnUsageError: onUsageError,
		Action:       runShift,
	}
}

func runShift(c *cli.Context) error {
	if err := needArgs(c, 1, "DIR"); err != nil {
		return err
	}
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	opts := chownfallback.Options{Jobs: c.Int("jobs"), DryRun: c.Bool("dry-run"), AfterWrite: shiftKillHook()}
	switch c.String("unmapped") {
	case "keep":
	case "fail":
		opts.Unmapped = chownfallback.UnmappedFail
	default:
		return usagef("--unmapped %q: want keep or fail", c.String("unmapped"))
	}
	if opts.Jobs < 0 {
		return usagef("--jobs %d: want 1 or more", opts.Jobs)
	}
	m, err := resolveMapping(c)
	if err != nil {
		return err
	}
	if c.Bool("reverse") {
		m = m.Inverse()
	}
	opts.Seen = new(atomic.Uint64)
	stop := startProgress(c, "shift", c.Args().First(), opts.Seen)
	res, err := chownfallback.Shift(c.Args().First(), m, opts)
	stop()
	if res != nil {
		printShift(c, format, res)
	}
	return walkError("shift", err)
}

// shiftError makes a refusal that changed nothing exit 2.
// walkError prefixes the error of a shift or ids run with its command;
// what the issue calls bad input (overlapping ranges, DIR not a directory,
// DIR on a read-only mount) exits 2.
func walkError(command string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, chownfallback.ErrOverlap), errors.Is(err, chownfallback.ErrNotDir), errors.Is(err, chownfallback.ErrReadOnly):
		return usageError{fmt.Errorf("%s: %w", command, err)}
	}
	return fmt.Errorf("%s: %w", command, err)
}

func outputFormat(c *cli.Context) (string, error) {
	f := c.String("format")
	if f != "table" && f != "json" {
		return "", usagef("--format %q: want table or json", f)
	}
	return f, nil
}

func printShift(c *cli.Context, format string, res *chownfallback.Result) {
	for _, w := range res.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "idmapkit: warning: %s\n", w)
	}
	if format == "json" {
		_ = writeJSON(c.App.Writer, res)
		return
	}
	for _, e := range res.Errors {
		fmt.Fprintf(c.App.ErrWriter, "idmapkit: shift: %v\n", e)
	}
	if n := res.ErrorCount - uint64(len(res.Errors)); n > 0 {
		fmt.Fprintf(c.App.ErrWriter, "idmapkit: shift: and %d more error(s)\n", n)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	changed := "CHANGED"
	if res.DryRun {
		changed = "WOULD CHANGE"
	}
	fmt.Fprintf(tw, "SEEN\t%s\tALREADY DONE\tRESTORED\tUNMAPPED\tERRORS\tSECONDS\n", changed)
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%.2f\n", res.Seen, res.Changed, res.AlreadyDone, res.Restored, res.Unmapped, res.ErrorCount, res.Seconds)
	tw.Flush()
	if res.Unmapped > 0 {
		fmt.Fprintf(c.App.Writer, "unmapped (left as they are): uids %s; gids %s\n",
			chownfallback.FormatRanges(res.UnmappedUIDs), chownfallback.FormatRanges(res.UnmappedGIDs))
	}
	printMountPoints(c.App.Writer, res.MountPoints)
}

func printMountPoints(w io.Writer, mounts []string) {
	for _, m := range mounts {
		fmt.Fprintf(w, "mount point not crossed: %q\n", m)
	}
}

// writeJSON writes v as indented JSON: the --format json of every
// command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
