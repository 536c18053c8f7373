// Package pgtest gives tests a PostgreSQL database to open the pgstore
// backend on: the server YIMA_TEST_PG_DSN names, or else a throwaway
// cluster that the test process makes with initdb in a temporary directory
// and starts on a free loopback port (as `yima bench --compare` does), once
// per process. Each store gets a schema of its own, so tests never see each
// other's records.
//
// For the failover drill, StartFormation starts a pg_auto_failover
// formation (a monitor, a primary and a synchronous secondary) of its own
// the same way, and Formation kills and restarts its nodes.
//
// Without PostgreSQL (or pg_autoctl, for a formation) a test is skipped,
// unless YIMA_REQUIRE_BASELINES=1 (CI), which makes it fail. As root,
// PostgreSQL and pg_autoctl run as the user nobody, since both refuse root.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/yima-dev/yima/store/pglocal"
	"github.com/yima-dev/yima/store/pgstore"
)

var (
	once      sync.Once
	serverDSN string
	serverErr error
	schemas   atomic.Int64
	// missing is set when PostgreSQL is not installed: a skip, not a
	// failure, unless CI requires it.
	missing bool
)

// Server returns the connection string of the test server, starting the
// throwaway cluster on first use.
func Server(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		if dsn := os.Getenv("YIMA_TEST_PG_DSN"); dsn != "" {
			serverDSN = dsn
			return
		}
		serverDSN, serverErr = startCluster()
	})
	if serverErr != nil {
		if missing && os.Getenv("YIMA_REQUIRE_BASELINES") != "1" {
			tb.Skipf("PostgreSQL: %v", serverErr)
		}
		tb.Fatalf("PostgreSQL: %v", serverErr)
	}
	return serverDSN
}

// DSN returns a connection string for a new, empty schema of the test
// server, without yima's tables; the schema is dropped at the end of tb.
func DSN(tb testing.TB) string {
	tb.Helper()
	base := Server(tb)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemas.Add(1))
	Exec(tb, base, "CREATE SCHEMA "+name)
	tb.Cleanup(func() { Exec(tb, base, "DROP SCHEMA "+name+" CASCADE") })
	return WithParam(tb, base, "search_path", name)
}

// Migrated returns DSN's connection string with yima's schema created.
func Migrated(tb testing.TB) string {
	tb.Helper()
	dsn := DSN(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := pgstore.Migrate(ctx, dsn, "test"); err != nil {
		tb.Fatal(err)
	}
	return dsn
}

// Open opens the backend on a new schema of the test server, closed at the
// end of tb.
func Open(tb testing.TB, opts *pgstore.Options) *pgstore.DB {
	tb.Helper()
	db, err := pgstore.Open(Migrated(tb), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// WithParam sets a parameter of a postgres:// URL.
func WithParam(tb testing.TB, dsn, key, value string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("YIMA_TEST_PG_DSN must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs one statement on the database at dsn.
func Exec(tb testing.TB, dsn, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// startCluster makes a cluster in a temporary directory and starts it as
// this process's child, which the kernel stops (SIGINT, a fast shutdown)
// when the process ends. As root the server runs as the user nobody, since
// initdb refuses root. Durability is off (fsync=off): the tests are about
// yima's transactions, not the disk, and the machine is shared.
func startCluster() (string, error) {
	bin, err := findPostgres()
	if err != nil {
		missing = true
		return "", err
	}
	sweep()
	c, err := newCluster(bin)
	if err != nil {
		return "", err
	}
	dsn := fmt.Sprintf("postgres://yima@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	// With what docs/cluster.md asks of a server for several nodes: room
	// for a group's predicate locks, and no sequential scan (whose
	// predicate lock is the whole table) while the tables are small.
	server, err := c.startServer(dsn, "synchronous_commit=off", "max_connections=400", "shared_buffers=32MB",
		"max_pred_locks_per_transaction=128", "enable_seqscan=off")
	if server != nil {
		go server.Wait()
	}
	if err != nil {
		return "", err
	}
	return dsn, nil
}

// cluster is a PostgreSQL data directory in a temporary directory owned by
// the user the server runs as (see pglocal.Unprivileged), and the free
// loopback port its server listens on.
type cluster struct {
	dir  string
	bin  string // PostgreSQL's programs
	cred *syscall.Credential
	port int
}

// newCluster makes a cluster with initdb and picks its port. Once the
// directory is made it is returned, with any later error, so that the
// caller can remove it.
func newCluster(bin string) (*cluster, error) {
	cred, err := pglocal.Unprivileged()
	if err != nil {
		return nil, err
	}
	dir, err := pglocal.TempDir("yima-pgtest-*", cred)
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: bin, cred: cred}
	if out, err := c.command("initdb", "-D", c.data(), "-U", "yima", "-A", "trust", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		return c, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if c.port, err = pglocal.FreePort(); err != nil {
		return c, err
	}
	return c, nil
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }
func (c *cluster) log() string  { return filepath.Join(c.dir, "postgres.log") }

// command is one of PostgreSQL's programs, run in the cluster's directory
// as its user, in a process group of its own, which the kernel stops
// (SIGINT, a fast shutdown) when this process ends.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred, Pdeathsig: syscall.SIGINT}
	return cmd
}

// startServer starts the server, its output appended to the cluster's
// log, with the settings given (name=value) and durability off (fsync=off:
// the tests are about yima's transactions, not the disk, and the machine
// is shared), and waits until it takes connections at dsn. Once the server
// has started it is returned, with the error of the wait.
func (c *cluster) startServer(dsn string, settings ...string) (*exec.Cmd, error) {
	logFile, err := os.OpenFile(c.log(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := []string{"-D", c.data(), "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"}
	for _, setting := range settings {
		args = append(args, "-c", setting)
	}
	server := c.command("postgres", args...)
	server.Stdout, server.Stderr = logFile, logFile
	if err := server.Start(); err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return server, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(c.log())
			return server, fmt.Errorf("postgres did not start: %v: %s", err, log)
		}
	}
}

// findPostgres returns the directory holding initdb and postgres, or an
// error that says how to install it.
func findPostgres() (string, error) {
	bin, err := pglocal.Bin()
	if err != nil {
		return "", fmt.Errorf("not installed: %v (apt-get install -y postgresql, or scripts/install-baselines.sh; or set YIMA_TEST_PG_DSN)", err)
	}
	return bin, nil
}

// sweep removes the clusters of earlier test processes that are gone: their
// server stopped with them, their directory stayed.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "yima-pgtest-*"))
	for _, d := range dirs {
		pid, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if err == nil {
			if n, err := strconv.Atoi(strings.SplitN(string(pid), "\n", 2)[0]); err == nil && syscall.Kill(n, 0) == nil {
				continue // still running
			}
		}
		if info, err := os.Stat(d); err == nil && time.Since(info.ModTime()) > time.Minute {
			os.RemoveAll(d)
		}
	}
}
