package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// kekFile writes a new key-encryption key (yima keys kek) into a file of
// mode 0600 and returns its path.
func kekFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(f, []byte(yimaOK(t, t.TempDir(), "keys", "kek")), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestClusterWithKEK sets a cluster up as docs/cluster.md says: the first
// admin token is made with token create --role admin on an empty
// directory, and a node given only --db and the key-encryption key serves
// with it; keys rotated through one directory are the database's. A node
// without the key, with another, or with two refuses and says what to do.
func TestClusterWithKEK(t *testing.T) {
	dsn := pgtest.Migrated(t)
	kf := kekFile(t)
	one := filepath.Join(t.TempDir(), "one")
	db := []string{"--db", dsn, "--key-file", kf}
	yimaOK(t, one, append(db, "brand", "set", "--base-url", testBaseURL)...)
	var codes []string
	for _, u := range strings.Fields(yimaOK(t, one, append(db, "mint", "--product", "SKU-A", "--count", "2", "--activate", "--format", "txt")...)) {
		codes = append(codes, u[strings.LastIndex(u, "/")+1:])
	}
	tok := strings.TrimSpace(yimaOK(t, one, append(db, "token", "create", "--role", "admin", "--name", "ops")...))
	for _, f := range []string{"keys.json", "admin.token"} {
		if _, err := os.Stat(filepath.Join(one, f)); err == nil {
			t.Errorf("with a key-encryption key the data directory got %s", f)
		}
	}
	if out := yimaOK(t, one, append(db, "keys", "rotate")...); !strings.Contains(out, "key 2 is now the primary") {
		t.Errorf("keys rotate --db: %s", out)
	}

	// A second node: an empty directory, the URL and the key's file.
	two := filepath.Join(t.TempDir(), "two")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s, err := tryServeAs(t, addr, []string{"YIMA_DB=" + dsn, "YIMA_KEY_FILE=" + kf}, "serve", "--data", two, "--addr", addr, "--log-level", "warn", "--no-limits")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 20 * time.Second}
	if status, body, err := call(hc, "GET", s.url+"/v1/tokens", tok, nil); err != nil || status != 200 || !strings.Contains(string(body), `"role":"admin"`) {
		t.Fatalf("the admin token made with token create --role admin, on another node: %d %s %v", status, body, err)
	}
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", tok, map[string]string{"code": codes[0], "member": "m1"}); err != nil || status != 200 {
		t.Fatalf("a code minted through the first directory, scanned on the second node: %d %s %v", status, body, err)
	}
	var keys []struct {
		ID      int
		Primary bool
	}
	decode(t, yimaOK(t, filepath.Join(t.TempDir(), "three"), append(db, "keys", "list")...), &keys)
	if len(keys) != 2 || !keys[1].Primary {
		t.Errorf("keys list from another directory after the rotation: %+v", keys)
	}
	if err := s.stop(); err != nil {
		t.Errorf("stopping the node: %v", err)
	}

	four := filepath.Join(t.TempDir(), "four")
	wantExit(t, four, exitFailed, "YIMA_KEY_FILE", "--db", dsn, "batch", "list")
	other := kekFile(t)
	wantExit(t, four, exitFailed, "the key-encryption key does not open the keys in the database", "--db", dsn, "--key-file", other, "batch", "list")
	t.Setenv("YIMA_KEK", "not a key")
	wantExit(t, four, exitUsage, "give the key-encryption key one way", append(db, "batch", "list")...)
	wantExit(t, four, exitFailed, "yima keys kek", "--db", dsn, "batch", "list")
	r := yimaEnv(t, []string{"YIMA_KEK=" + strings.TrimSpace(readFile(t, other))}, "serve", "--data", four, "--db", dsn, "--addr", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "does not open the keys in the database") {
		t.Errorf("serve with another key-encryption key: %v", r)
	}
}

// TestMigrateWithKEK moves a single machine onto PostgreSQL with a
// key-encryption key: the records are copied and the keys sealed, so a
// node needs no file of the old directory; its admin.token still works,
// as a token record, on a node serving the database.
func TestMigrateWithKEK(t *testing.T) {
	data, codes := brandedData(t)
	dsn := pgtest.Migrated(t)
	kf := kekFile(t)
	var out struct {
		Records int
		Keys    struct {
			Keys       int    `json:"keys"`
			AdminToken string `json:"admin_token"`
		}
	}
	decode(t, yimaOK(t, data, "migrate", "--from", data, "--to", dsn, "--key-file", kf), &out)
	if out.Records == 0 || out.Keys.Keys != 1 || out.Keys.AdminToken == "" {
		t.Fatalf("migrate with a key-encryption key: %+v", out)
	}
	node := t.TempDir()
	var d description
	decode(t, yimaOK(t, node, "--db", dsn, "--key-file", kf, "verify", codes[0]), &d)
	if !d.Genuine || !d.Active {
		t.Errorf("verify on an empty directory with the key: %+v", d)
	}
	wantExit(t, node, exitFailed, "holds signing keys already", "--db", dsn, "--key-file", kf, "keys", "upload", "--from", data)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s, err := tryServeAs(t, addr, []string{"YIMA_KEY_FILE=" + kf}, "serve", "--data", node, "--db", dsn, "--addr", addr, "--log-level", "warn", "--no-limits")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 20 * time.Second}
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", adminToken(t, data), map[string]string{"code": codes[1], "member": "m1"}); err != nil || status != 200 {
		t.Errorf("the old admin.token on a node of the database: %d %s %v", status, body, err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
