//go:build linux

package childproc

import (
	"os/exec"
	"runtime"
	"syscall"
)

// start starts cmd with the parent-death signal set, from a goroutine
// locked to its OS thread that stays alive until the child is reaped.
//
// Why: the kernel sends Pdeathsig when the *thread* that forked the child
// exits, not when the process does. Go may end a thread when a goroutine
// locked to it returns (and another package may lock the calling goroutine),
// which would kill the child in the middle of a healthy run. Forking from a
// goroutine we lock ourselves, and that only returns after cmd.Wait, pins the
// forking thread for exactly the child's lifetime. If our process dies, by
// any signal including SIGKILL, the kernel delivers sig to the child, so the
// child never outlives us.
//
// start returns the start error; on success exited is closed after the
// child has been reaped, with *waitErr set to cmd.Wait's result.
func start(cmd *exec.Cmd, sig syscall.Signal, exited chan<- struct{}, waitErr *error) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
	// A process group of its own: Ctrl-C in a terminal signals the
	// foreground group, and the parent, not the terminal, decides when the
	// child stops (after the API and worker that use it).
	cmd.SysProcAttr.Setpgid = true
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked on purpose: when this goroutine returns the runtime
		// discards the thread, which is harmless once the child is gone.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		*waitErr = cmd.Wait()
		close(exited)
	}()
	return <-started
}
