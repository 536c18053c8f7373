package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

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
