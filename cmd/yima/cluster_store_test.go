package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// TestStoreCommandsOnPostgres runs the data directory's commands with
// --store on a PostgreSQL database: refused before migrate-schema, then
// minting, tokens, the audit; a second
// node's directory shares the records once it holds the same keys.
func TestStoreCommandsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	one := filepath.Join(t.TempDir(), "one")
	wantExit(t, one, exitFailed, "yima migrate-schema", "--store", dsn, "batch", "list")
	wantExit(t, one, exitUsage, "needs --store", "migrate-schema")
	var v struct{ From, To int64 }
	decode(t, yimaOK(t, one, "--store", dsn, "migrate-schema"), &v)
	if v.From != 0 || v.To < 1 {
		t.Fatalf("migrate-schema of an empty database: %+v", v)
	}
	yimaOK(t, one, "--store", dsn, "brand", "set", "--base-url", "HTTPS://YIMA.BRAND.CN")
	out := yimaOK(t, one, "--store", dsn, "mint", "--product", "SKU-A", "--count", "3", "--activate", "--format", "txt")
	if n := len(strings.Fields(out)); n != 3 {
		t.Fatalf("mint --store printed %d codes: %s", n, out)
	}
	if _, err := os.Stat(filepath.Join(one, "db")); err == nil {
		t.Error("with --store the data directory still got a Pebble store in db/")
	}
	if tok := strings.TrimSpace(yimaOK(t, one, "--store", dsn, "token", "create", "--role", "app", "--name", "shop")); len(tok) < 16 {
		t.Errorf("token create --store printed %q", tok)
	}
	if out := yimaOK(t, one, "--store", dsn, "audit"); !strings.Contains(out, "audit: clean") {
		t.Errorf("audit --store: %s", out)
	}

	// A second node: without the keyset it must not make one of its own.
	two := filepath.Join(t.TempDir(), "two")
	t.Setenv("YIMA_STORE", dsn)
	wantExit(t, two, exitFailed, "Copy keys.json", "batch", "list")
	raw, err := os.ReadFile(filepath.Join(one, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(two, "keys.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := yimaOK(t, two, "batch", "list", "--json"); !strings.Contains(out, "SKU-A") {
		t.Errorf("the second node (YIMA_STORE) does not see the batch minted on the first: %s", out)
	}
	wantExit(t, two, exitFailed, "pg_dump", "backup", filepath.Join(t.TempDir(), "b"))
}
