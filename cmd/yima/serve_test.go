package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// TestServeFromTheEnvironment: every serve flag has a YIMA_ form, so a
// service configured by its environment needs no flags; logs can be JSON,
// the storage engine's chatter is at debug level, and the access log
// names each request by the id its answer carries.
func TestServeFromTheEnvironment(t *testing.T) {
	data := newMinted(t, "--product", "SKU-L", "--count", "1", "--out", filepath.Join(t.TempDir(), "c.csv"))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv, err := tryServeAs(t, addr, []string{
		"YIMA_DATA=" + data, "YIMA_ADDR=" + addr, "YIMA_BASE_URL=https://scan.example",
		"YIMA_LOG_FORMAT=json", "YIMA_LOG_LEVEL=info", "YIMA_ACCESS_LOG=true",
		"YIMA_TRUSTED_PROXY=127.0.0.1", // the test's client stands for a proxy
	}, "serve")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", srv.url+"/v1/batches/1/codes?from=1&to=1", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken(t, data))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 200 || !strings.Contains(body.String(), "https://scan.example/C/") || id == "" {
		t.Fatalf("codes: %d %q (X-Request-Id %q); YIMA_BASE_URL not applied?", resp.StatusCode, body.String(), id)
	}
	// A trusted proxy's request id is kept.
	req, _ = http.NewRequest("GET", srv.url+"/healthz", nil)
	req.Header.Set("X-Request-Id", "edge-42")
	if resp, err := hc.Do(req); err != nil || resp.Header.Get("X-Request-Id") != "edge-42" {
		t.Errorf("a proxy's X-Request-Id was not kept: %v %v", err, resp.Header)
	} else {
		resp.Body.Close()
	}
	hc.CloseIdleConnections()
	if err := srv.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, srv.stderr)
	}

	var access map[string]any
	for _, line := range strings.Split(strings.TrimSpace(srv.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a log line that is not JSON: %q", line)
			continue
		}
		if rec["component"] == "pebble" || strings.Contains(fmt.Sprint(rec["msg"]), "WAL") {
			t.Errorf("the storage engine's chatter at level %v: %q", rec["level"], line)
		}
		if rec["msg"] == "request" && rec["path"] == "/v1/batches/1/codes" {
			access = rec
		}
	}
	if access == nil {
		t.Fatalf("no access log line for the request:\n%s", srv.stderr)
	}
	if access["id"] != id || access["status"] != float64(200) || access["method"] != "GET" {
		t.Errorf("access log %v, want id %s, status 200, method GET", access, id)
	}
}

// TestEnvironmentErrors: an unusable variable is a usage error that names
// it, and the command line wins over the environment.
func TestEnvironmentErrors(t *testing.T) {
	data := newData(t)
	r := yimaEnv(t, []string{"YIMA_READ_TIMEOUT=soon"}, "serve", "--data", data)
	if r.code != 2 || !strings.Contains(r.stderr, "YIMA_READ_TIMEOUT") {
		t.Errorf("a bad YIMA_READ_TIMEOUT: %v", r)
	}
	r = yimaEnv(t, []string{"YIMA_LOG_FORMAT=xml"}, "serve", "--data", data)
	if r.code != 2 || !strings.Contains(r.stderr, "--log-format") {
		t.Errorf("a bad YIMA_LOG_FORMAT: %v", r)
	}
	// YIMA_SERVER is --server: with nothing listening there, the command
	// fails reaching it rather than opening the data directory.
	r = yimaEnv(t, []string{"YIMA_SERVER=http://127.0.0.1:1", "YIMA_TOKEN=x"}, "batch", "list", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("YIMA_SERVER was not used: %v", r)
	}
	// ... unless --server says otherwise on the command line.
	r = yimaEnv(t, []string{"YIMA_SERVER=http://127.0.0.1:1"}, "batch", "list", "--data", data, "--server", "")
	if r.code != 0 {
		t.Errorf("--server \"\" did not win over YIMA_SERVER: %v", r)
	}
}

// TestServeRegionSources: a region header that no trusted proxy sets, and
// a region table that does not parse, stop serve with a usage error that
// says what to fix, before it opens the store.
func TestServeRegionSources(t *testing.T) {
	data := newData(t)
	r := yimaEnv(t, nil, "serve", "--data", data, "--region-header", "X-Region")
	if r.code != 2 || !strings.Contains(r.stderr, "--trusted-proxy") {
		t.Errorf("--region-header without a trusted proxy: %v", r)
	}
	table := filepath.Join(t.TempDir(), "regions.csv")
	if err := os.WriteFile(table, []byte("10.0.0.0/8,north\nnot-a-range,east\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = yimaEnv(t, nil, "serve", "--data", data, "--region-table", table)
	if r.code != 2 || !strings.Contains(r.stderr, "line 2") {
		t.Errorf("a region table with a bad line: %v", r)
	}
	r = yimaEnv(t, nil, "serve", "--data", data, "--region-table", filepath.Join(t.TempDir(), "missing.csv"))
	if r.code != 2 || !strings.Contains(r.stderr, "--region-table") {
		t.Errorf("a missing region table: %v", r)
	}
}

// TestServeRefusesADamagedLog: a data directory whose newest log was cut
// short after a run is refused by yima serve and yima audit, with a
// message that says how to recover; --accept-data-loss starts it once,
// and later starts need no flag.
func TestServeRefusesADamagedLog(t *testing.T) {
	data := newMinted(t, "--product", "SKU-A", "--count", "3", "--activate")
	mustYima(t, "mint", "--data", data, "--product", "SKU-B", "--count", "3", "--activate")
	logs, _ := filepath.Glob(filepath.Join(data, "db", "*.log"))
	if len(logs) == 0 {
		t.Fatal("no log")
	}
	slices.Sort(logs)
	fi, err := os.Stat(logs[len(logs)-1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(logs[len(logs)-1], fi.Size()/2); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"audit"}} {
		r := yima(t, append(args, "--data", data)...)
		if r.code != 1 {
			t.Fatalf("yima %s on a damaged log: %v, want exit 1", args[0], r)
		}
		for _, want := range []string{"damaged", "backup", "--accept-data-loss"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("yima %s: the message does not say %q: %s", args[0], want, r.stderr)
			}
		}
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv, err := tryServeAs(t, addr, nil, "serve", "--data", data, "--addr", addr, "--log-level", "warn", "--accept-data-loss")
	if err != nil {
		t.Fatalf("serve --accept-data-loss: %v", err)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(srv.stderr.String(), "accepting the loss") {
		t.Errorf("serve --accept-data-loss gave no warning: %s", srv.stderr)
	}
	srv = startServe(t, data)
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeRefusesBadDatabases: `yima serve --db` on a database it cannot
// use exits at once with an error that says what to do, and never prints
// the password: a URL that is no connection string, a server that does not
// answer, a database without yima's schema, a read-only server (a standby)
// and a schema written by a newer yima. (A real standby is refused in
// TestDatabaseFailover.)
func TestServeRefusesBadDatabases(t *testing.T) {
	binary(t) // built before any clock starts
	kf := kekFile(t)
	bare := pgtest.DSN(t)
	migrated := pgtest.Migrated(t)
	newer := pgtest.Migrated(t)
	pgtest.Exec(t, newer, "UPDATE yima_schema_version SET version = version + 1")
	for _, c := range []struct {
		name, dsn, want string
	}{
		{"not a connection string", "postgres://yima:hunter2@127.0.0.1:notaport/yima", "is not a PostgreSQL connection string"},
		{"nothing listening", "postgres://yima:hunter2@127.0.0.1:1/yima?sslmode=disable&connect_timeout=2", "check the --db URL (host, port, user, password, database)"},
		{"no schema", bare, "create it with `yima migrate-schema --db URL`"},
		{"read-only", pgtest.WithParam(t, migrated, "default_transaction_read_only", "on"), "point --db at the primary, e.g. with target_session_attrs=read-write"},
		{"newer schema", newer, "run that version (or newer) of yima"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			start := time.Now()
			r := yima(t, "serve", "--data", data, "--db", c.dsn, "--key-file", kf, "--addr", addr)
			if r.code != exitFailed {
				t.Errorf("%v\nwant exit %d", r, exitFailed)
			}
			msg := r.stderr + r.stdout
			if !strings.Contains(msg, c.want) {
				t.Errorf("the error %q does not say %q", msg, c.want)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("the error shows the password: %q", msg)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("refused after %s; a bad database should be refused at once", d)
			}
		})
	}
}
