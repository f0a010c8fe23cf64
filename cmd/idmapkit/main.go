// Command idmapkit makes and lists idmapped mounts, probes which
// filesystems support them, and shifts a tree's ownership where they don't.
//
// idmapkit runs briefly and often (one process per mount in a container
// runtime's hot path), so the runtime's cgroup CPU-limit lookup at start-up
// (it reads /proc/self/cgroup and /proc/self/mountinfo) and its periodic
// re-check are turned off: they cost about 0.5 ms a run and a CPU quota
// does not change what idmapkit does.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "idmapkit: %v\n", err)
		os.Exit(exitCode(err))
	}
}
