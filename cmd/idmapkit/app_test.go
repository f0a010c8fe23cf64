package main

import (
	"bytes"
	"fmt"
	"testing"
)

// appRun is the outcome of one in-process run of the CLI.
type appRun struct {
	stdout, stderr string
	code           int
}

// runApp runs the CLI in-process as main does.
func runApp(t *testing.T, args ...string) appRun {
	t.Helper()
	app := newApp()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	r := appRun{}
	if err := app.Run(append([]string{"idmapkit"}, args...)); err != nil {
		fmt.Fprintf(&errb, "idmapkit: %v\n", err)
		r.code = exitCode(err)
	}
	r.stdout, r.stderr = out.String(), errb.String()
	return r
}
