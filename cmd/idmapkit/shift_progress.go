package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 200 * time.Millisecond

// startProgress draws a one-line progress count on stderr while a walk
// runs, if stderr is a terminal or --progress is given, and returns the
// function that stops it. The total is not known before the walk (a
// count would cost a second walk), so it shows inodes and rate rather
// than a bar; hand-rolled because that is all it needs.
func startProgress(c *cli.Context, what string, seen *atomic.Uint64) (stop func()) {
	if !c.Bool("progress") && !isTerminal(os.Stderr) {
		return func() {}
	}
	w := c.App.ErrWriter
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	draw := func() {
		n := seen.Load()
		rate := float64(n) / max(time.Since(start).Seconds(), 1e-3)
		fmt.Fprintf(w, "\r\033[K%s: %d inodes, %.0f/s", what, n, rate)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(done); <-finished }
}
