package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/yima-dev/yima/store/pglocal"
)

// Formation is a pg_auto_failover formation on loopback, in a temporary
// directory: a monitor, and two PostgreSQL nodes that start as a primary and
// a synchronous secondary. Each is run by its own `pg_autoctl run`, a child
// of the test process in a process group of its own, so that Kill takes a
// node's keeper and its postgres down together, as a lost machine.
//
// The monitor is set to decide quickly (a health check every second, a
// node unhealthy after 2 s, a failover 5 s after the primary is lost, and
// the keepers' network partition timeout of 3 s below that, as
// pg_auto_failover asks): with its defaults a failover takes about 50 s.
type Formation struct {
	tb    testing.TB
	dir   string
	bin   string // PostgreSQL's binaries
	ctl   string // pg_autoctl
	cred  *syscall.Credential
	env   []string
	user  string // the database superuser: the user PostgreSQL runs as
	mon   *autoctl
	monDB string // the monitor's database, as the superuser
	Nodes [2]*FormationNode
}

// FormationNode is one PostgreSQL node of a Formation.
type FormationNode struct {
	Name string
	Port int
	data string
	run  *autoctl
}

// autoctl is a running `pg_autoctl run` and its process group.
type autoctl struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// FailoverTimeouts are the monitor's settings a Formation uses, for the
// record (docs/cluster.md quotes them).
var FailoverTimeouts = []string{
	"pgautofailover.health_check_period = 1000",
	"pgautofailover.health_check_timeout = 1000",
	"pgautofailover.health_check_max_retries = 1",
	"pgautofailover.health_check_retry_delay = 500",
	"pgautofailover.node_considered_unhealthy_timeout = 2000",
	"pgautofailover.primary_demote_timeout = 5000",
}

// StartFormation starts a formation and waits until its primary has a
// synchronous secondary. Without pg_autoctl the test is skipped, unless
// YIMA_REQUIRE_BASELINES=1.
func StartFormation(tb testing.TB) *Formation {
	tb.Helper()
	ctl, err := exec.LookPath("pg_autoctl")
	bin, perr := findPostgres()
	if err == nil {
		err = perr
	}
	if err != nil {
		if os.Getenv("YIMA_REQUIRE_BASELINES") != "1" {
			tb.Skipf("pg_auto_failover: not installed (%v): apt-get install -y postgresql-15-auto-failover, or scripts/install-baselines.sh", err)
		}
		tb.Fatalf("pg_auto_failover: not installed (%v): apt-get install -y postgresql-15-auto-failover, or scripts/install-baselines.sh", err)
	}
	sweepFormations()
	cred, err := pglocal.Unprivileged()
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := pglocal.TempDir("yima-pgaf-*", cred)
	if err != nil {
		tb.Fatal(err)
	}
	// The owner's pid lets a later test process stop what this one left
	// running if it dies without cleaning up.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		tb.Fatal(err)
	}
	name := ""
	if cred != nil {
		name = "nobody"
	} else if u, err := user.Current(); err == nil {
		name = u.Username
	}
	f := &Formation{
		tb: tb, dir: dir, bin: bin, ctl: ctl, cred: cred, user: name,
		env: []string{
			"PATH=" + bin + ":" + filepath.Dir(ctl) + ":/usr/bin:/bin",
			"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
			"XDG_DATA_HOME=" + filepath.Join(dir, "share"), "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
			"PGHOST=" + dir, "LANG=C",
		},
	}
	tb.Cleanup(f.close)
	start := time.Now()

	monPort := mustFreePort(tb)
	monData := filepath.Join(dir, "monitor")
	f.initdb(monData)
	f.mustRun("pg_autoctl create monitor", f.ctl, "create", "monitor", "--pgdata", monData, "--pgport", strconv.Itoa(monPort),
		"--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl")
	f.mon = f.start(monData, "monitor")
	f.monDB = fmt.Sprintf("postgres://%s@127.0.0.1:%d/pg_auto_failover?sslmode=disable", f.user, monPort)
	for _, setting := range FailoverTimeouts {
		f.exec(f.monDB, "ALTER SYSTEM SET "+setting)
	}
	f.exec(f.monDB, "SELECT pg_reload_conf()")
	monURI := fmt.Sprintf("postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable", monPort)

	for i := range f.Nodes {
		n := &FormationNode{Name: fmt.Sprintf("node%d", i+1), Port: mustFreePort(tb), data: filepath.Join(dir, fmt.Sprintf("node%d", i+1))}
		f.Nodes[i] = n
		if i == 0 {
			f.initdb(n.data) // the secondary is a base backup of it
		}
		f.mustRun("pg_autoctl create postgres", f.ctl, "create", "postgres", "--pgdata", n.data, "--pgport", strconv.Itoa(n.Port),
			"--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl",
			"--dbname", "yima", "--name", n.Name, "--monitor", monURI)
		f.mustRun("pg_autoctl config set", f.ctl, "config", "set", "--pgdata", n.data, "timeout.network_partition_timeout", "3")
		n.run = f.start(n.data, n.Name)
		if i == 0 {
			f.waitStates(2*time.Minute, "single")
		}
	}
	if _, err := f.WaitHealthy(2 * time.Minute); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("pg_auto_failover formation up in %s: monitor on %d, %s on %d, %s on %d", time.Since(start).Round(time.Millisecond),
		monPort, f.Nodes[0].Name, f.Nodes[0].Port, f.Nodes[1].Name, f.Nodes[1].Port)
	return f
}

// DSN is the connection string yima uses: both nodes, whichever takes
// writes.
func (f *Formation) DSN() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d,127.0.0.1:%d/yima?sslmode=disable&target_session_attrs=read-write&connect_timeout=5",
		f.user, f.Nodes[0].Port, f.Nodes[1].Port)
}

// WaitHealthy waits until one node is primary and the other its
// secondary, as the monitor has them and they report, with synchronous
// replication on (a commit waits for the secondary). It returns the
// primary's index in Nodes.
func (f *Formation) WaitHealthy(timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		states, err := f.states()
		if err == nil {
			last = fmt.Sprint(states)
			primary := -1
			for i, n := range f.Nodes {
				if states[n.Name] == "primary/primary" {
					primary = i
				}
			}
			if primary >= 0 && states[f.Nodes[1-primary].Name] == "secondary/secondary" {
				sync, err := f.synchronous(primary)
				if err == nil && sync != "" {
					return primary, nil
				}
				last += fmt.Sprintf("; synchronous standby %q %v", sync, err)
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("pg_auto_failover: no primary with a synchronous secondary after %s (last: %s)\n%s", timeout, last, f.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// synchronous returns the standby names the primary's commits wait for, if
// one of them is streaming.
func (f *Formation) synchronous(primary int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.NodeDSN(primary))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var names string
	var streaming int
	err = conn.QueryRow(ctx, `SELECT current_setting('synchronous_standby_names'),
		(SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))`).Scan(&names, &streaming)
	if err != nil || streaming == 0 {
		return "", err
	}
	return names, nil
}

// NodeDSN is the connection string of node i alone.
func (f *Formation) NodeDSN(i int) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/yima?sslmode=disable", f.user, f.Nodes[i].Port)
}

// states maps each node's name to "reported/assigned" state on the monitor.
func (f *Formation) states() (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.monDB)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node`)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for rows.Next() {
		var name, reported, goal string
		if err := rows.Scan(&name, &reported, &goal); err != nil {
			return nil, err
		}
		out[name] = reported + "/" + goal
	}
	return out, rows.Err()
}

// waitStates waits until the monitor has every node registered so far in
// state want.
func (f *Formation) waitStates(timeout time.Duration, want string) {
	deadline := time.Now().Add(timeout)
	for {
		states, err := f.states()
		ok := err == nil && len(states) > 0
		for _, s := range states {
			ok = ok && s == want+"/"+want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			f.tb.Fatalf("pg_auto_failover: nodes not %s after %s: %v %v\n%s", want, timeout, states, err, f.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kill SIGKILLs node i's keeper and postgres (its whole process group),
// as the loss of its machine, and waits until they are gone.
func (f *Formation) Kill(i int) {
	n := f.Nodes[i]
	if n.run == nil {
		return
	}
	syscall.Kill(-n.run.cmd.Process.Pid, syscall.SIGKILL)
	<-n.run.done
	// Whatever of the group outlived its leader for a moment.
	syscall.Kill(-n.run.cmd.Process.Pid, syscall.SIGKILL)
	n.run = nil
}

// Restart runs node i's keeper again, which rejoins the formation: a
// former primary comes back as a secondary (pg_rewind, then catching up).
func (f *Formation) Restart(i int) {
	n := f.Nodes[i]
	if n.run == nil {
		n.run = f.start(n.data, n.Name)
	}
}

func (f *Formation) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = f.dir
	cmd.Env = f.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: f.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func (f *Formation) initdb(data string) {
	f.tb.Helper()
	f.mustRun("initdb", filepath.Join(f.bin, "initdb"), "-D", data, "-A", "trust", "-E", "UTF8", "--locale=C")
	// The sockets in the formation's directory (Debian's default,
	// /var/run/postgresql, belongs to the postgres user); no fsync: the
	// drill is about failover, and the machine is shared.
	conf := fmt.Sprintf("\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 200\nshared_buffers = 32MB\n", f.dir)
	file, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = file.WriteString(conf)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		f.tb.Fatal(err)
	}
}

func (f *Formation) mustRun(what, name string, args ...string) {
	f.tb.Helper()
	out, err := f.command(name, args...).CombinedOutput()
	if err != nil {
		f.tb.Fatalf("%s: %v\n%s", what, err, out)
	}
}

// start runs `pg_autoctl run` for data, logging to NAME.log.
func (f *Formation) start(data, name string) *autoctl {
	f.tb.Helper()
	log, err := os.OpenFile(filepath.Join(f.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		f.tb.Fatal(err)
	}
	defer log.Close()
	cmd := f.command(f.ctl, "run", "--pgdata", data)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		f.tb.Fatalf("pg_autoctl run: %v", err)
	}
	a := &autoctl{cmd: cmd, done: make(chan struct{})}
	// Its process group, for sweepFormations.
	if groups, err := os.OpenFile(filepath.Join(f.dir, "pgids"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
		fmt.Fprintln(groups, cmd.Process.Pid)
		groups.Close()
	}
	go func() {
		cmd.Wait()
		close(a.done)
	}()
	return a
}

func (f *Formation) exec(dsn, sql string) {
	f.tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_, err = conn.Exec(ctx, sql)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			f.tb.Fatalf("%s: %v\n%s", sql, err, f.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// logs returns the tail of each pg_autoctl log, for a failure's message.
func (f *Formation) logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(f.dir, "*.log"))
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", filepath.Base(file), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}

func (f *Formation) runs() []*autoctl {
	var out []*autoctl
	for _, n := range f.Nodes {
		if n != nil && n.run != nil {
			out = append(out, n.run)
		}
	}
	return out
}

// close stops every process of the formation and removes its directory.
// The formation is thrown away, so SIGKILL is enough.
func (f *Formation) close() {
	for _, a := range append(f.runs(), f.mon) {
		if a != nil {
			syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
			<-a.done
		}
	}
	if f.tb.Failed() {
		f.tb.Logf("pg_auto_failover logs:\n%s", f.logs())
	}
	os.RemoveAll(f.dir)
}

// sweepFormations stops and removes what test processes that died left
// behind: only `pg_autoctl run` dies with the test process, while its
// services and its postgres live on. They are found by the process groups
// the formation recorded (pg_autoctl and postgres processes only, so that
// a group id used again by something else is left alone) and by each
// postmaster.pid.
func sweepFormations() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "yima-pgaf-*"))
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		if owner, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && !errors.Is(syscall.Kill(owner, 0), syscall.ESRCH) {
			continue // its test is still running
		}
		raw, _ = os.ReadFile(filepath.Join(d, "pgids"))
		for _, id := range strings.Fields(string(raw)) {
			if pgid, err := strconv.Atoi(id); err == nil && pgid > 1 {
				killGroup(pgid, "pg_autoctl", "postgres")
			}
		}
		// Each postmaster left running, known by its data directory.
		pids, _ := filepath.Glob(filepath.Join(d, "*", "postmaster.pid"))
		for _, file := range pids {
			raw, _ := os.ReadFile(file)
			pid, err := strconv.Atoi(strings.SplitN(string(raw), "\n", 2)[0])
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err == nil && pid > 1 && strings.Contains(string(cmdline), filepath.Dir(file)) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		os.RemoveAll(d)
	}
}

func mustFreePort(tb testing.TB) int {
	tb.Helper()
	p, err := pglocal.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// killGroup SIGKILLs the processes of group pgid whose command name is one
// of names.
func killGroup(pgid int, names ...string) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, file := range stats {
		raw, err := os.ReadFile(file)
		// pid (comm) state ppid pgrp ...; comm may hold spaces and
		// parentheses, so the fields are read after the last ')'.
		open, end := strings.IndexByte(string(raw), '('), strings.LastIndexByte(string(raw), ')')
		if err != nil || open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(raw[end+1:]))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(raw[:open])))
		comm := string(raw[open+1 : end])
		if len(fields) < 3 || fields[2] != strconv.Itoa(pgid) || pid <= 1 {
			continue
		}
		for _, name := range names {
			if strings.HasPrefix(comm, name) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}
