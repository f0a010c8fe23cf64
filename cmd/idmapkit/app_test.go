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

// Bad usage shows the help on stderr with the error, and nothing on
// stdout, so a script reading stdout gets no help text for data.
func TestUsageHelpOnStderr(t *testing.T) {
	for _, args := range [][]string{{"mount"}, {"nosuchcommand"}, {"list", "--nosuchflag"}, {}, {"mount", "-rX", "a", "b"}} {
		r := runApp(t, args...)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "USAGE:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing on stdout, help on stderr", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestTableCellEscapes(t *testing.T) {
	for in, want := range map[string]string{"": "-", "/a b": "/a b", "/a\tb\nc": `/a\011b\012c`, `/a\b`: `/a\134b`} {
		if got := orDash(in); got != want {
			t.Errorf("orDash(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHelpUnknownTopic(t *testing.T) {
	if r := runApp(t, "help", "nosuchcommand"); r.code != exitUsage {
		t.Errorf("help nosuchcommand: exit %d, want 2\n%s", r.code, r.stderr)
	}
}
