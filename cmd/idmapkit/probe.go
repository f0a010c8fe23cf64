package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/idmapkit/idmapkit/fsprobe"
	"github.com/urfave/cli/v2"
)

func probeCommand() *cli.Command {
	return &cli.Command{
		Name:      "probe",
		Usage:     "tell whether paths, or every mount, can be idmapped, and why not",
		ArgsUsage: "[PATH...]",
		Description: `Tries the real thing on a detached clone of the mount that holds each PATH
(default: the current directory): open_tree(OPEN_TREE_CLONE), then
mount_setattr(MOUNT_ATTR_IDMAP), then close. Nothing is attached and the mount
table is unchanged. Each mount gets yes, no or unknown, with the errno and the
reason: no idmapped mounts in this kernel (ENOSYS), no CAP_SYS_ADMIN, a
filesystem that cannot be idmapped (EINVAL, checked against a private tmpfs
first), a mount that is already idmapped (EPERM). FUSE support is per mount.

--all probes every mount in the mount table; --recursive also lists each
submount of PATH that would make "mount --recursive" fail. --matrix makes a
scratch filesystem of each type this machine can make (tmpfs, ramfs, ext4,
ext2 as ext4, xfs, btrfs, squashfs, erofs, overlay) on detached mounts and
self-clearing loop devices, probes each, and removes everything, also on
Ctrl-C. --kernel adds what the kernel can do, found by trying: idmapped
overlay layers, layers by fd (lowerdir+), detached layers, statmount uid maps
(always part of json and nfd output).

--format nfd writes a node-feature-discovery feature file (idmap.kernel=6.18.44,
idmap.mounts=true, idmap.overlay.fd-layers=true, idmap.fs.ext4=true, ...), for
labelling the Kubernetes nodes that can give user-namespaced pods idmapped
volumes. Put it where NFD's local source reads it:
  idmapkit probe --all --format nfd > ` + fsprobe.NFDPath + `

Examples:
  idmapkit probe /srv/images
  idmapkit probe --all
  idmapkit probe --recursive /var/lib/containers
  idmapkit probe --matrix --kernel
  idmapkit probe --format json /mnt/fuse | jq '.mounts[0].supported'

Exit status: 0 when every probe ran (whatever it answered), 1 when a probe
could not (no CAP_SYS_ADMIN: run as root), 2 for bad usage or a missing PATH.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "probe every mount in the mount table"},
			&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "also list the submounts of PATH that would make a recursive idmapped mount fail"},
			&cli.BoolFlag{Name: "matrix", Usage: "make, probe and remove a scratch filesystem of each type this machine can make"},
			&cli.BoolFlag{Name: "kernel", Aliases: []string{"k"}, Usage: "also print the kernel checks in the table"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table, json or nfd"},
		},
		OnUsageError: onUsageError,
		Action:       runProbe,
	}
}

// probeReport is the json output: lists are always arrays.
type probeReport struct {
	Kernel   fsprobe.Kernel   `json:"kernel"`
	Mounts   []fsprobe.Result `json:"mounts"`
	Blockers []fsprobe.Result `json:"blockers"` // with --recursive: submounts that are not "yes"
}

func runProbe(c *cli.Context) error {
	format := c.String("format")
	if format != "table" && format != "json" && format != "nfd" {
		return usagef("--format %q: want table, json or nfd", format)
	}
	if err := checkProbeFlags(c); err != nil {
		return err
	}
	p := fsprobe.NewProber()
	defer p.Close()
	rep, err := collectProbe(c, p)
	if err != nil {
		return err
	}
	if format != "table" || c.Bool("kernel") {
		rep.Kernel = p.Kernel()
	}
	if err := printProbe(c, format, rep); err != nil {
		return err
	}
	return probeVerdict(rep)
}

func checkProbeFlags(c *cli.Context) error {
	switch {
	case c.Bool("matrix") && (c.Bool("all") || c.Bool("recursive") || c.NArg() > 0):
		return usagef("probe: --matrix takes no PATH, --all or --recursive")
	case c.Bool("all") && c.NArg() > 0:
		return usagef("probe: give PATHs or --all, not both")
	case c.Bool("all") && c.Bool("recursive"):
		return usagef("probe: --all already probes every mount; --recursive is for PATHs")
	}
	return nil
}

// collectProbe runs the probes the flags ask for.
func collectProbe(c *cli.Context, p *fsprobe.Prober) (probeReport, error) {
	rep := probeReport{Mounts: []fsprobe.Result{}, Blockers: []fsprobe.Result{}}
	var err error
	switch {
	case c.Bool("matrix"):
		rep.Mounts, err = runMatrix(c, p)
		return rep, err
	case c.Bool("all"):
		if rep.Mounts, err = p.All(); err != nil {
			return rep, fmt.Errorf("probe: %w", err)
		}
		return rep, nil
	}
	paths := c.Args().Slice()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	for _, path := range paths {
		r, err := p.Probe(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return rep, usageError{err}
			}
			return rep, err
		}
		rep.Mounts = append(rep.Mounts, r)
		if c.Bool("recursive") {
			subs, err := p.Submounts(path)
			if err != nil {
				return rep, err
			}
			rep.Blockers = append(rep.Blockers, fsprobe.Blockers(subs)...)
		}
	}
	return rep, nil
}

// exitInterrupted is the shell's code for a command ended by SIGINT.
const exitInterrupted = 130

// runMatrix runs the matrix, cancelled (and cleaned up) on Ctrl-C or
// SIGTERM.
func runMatrix(c *cli.Context, p *fsprobe.Prober) ([]fsprobe.Result, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := p.Matrix(ctx)
	if errors.Is(err, fsprobe.ErrInterrupted) {
		return nil, cli.Exit(fmt.Sprintf("probe --matrix: %v (every scratch filesystem was removed)", err), exitInterrupted)
	}
	if err != nil {
		return nil, fmt.Errorf("probe --matrix: %w", err)
	}
	return results, nil
}

// probeVerdict fails the command when a probe could not run for lack of
// privilege: its "unknown" would otherwise pass for an answer.
func probeVerdict(rep probeReport) error {
	for _, r := range append(rep.Mounts, rep.Blockers...) {
		if errors.Is(r.Err(), fsprobe.ErrNotPrivileged) {
			return fmt.Errorf("probe: %w", r.Err())
		}
	}
	return nil
}
