package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// TestDBCommandsOnPostgres runs the data directory's commands with
// --db on a PostgreSQL database: refused before migrate-schema, then
// minting, tokens, the audit; a second
// node's directory shares the records once it holds the same keys.
func TestDBCommandsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	one := filepath.Join(t.TempDir(), "one")
	wantExit(t, one, exitFailed, "yima migrate-schema", "--db", dsn, "batch", "list")
	wantExit(t, one, exitUsage, "needs --db", "migrate-schema")
	var v struct{ From, To int64 }
	decode(t, yimaOK(t, one, "--db", dsn, "migrate-schema"), &v)
	if v.From != 0 || v.To < 1 {
		t.Fatalf("migrate-schema of an empty database: %+v", v)
	}
	yimaOK(t, one, "--db", dsn, "brand", "set", "--base-url", "HTTPS://YIMA.BRAND.CN")
	out := yimaOK(t, one, "--db", dsn, "mint", "--product", "SKU-A", "--count", "3", "--activate", "--format", "txt")
	if n := len(strings.Fields(out)); n != 3 {
		t.Fatalf("mint --db printed %d codes: %s", n, out)
	}
	if _, err := os.Stat(filepath.Join(one, "db")); err == nil {
		t.Error("with --db the data directory still got a Pebble store in db/")
	}
	if tok := strings.TrimSpace(yimaOK(t, one, "--db", dsn, "token", "create", "--role", "app", "--name", "shop")); len(tok) < 16 {
		t.Errorf("token create --db printed %q", tok)
	}
	// --store stays the guide's shop beside --db; the shop is a store record
	// in the same database.
	yimaOK(t, one, "--db", dsn, "store", "add", "S1", "--name", "Shop one")
	if out := yimaOK(t, one, "--db", dsn, "guide", "add", "--id", "G1", "--store", "S1"); !strings.Contains(out, "G1") {
		t.Errorf("guide add --store S1 with --db: %s", out)
	}
	if out := yimaOK(t, one, "--db", dsn, "audit"); !strings.Contains(out, "audit: clean") {
		t.Errorf("audit --db: %s", out)
	}

	// A second node: without the keyset it must not make one of its own.
	two := filepath.Join(t.TempDir(), "two")
	t.Setenv("YIMA_DB", dsn)
	wantExit(t, two, exitFailed, "Copy keys.json", "batch", "list")
	raw, err := os.ReadFile(filepath.Join(one, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(two, "keys.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := yimaOK(t, two, "batch", "list", "--json"); !strings.Contains(out, "SKU-A") {
		t.Errorf("the second node (YIMA_DB) does not see the batch minted on the first: %s", out)
	}
	wantExit(t, two, exitFailed, "pg_dump", "backup", filepath.Join(t.TempDir(), "b"))
}

// TestMigrateCommand copies a data directory's records into PostgreSQL,
// where the audit finds them whole.
func TestMigrateCommand(t *testing.T) {
	data, codes := brandedData(t)
	dsn := pgtest.Migrated(t)
	wantExit(t, data, exitUsage, "needs --from", "migrate", "--to", dsn)
	var copied struct{ Records int }
	decode(t, yimaOK(t, data, "migrate", "--from", data, "--to", dsn), &copied)
	if copied.Records == 0 {
		t.Fatal("migrate copied no records")
	}
	// A node's directory with the keyset only: the records come from the
	// database.
	node := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(data, "keys.json"))
	if err == nil {
		err = os.WriteFile(filepath.Join(node, "keys.json"), raw, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	var d description
	decode(t, yimaOK(t, node, "--db", dsn, "verify", codes[0]), &d)
	if !d.Genuine || !d.Active {
		t.Errorf("verify --db of a copied code: %+v, want genuine and active from the copied batch", d)
	}
	if out := yimaOK(t, node, "--db", dsn, "audit"); !strings.Contains(out, "audit: clean") {
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
