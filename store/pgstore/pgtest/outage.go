package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/yima-dev/yima/store/pglocal"
	"github.com/yima-dev/yima/store/pgstore"
)

// Stoppable is a PostgreSQL cluster of one test's own, in a temporary
// directory on a free loopback port, that the test stops and starts again
// on the same port: a database outage (a restart, a failover's promotion)
// as the nodes see it. Stop is a fast shutdown (SIGINT, as pg_ctl stop -m
// fast sends): open connections are closed and new ones refused until
// Start.
type Stoppable struct {
	tb   testing.TB
	dir  string
	bin  string
	cred *syscall.Credential
	port int
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartStoppable makes and starts a cluster with yima's schema in its
// database; it is stopped and removed at the end of tb. Without PostgreSQL
// the test is skipped, unless YIMA_REQUIRE_BASELINES=1.
func StartStoppable(tb testing.TB) *Stoppable {
	tb.Helper()
	bin, err := findPostgres()
	if err != nil {
		if os.Getenv("YIMA_REQUIRE_BASELINES") != "1" {
			tb.Skipf("PostgreSQL: %v", err)
		}
		tb.Fatalf("PostgreSQL: %v", err)
	}
	cred, err := unprivileged()
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := tempDir("yima-pgtest-*", cred)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Stoppable{tb: tb, dir: dir, bin: bin, cred: cred, log: filepath.Join(dir, "postgres.log")}
	tb.Cleanup(func() {
		s.stop()
		os.RemoveAll(dir)
	})
	initdb := s.command("initdb", "-D", s.data(), "-U", "yima", "-A", "trust", "-E", "UTF8", "--locale=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v: %s", err, out)
	}
	if s.port, err = pglocal.FreePort(); err != nil {
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

func (s *Stoppable) data() string { return filepath.Join(s.dir, "data") }

func (s *Stoppable) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred, Pdeathsig: syscall.SIGINT}
	return cmd
}

// DSN is the cluster's connection string, the same across restarts.
func (s *Stoppable) DSN() string {
	return fmt.Sprintf("postgres://yima@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", s.port)
}

// Start starts the server and waits until it takes connections.
func (s *Stoppable) Start() {
	s.tb.Helper()
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer logFile.Close()
	s.cmd = s.command("postgres", "-D", s.data(), "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=16MB")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("starting postgres: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.done)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(s.log)
			s.tb.Fatalf("postgres did not start: %v: %s", err, log)
		}
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
