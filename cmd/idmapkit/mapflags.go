package main

import (
	"fmt"

	"github.com/idmapkit/idmapkit/idmapmount"
	"github.com/urfave/cli/v2"
)

// mappingFlags are the flags that say which mapping to use, shared by
// mount, overlay and shift.
func mappingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "map", Aliases: []string{"m"}, Usage: "mapping `SPEC`: b:FROM:TO:COUNT (also u:, g:, bare FROM:TO:COUNT, LXC \"u FROM TO COUNT\"); on-disk FROM+i is presented as TO+i; repeatable"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "map on-disk 0..N-1 onto user `NAME`'s first range in /etc/subuid and /etc/subgid"},
		&cli.StringFlag{Name: "userns", Usage: "use the user namespace at `PATH` (e.g. /proc/PID/ns/user) as it is"},
	}
}

func mappingSource(c *cli.Context) idmapmount.Source {
	return idmapmount.Source{Specs: c.StringSlice("map"), User: c.String("user"), Userns: c.String("userns")}
}

// resolveMapping returns the mapping the flags give, printing its warnings
// (such as a u:-only spec) to stderr.
func resolveMapping(c *cli.Context) (idmapmount.Mapping, error) {
	m, err := mappingSource(c).Mapping()
	if err != nil {
		return m, err
	}
	for _, w := range m.Warnings() {
		fmt.Fprintf(c.App.ErrWriter, "idmapkit: warning: %s\n", w)
	}
	return m, nil
}
