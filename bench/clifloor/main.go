// Command clifloor is the start-up floor of a Go command built like
// idmapkit: the Go runtime and a urfave/cli/v2 app with one command that
// does nothing. bench/mount.sh runs it twice per pair, to show how much of
// idmapkit's mount + umount time is the language and the CLI library
// rather than the work.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{Name: "clifloor", Commands: []*cli.Command{{
		Name:   "run",
		Flags:  []cli.Flag{&cli.StringSliceFlag{Name: "map"}},
		Action: func(*cli.Context) error { return nil },
	}}}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
