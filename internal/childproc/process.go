package childproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ErrAlreadyExited is wrapped by Stop's error when the child had exited by
// itself before Stop was called.
var ErrAlreadyExited = errors.New("had already exited")

// Process is a started child process.
type Process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// Start starts cmd so that it never outlives this process: on Linux it gets
// deathSig when we die (see start) and a process group of its own, so that a
// terminal's Ctrl-C reaches us and we decide when it stops.
func Start(cmd *exec.Cmd, deathSig syscall.Signal) (*Process, error) {
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	if err := start(cmd, deathSig, p.exited, &p.waitErr); err != nil {
		return nil, err
	}
	return p, nil
}

// Done is closed once the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.exited }

// Err is the child's exit error (nil for a clean exit); valid after Done.
func (p *Process) Err() error {
	<-p.exited
	return p.waitErr
}

// PID is the child's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Kill kills the child and waits until it is reaped.
func (p *Process) Kill() error {
	err := p.cmd.Process.Kill()
	<-p.exited
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Stop sends sig and waits for the child to exit; if ctx ends or timeout
// passes first, it kills it and says so. It returns the child's exit error,
// or an error wrapping ErrAlreadyExited (and the exit error's text) when the
// child had exited before.
func (p *Process) Stop(ctx context.Context, sig syscall.Signal, timeout time.Duration) error {
	select {
	case <-p.exited:
		return fmt.Errorf("%w (%v)", ErrAlreadyExited, p.waitErr)
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return p.waitErr
	case <-ctx.Done():
		_ = p.Kill()
		return fmt.Errorf("did not stop in time and was killed: %w", ctx.Err())
	case <-timer.C:
		_ = p.Kill()
		return fmt.Errorf("did not stop within %s and was killed", timeout)
	}
}

// AwaitReady calls probe until it succeeds, waiting interval between
// attempts, for at most timeout: how a helper server's start waits for the
// server to answer. It returns nil once probe succeeds. When the child
// exits first it returns exited(the child's exit error); when timeout
// passes or ctx ends first, late(the context's error, the last attempt's).
// Each attempt gets the context that ends with timeout.
func (p *Process) AwaitReady(ctx context.Context, timeout, interval time.Duration, probe func(context.Context) error,
	exited func(exitErr error) error, late func(ctxErr, lastErr error) error,
) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		select {
		case <-p.exited:
			return exited(p.waitErr)
		default:
		}
		lastErr := probe(ctx)
		if lastErr == nil {
			return nil
		}
		select {
		case <-p.exited:
		case <-ctx.Done():
			return late(ctx.Err(), lastErr)
		case <-time.After(interval):
		}
	}
}
