package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/yima-dev/yima/store/pgstore"
)

// Stoppable is a PostgreSQL cluster of one test's own, in a temporary
// directory on a free loopback port, that the test stops and starts again
// on the same port: a database outage (a restart, a failover's promotion)
// as the nodes see it. Stop is a fast shutdown (SIGINT, as pg_ctl stop -m
// fast sends): open connections are closed and new ones refused until
// Start.
type Stoppable struct {
	*cluster
	tb       testing.TB
	settings []string
	cmd      *exec.Cmd
	done     chan struct{}
}

// StartStoppable makes and starts a cluster with yima's schema in its
// database, with the server settings given (name=value, after the test
// clusters' own, e.g. fsync=on); it is stopped and removed at the end of
// tb. Without PostgreSQL the test is skipped, unless
// YIMA_REQUIRE_BASELINES=1.
func StartStoppable(tb testing.TB, settings ...string) *Stoppable {
	tb.Helper()
	bin, err := findPostgres()
	if err != nil {
		if os.Getenv("YIMA_REQUIRE_BASELINES") != "1" {
			tb.Skipf("PostgreSQL: %v", err)
		}
		tb.Fatalf("PostgreSQL: %v", err)
	}
	c, err := newCluster(bin)
	s := &Stoppable{cluster: c, tb: tb, settings: settings}
	if c != nil {
		tb.Cleanup(func() {
			s.stop()
			os.RemoveAll(c.dir)
		})
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := pgstore.Migrate(ctx, s.DSN(), "test"); err != nil {
		tb.Fatal(err)
	}
	return s
}

// DSN is the cluster's connection string, the same across restarts.
func (s *Stoppable) DSN() string {
	return fmt.Sprintf("postgres://yima@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", s.port)
}

// Start starts the server and waits until it takes connections.
func (s *Stoppable) Start() {
	s.tb.Helper()
	cmd, err := s.startServer(s.DSN(), append([]string{"max_connections=200", "shared_buffers=16MB"}, s.settings...)...)
	if cmd != nil {
		s.cmd, s.done = cmd, make(chan struct{})
		go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.done)
	}
	if err != nil {
		s.tb.Fatal(err)
	}
}

// Stop shuts the server down (fast: open sessions end at once) and waits
// until it has exited.
func (s *Stoppable) Stop() {
	s.tb.Helper()
	if !s.stop() {
		s.tb.Fatal("postgres did not stop within a minute")
	}
}

func (s *Stoppable) stop() bool {
	if s.cmd == nil {
		return true
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		s.cmd = nil
		return true
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		return false
	}
}
