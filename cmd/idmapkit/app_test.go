package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
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

func TestVersion(t *testing.T) {
	r := runApp(t, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "idmapkit version ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
