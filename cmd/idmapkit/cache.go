package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/urfave/cli/v2"
)

func cacheCommand() *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "list or prune the shifted layer copies that overlay --fallback=chown keeps",
		Description: `"idmapkit overlay --fallback=chown" keeps one shifted copy per layer and
mapping in --cache-dir, reuses it, and never removes it by itself: an overlay
may be using it, and overlayfs must never see a lower layer change. These
commands show the copies, which mounts use each, and remove those no mount
uses.

A copy is in use when any mount, in any mount namespace on the system, names
it: as an overlay layer, or as a bind of the copy, as idmapkit's own overlays
do. Namespaces with no process left in them (held by an fd or a bind mount of
their nsfs file) count too. Needs root in the initial user namespace (run
them on the host, not in a container) and Linux 6.12+, which lets every mount
namespace be walked.

Not seen, so not protected: a mount that reaches a copy through a relative
path or a symlink to it (made by hand; the mount table then does not name
the copy), a mount detached from every mount table (umount --lazy, or a
clone held by an fd) that processes still use, and files open in a copy
directly. Do not prune right after "idmapkit umount --lazy" of an overlay
whose processes may still run.

Examples:
  idmapkit cache list
  idmapkit cache prune --dry-run
  idmapkit cache prune`,
		Subcommands:  []*cli.Command{cacheListCommand(), cachePruneCommand()},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			helpOnStderr(c, cli.ShowSubcommandHelp)
			if c.NArg() > 0 {
				return usagef("cache: no subcommand %q: want list or prune", c.Args().First())
			}
			return usagef("cache: want a subcommand: list or prune")
		},
	}
}

func cacheFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cache-dir", Value: chownfallback.DefaultCacheDir, EnvVars: []string{chownfallback.CacheDirEnv},
			Usage: "`DIR` of the shifted layer copies (as given to overlay)"},
		&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or json"},
	}
}

func cacheListCommand() *cli.Command {
	return &cli.Command{
		Name:            "list",
		HideHelpCommand: true,
		Usage:           "list the cached layer copies and the mounts that use them",
		Description: `Lists each copy: its key, the layer it was copied from, the mapping it was
shifted to, its inodes, when it was made, and the mounts that use it (USED BY:
mount point and a process in that mount namespace).

Example:
  idmapkit cache list --format json | jq '.[] | select(.used_by == [])'`,
		Flags:        cacheFlags(),
		OnUsageError: onUsageError,
		Action:       runCacheList,
	}
}

func cachePruneCommand() *cli.Command {
	return &cli.Command{
		Name:            "prune",
		HideHelpCommand: true,
		Usage:           "remove the cached layer copies no mount uses",
		Description: `Removes every copy that no mount in any mount namespace uses and that no
running idmapkit holds, and the leftovers of builds that crashed. A copy an
overlay is being mounted on at that moment is kept. The next overlay that
needs a removed copy makes it again. --dry-run only says what would go.

Examples:
  idmapkit cache prune --dry-run
  idmapkit cache prune --cache-dir /var/cache/idmapkit/layers`,
		Flags: append(cacheFlags(),
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "remove nothing; report what would be removed"}),
		OnUsageError: onUsageError,
		Action:       runCachePrune,
	}
}

// cacheArgs checks the arguments and flags shared by list and prune.
func cacheArgs(c *cli.Context) (*chownfallback.Cache, string, error) {
	if err := needArgs(c, 0, "no arguments"); err != nil {
		return nil, "", err
	}
	format := c.String("format")
	if format != "table" && format != "json" {
		return nil, "", usagef("--format %q: want table or json", format)
	}
	dir := c.String("cache-dir")
	if dir == "" {
		return nil, "", usagef("--cache-dir: want a directory, got an empty string")
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(c.App.ErrWriter, "idmapkit: cache: %s does not exist: no shifted copy has been made there\n", dir)
	}
	return &chownfallback.Cache{Dir: dir}, format, nil
}

func runCacheList(c *cli.Context) error {
	cache, format, err := cacheArgs(c)
	if err != nil {
		return err
	}
	entries, err := cache.Entries()
	if err != nil {
		return fmt.Errorf("cache list: %w", err)
	}
	if format == "json" {
		return writeJSON(c.App.Writer, entries)
	}
	return cacheTable(c, entries, nil)
}

func runCachePrune(c *cli.Context) error {
	cache, format, err := cacheArgs(c)
	if err != nil {
		return err
	}
	res, err := cache.Prune(c.Bool("dry-run"))
	if res == nil {
		return fmt.Errorf("cache prune: %w", err)
	}
	// Also after a failure part way: say what was removed before it.
	if format == "json" {
		if werr := writeJSON(c.App.Writer, res); err == nil {
			err = werr
		}
	} else {
		printPrune(c, res)
	}
	if err != nil {
		return fmt.Errorf("cache prune: %w", err)
	}
	return nil
}

func printPrune(c *cli.Context, res *chownfallback.PruneResult) {
	_ = cacheTable(c, res.Entries, res)
	verb := "removed"
	if res.DryRun {
		verb = "would remove"
	}
	for _, l := range res.Leftovers {
		fmt.Fprintf(c.App.Writer, "%s leftover %s\n", verb, orDash(l))
	}
	for _, s := range res.Stuck {
		fmt.Fprintf(c.App.Writer, "kept leftover: %s\n", orDash(s))
	}
	fmt.Fprintf(c.App.Writer, "%s %d entries (%d inodes) and %d leftovers; kept %d entries\n", verb, res.Removed, res.Inodes, len(res.Leftovers), res.Kept)
}

// cacheTable prints entries; with the result of a prune, an ACTION
// column too.
func cacheTable(c *cli.Context, entries []chownfallback.CachedEntry, pruned *chownfallback.PruneResult) error {
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	header := "KEY\tLAYER\tMAPPING\tINODES\tCREATED\tUSED BY"
	if pruned != nil {
		header += "\tACTION"
	}
	fmt.Fprintln(w, header)
	for _, e := range entries {
		layer, mapping, inodes, created := "-", "-", "-", "-"
		if e.Info != nil {
			layer, mapping = orDash(e.Info.Layer.Path), orDash(e.Info.Mapping)
			inodes, created = fmt.Sprint(e.Info.Inodes), e.Info.Created.Format("2006-01-02T15:04Z")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s", e.Key[:12], layer, mapping, inodes, created, usedBy(e))
		if pruned != nil {
			fmt.Fprintf(w, "\t%s", action(e, pruned.DryRun))
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

func usedBy(e chownfallback.CachedEntry) string {
	if len(e.UsedBy) == 0 {
		return "-"
	}
	uses := make([]string, len(e.UsedBy))
	for i, u := range e.UsedBy {
		uses[i] = fmt.Sprintf("%s (mntns %d)", u.Mountpoint, u.MntNS)
		if u.PID != 0 {
			uses[i] = fmt.Sprintf("%s (pid %d)", u.Mountpoint, u.PID)
		}
	}
	return orDash(strings.Join(uses, ", "))
}

func action(e chownfallback.CachedEntry, dryRun bool) string {
	switch {
	case e.Removed && dryRun:
		return "would remove"
	case e.Removed:
		return "removed"
	case e.Problem != "":
		return orDash("kept: " + e.Problem)
	case e.Busy != "":
		return orDash("kept: " + e.Busy)
	}
	return "kept: in use"
}
