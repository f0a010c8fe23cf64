package idmapmount

import (
	"fmt"
	"strings"
)

// StepError is a failed step of a mount operation: which system call or
// check, with which flags, on which path, the errno (Err, which errors.Is
// matches) and a hint when the cause is known.
type StepError struct {
	Step  string
	Flags string
	Path  string
	Err   error
	Hint  string
}

func (e *StepError) Error() string {
	var b strings.Builder
	b.WriteString(e.Step)
	if e.Flags != "" {
		fmt.Fprintf(&b, "(%s)", e.Flags)
	}
	fmt.Fprintf(&b, " %s: %v", e.Path, e.Err)
	if e.Hint != "" {
		fmt.Fprintf(&b, "\nhint: %s", e.Hint)
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }
