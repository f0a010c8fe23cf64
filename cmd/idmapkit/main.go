// Command idmapkit makes and lists idmapped mounts, probes which
// filesystems support them, and shifts a tree's ownership where they don't.
//
// idmapkit runs briefly and often (one process per mount in a container
// runtime's hot path), so the runtime's cgroup-aware GOMAXPROCS is turned
// off: a CPU quota does not change what idmapkit does. The runtime still
// reads the cgroup files once at start-up (to count the non-default
// setting), but keeps none of them open and never re-reads them; measured
// here, this saves about 0.05 ms a run.
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
