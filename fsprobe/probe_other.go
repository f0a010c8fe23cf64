//go:build !linux

package fsprobe

import (
	"context"
	"errors"

	"github.com/moby/sys/mountinfo"
)

var errNotLinux = errors.New("idmapped mounts exist only on Linux")

// Prober is unavailable outside Linux: every method returns an error.
type Prober struct{}

func NewProber() *Prober                       { return &Prober{} }
func (p *Prober) Close() error                 { return nil }
func (p *Prober) Probe(string) (Result, error) { return Result{}, errNotLinux }
func (p *Prober) ProbeMount(*mountinfo.Info) Result {
	return Result{Supported: Unknown, err: errNotLinux}
}
func (p *Prober) All() ([]Result, error)             { return nil, errNotLinux }
func (p *Prober) Submounts(string) ([]Result, error) { return nil, errNotLinux }
func (p *Prober) Control() error                     { return errNotLinux }
func Probe(string) (Result, error)                   { return Result{}, errNotLinux }

// Kernel is unavailable outside Linux.
func (p *Prober) Kernel() Kernel { return Kernel{} }

// Matrix is unavailable outside Linux.
func (p *Prober) Matrix(context.Context) ([]Result, error) { return nil, errNotLinux }
