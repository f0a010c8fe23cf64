// Command idmapkit makes and lists idmapped mounts, probes which
// filesystems support them, and shifts a tree's ownership where they don't.
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
