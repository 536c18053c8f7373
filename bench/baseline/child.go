package baseline

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// child is a server a baseline runs as this process's child. The command's
// SysProcAttr puts it in a process group of its own, so that the
// terminal's ^C, which ends the load and lets the audit run, does not stop
// the server the audit reads, and names the signal the kernel sends it
// when this process dies, so that a killed bench leaves nothing behind.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
}

// startChild starts cmd and watches for its exit.
func startChild(cmd *exec.Cmd) (*child, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(c.exited) }()
	return c, nil
}

// errExited says that a server exited before it was ready.
var errExited = errors.New("the server exited")

// waitReady asks ready every 100ms until it answers nil. It returns
// errExited when the server exits first, and ready's last answer once
// within has passed.
func (c *child) waitReady(within time.Duration, ready func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return errExited
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", within, err)
		}
	}
}

// stop sends sig, the server's own shutdown, and waits for the exit; after
// grace it calls late, if any, and kills the server.
func (c *child) stop(sig os.Signal, grace time.Duration, late func()) {
	c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(grace):
		if late != nil {
			late()
		}
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// cpuSeconds is the CPU time of the server and its processes.
func (c *child) cpuSeconds() float64 { return treeCPU(c.cmd.Process.Pid) }
