package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/idmapkit/idmapkit/chownfallback"
	"github.com/urfave/cli/v2"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 200 * time.Millisecond

// startProgress draws a progress line on stderr while a walk of dir
// runs, if stderr is a terminal or --progress is given, and returns the
// function that stops it. It is a bar where the number of inodes can be
// known up front (dir is the root of a filesystem that counts its inodes),
// else a count and a rate: counting first would cost a second walk.
//
// Hand-rolled on purpose: every idmapkit process pays for the package
// initialisation of what it links, and `mount` is a hot path. Measured on
// a minimal urfave/cli program here, linking
// github.com/schollz/progressbar/v3 (it pulls in net/http) added 0.9 ms
// to every start and github.com/vbauerster/mpb/v8 0.1 ms, against 1.6 ms
// in all; the line drawn here is all shift and ids need.
func startProgress(c *cli.Context, what, dir string, seen *atomic.Uint64) (stop func()) {
	if !c.Bool("progress") && !isTerminal(os.Stderr) {
		return func() {}
	}
	total, _ := chownfallback.EstimateInodes(dir)
	w := c.App.ErrWriter
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	draw := func() {
		n := seen.Load()
		rate := float64(n) / max(time.Since(start).Seconds(), 1e-3)
		fmt.Fprintf(w, "\r\033[K%s: %s%d inodes, %.0f/s", what, bar(n, total), n, rate)
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

// barWidth is the bar's width in characters.
const barWidth = 30

// bar draws "[=====>    ]  45% " for n of total, or nothing without a
// total.
func bar(n, total uint64) string {
	if total == 0 {
		return ""
	}
	frac := min(float64(n)/float64(total), 1)
	full := int(frac * barWidth)
	b := strings.Repeat("=", full)
	if full < barWidth {
		b += ">" + strings.Repeat(" ", barWidth-full-1)
	}
	return fmt.Sprintf("[%s] %3.0f%% ", b, frac*100)
}
