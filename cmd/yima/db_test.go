package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// TestDBCommandsOnPostgres runs the data directory's commands with
// --db on a PostgreSQL database: refused before migrate-schema, then
// minting, tokens, the audit; a second node's directory shares the records
// with the cluster's key-encryption key, and without it is refused, even
// holding the first one's keys.json: on a shared database the keys are
// the database's, never files beside the process.
func TestDBCommandsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	kf := kekFile(t)
	db := []string{"--db", dsn, "--key-file", kf}
	one := filepath.Join(t.TempDir(), "one")
	wantExit(t, one, exitFailed, "yima migrate-schema", append(db, "batch", "list")...)
	wantExit(t, one, exitUsage, "needs --db", "migrate-schema")
	var v struct{ From, To int64 }
	decode(t, yimaOK(t, one, "--db", dsn, "migrate-schema"), &v)
	if v.From != 0 || v.To < 1 {
		t.Fatalf("migrate-schema of an empty database: %+v", v)
	}
	yimaOK(t, one, append(db, "brand", "set", "--base-url", "HTTPS://YIMA.BRAND.CN")...)
	out := yimaOK(t, one, append(db, "mint", "--product", "SKU-A", "--count", "3", "--activate", "--format", "txt")...)
	if n := len(strings.Fields(out)); n != 3 {
		t.Fatalf("mint --db printed %d codes: %s", n, out)
	}
	if _, err := os.Stat(filepath.Join(one, "db")); err == nil {
		t.Error("with --db the data directory still got a Pebble store in db/")
	}
	if tok := strings.TrimSpace(yimaOK(t, one, append(db, "token", "create", "--role", "app", "--name", "shop")...)); len(tok) < 16 {
		t.Errorf("token create --db printed %q", tok)
	}
	// --store stays the guide's shop beside --db; the shop is a store record
	// in the same database.
	yimaOK(t, one, append(db, "store", "add", "S1", "--name", "Shop one")...)
	if out := yimaOK(t, one, append(db, "guide", "add", "--id", "G1", "--store", "S1")...); !strings.Contains(out, "G1") {
		t.Errorf("guide add --store S1 with --db: %s", out)
	}
	if out := yimaOK(t, one, append(db, "audit")...); !strings.Contains(out, "audit: clean") {
		t.Errorf("audit --db: %s", out)
	}

	// A second node: without the key-encryption key it must not make a
	// keyset of its own, nor use one beside it.
	two := filepath.Join(t.TempDir(), "two")
	t.Setenv("YIMA_DB", dsn)
	for _, want := range []string{"yima keys kek", "YIMA_KEY_FILE", "YIMA_KEK", "yima keys upload"} {
		wantExit(t, two, exitFailed, want, "batch", "list")
	}
	if err := datadir.Init(two); err != nil {
		t.Fatal(err)
	}
	wantExit(t, two, exitFailed, "yima keys kek", "batch", "list")
	for _, cmd := range [][]string{{"keys", "list"}, {"keys", "rotate"}, {"token", "create", "--role", "admin"}, {"mint", "--product", "SKU-A", "--count", "1"}} {
		wantExit(t, two, exitFailed, "YIMA_KEY_FILE", cmd...)
	}
	r := yima(t, "serve", "--data", two, "--db", dsn, "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if r.code != exitFailed || !strings.Contains(r.stderr, "yima keys kek") || !strings.Contains(r.stderr, "YIMA_KEY_FILE") {
		t.Errorf("serve --db without a key-encryption key, beside a keys.json: %v\nwant exit %d saying how to make and give one", r, exitFailed)
	}
	t.Setenv("YIMA_KEY_FILE", kf)
	if out := yimaOK(t, two, "batch", "list", "--json"); !strings.Contains(out, "SKU-A") {
		t.Errorf("the second node (YIMA_DB, YIMA_KEY_FILE) does not see the batch minted on the first: %s", out)
	}
	wantExit(t, two, exitFailed, "pg_dump", "backup", filepath.Join(t.TempDir(), "b"))
}

// TestMigrateCommand copies a data directory's records into PostgreSQL,
// where the audit finds them whole once its keys are sealed in with yima
// keys upload; until then no node serves the copy.
func TestMigrateCommand(t *testing.T) {
	data, codes := brandedData(t)
	dsn := pgtest.Migrated(t)
	wantExit(t, data, exitUsage, "needs --from", "migrate", "--to", dsn)
	var copied struct{ Records int }
	out, errOut, err := yimaRun(t, "", "--data", data, "migrate", "--from", data, "--to", dsn)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut)
	}
	decode(t, out, &copied)
	if copied.Records == 0 {
		t.Fatal("migrate copied no records")
	}
	if !strings.Contains(errOut, "yima keys upload --from "+data) {
		t.Errorf("migrate without a key-encryption key does not say to upload the keys: %s", errOut)
	}
	// A node with a key-encryption key and an empty directory: the
	// database holds batches and no keys, so it makes none.
	kf := kekFile(t)
	node := t.TempDir()
	db := []string{"--db", dsn, "--key-file", kf}
	wantExit(t, node, exitFailed, "yima keys upload", append(db, "verify", codes[0])...)
	yimaOK(t, data, append(db, "keys", "upload", "--from", data)...)
	var d description
	decode(t, yimaOK(t, node, append(db, "verify", codes[0])...), &d)
	if !d.Genuine || !d.Active {
		t.Errorf("verify --db of a copied code: %+v, want genuine and active from the copied batch", d)
	}
	if out := yimaOK(t, node, append(db, "audit")...); !strings.Contains(out, "audit: clean") {
		t.Errorf("audit of the copy: %s", out)
	}
	wantExit(t, data, exitFailed, "already holds records", "migrate", "--from", data, "--to", dsn)
}

// TestBenchOnPostgresNodes runs a short bench on two in-process nodes
// sharing one PostgreSQL database: the load goes to both, and its audit
// (every code at most once, the campaign's counters as promised, the
// server's own audit) passes; with --compare the PostgreSQL baseline runs
// beside it. Several nodes without --db are refused.
func TestBenchOnPostgresNodes(t *testing.T) {
	t.Setenv("YIMA_DB", "")
	if _, _, err := yimaRun(t, "", "bench", "--nodes", "2", "--requests", "1"); err == nil || !strings.Contains(err.Error(), "--db") {
		t.Errorf("bench --nodes 2 without --db: %v, want a refusal naming --db", err)
	}
	dsn := pgtest.DSN(t)
	out, errOut, err := yimaRun(t, "", "--db", dsn, "bench", "--nodes", "2", "--requests", "300", "--members", "50",
		"--no-ceiling", "--no-landing", "--no-floor", "-q")
	if err != nil {
		t.Fatalf("bench --db --nodes 2: %v\n%s\n%s", err, out, errOut)
	}
	for _, want := range []string{"2 in-process yima nodes on one PostgreSQL database", "audit: PASSED", "the server's own audit: clean"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench --db --nodes 2 does not say %q:\n%s", want, out)
		}
	}
	// --compare: the per-request PostgreSQL baseline runs on its own
	// cluster, not on yima's database.
	out, errOut, err = yimaRun(t, "", "--db", pgtest.DSN(t), "bench", "--compare", "--baselines", "postgres", "--requests", "150",
		"--members", "50", "--no-ceiling", "--no-landing", "--no-floor", "-q")
	if err != nil {
		t.Fatalf("bench --db --compare: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(out, "PostgreSQL") || strings.Contains(out, "skipped") {
		t.Errorf("bench --db --compare shows no PostgreSQL baseline beside yima:\n%s", out)
	}
}
