package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/urfave/cli/v2"
)

const (
	exitFailed = 1
	exitUsage  = 2
)

func newApp() *cli.App {
	return &cli.App{
		Name:    "idmapkit",
		Usage:   "idmapped mounts, their support, and the shifting-chown fallback",
		Version: version(),
		Description: `The mapping rule, everywhere: b:FROM:TO:COUNT means the ID stored on disk,
FROM+i, is presented as TO+i. "mount" presents it through an idmapped mount;
"shift" writes it to disk. The same spec gives the same view.`,
		DisableSliceFlagSeparator: true,
		UseShortOptionHandling:    true, // -rR as in mount(8)
		OnUsageError:              onUsageError,
		ExitErrHandler:            func(*cli.Context, error) {}, // main picks the exit code
		Action:                    runNoCommand,
		Commands: []*cli.Command{
			mountCommand(),
			umountCommand(),
			overlayCommand(),
			listCommand(),
			shiftCommand(),
			idsCommand(),
			probeCommand(),
			cacheCommand(),
		},
	}
}

// version says what the binary was built from: the main module's version
// (a pseudo-version from the VCS revision, with +dirty for a modified
// tree, when built in a checkout with VCS stamping on) and the Go
// toolchain.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && v == "(devel)" {
			v += " " + s.Value
		}
	}
	return v + " (" + bi.GoVersion + ")"
}

// runNoCommand runs when the first argument names no command.
func runNoCommand(c *cli.Context) error {
	helpOnStderr(c, cli.ShowAppHelp)
	if c.NArg() > 0 {
		return usagef("unknown command %q", c.Args().First())
	}
	return usagef("no command given")
}

// usageError is bad input: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	helpOnStderr(c, cli.ShowSubcommandHelp)
	return usageError{err}
}

// exitCode is 2 for bad usage or a bad mapping, 1 for any other failure.
func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue),
		errors.Is(err, idmapmount.ErrBadSpec),
		errors.Is(err, idmapmount.ErrBadOption),
		errors.Is(err, idmapmount.ErrEmptyMapping),
		errors.Is(err, idmapmount.ErrNoSubID),
		errors.Is(err, idmapmount.ErrNotMountPoint),
		errors.Is(err, idmapmount.ErrNotIDMapped),
		errors.Is(err, chownfallback.ErrNotCache):
		return exitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if strings.HasPrefix(ec.Error(), "No help topic") {
			return exitUsage // "idmapkit help NOSUCHCOMMAND": urfave/cli says 3
		}
		return ec.ExitCode()
	}
	return exitFailed
}

// needArgs checks the number of positional arguments.
func needArgs(c *cli.Context, n int, names string) error {
	if c.NArg() != n {
		helpOnStderr(c, cli.ShowSubcommandHelp)
		return usagef("%s: want %s, got %d argument(s)", c.Command.Name, names, c.NArg())
	}
	return nil
}

// helpOnStderr shows help after bad usage on stderr, with the error: a
// script that reads stdout gets nothing rather than a help text. (--help
// itself still prints to stdout.)
func helpOnStderr(c *cli.Context, show func(*cli.Context) error) {
	w := c.App.Writer
	c.App.Writer = c.App.ErrWriter
	defer func() { c.App.Writer = w }()
	_ = show(c)
}
