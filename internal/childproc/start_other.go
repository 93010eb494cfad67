//go:build !linux

package childproc

import (
	"os/exec"
	"syscall"
)

// start starts cmd and reaps it in the background. Outside Linux there
// is no parent-death signal, so a hard-killed parent can leave the child
// running; Stop remains the way to end it. exited is closed after the child
// has been reaped, with *waitErr set to cmd.Wait's result.
func Start(cmd *exec.Cmd, _ syscall.Signal, exited chan<- struct{}, waitErr *error) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		*waitErr = cmd.Wait()
		close(exited)
	}()
	return nil
}
