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

// sealedCodes sets a cluster up through the directory dir with db's flags
// (--db and the key-encryption key), as docs/cluster.md says: the brand's
// base URL, n active codes minted, and the first admin token, made with
// token create --role admin.
func sealedCodes(t *testing.T, dir string, db []string, n int) (codes []string, admin string) {
	t.Helper()
	yimaOK(t, dir, append(db, "brand", "set", "--base-url", testBaseURL)...)
	for _, u := range strings.Fields(yimaOK(t, dir, append(db, "mint", "--product", "SKU-A", "--count", fmt.Sprint(n), "--activate", "--format", "txt")...)) {
		codes = append(codes, u[strings.LastIndex(u, "/")+1:])
	}
	return codes, strings.TrimSpace(yimaOK(t, dir, append(db, "token", "create", "--role", "admin", "--name", "ops")...))
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
	codes, tok := sealedCodes(t, one, db, 2)
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

// TestResealCommand rotates a cluster's key-encryption key with yima keys
// reseal: every command and node given the new key works, with the same
// signing keys and admin token; one given the old key is refused, naming
// both keys' ids and the re-seal; a node still running with the old key
// keeps serving with the keys it opened and logs why it cannot read them
// again. Bad invocations are refused and change nothing.
func TestResealCommand(t *testing.T) {
	dsn := pgtest.Migrated(t)
	kf1, kf2 := kekFile(t), kekFile(t)
	one := filepath.Join(t.TempDir(), "one")
	db1 := []string{"--db", dsn, "--key-file", kf1}
	codes, tok := sealedCodes(t, one, db1, 3)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	old, err := tryServeAs(t, addr, []string{"YIMA_DB=" + dsn, "YIMA_KEY_FILE=" + kf1}, "serve", "--data", filepath.Join(t.TempDir(), "old"), "--addr", addr, "--log-level", "warn", "--no-limits")
	if err != nil {
		t.Fatal(err)
	}

	wantExit(t, one, exitUsage, "--new-key-file", append(db1, "keys", "reseal")...)
	wantExit(t, one, exitUsage, "needs --db", "--key-file", kf1, "keys", "reseal", "--new-key-file", kf2)
	wantExit(t, one, exitFailed, "the new key-encryption key is the one in use", append(db1, "keys", "reseal", "--new-key-file", kf1)...)
	wantExit(t, one, exitFailed, "does not open the keys", "--db", dsn, "--key-file", kf2, "keys", "reseal", "--new-key-file", kekFile(t))
	wantExit(t, one, exitFailed, "yima keys kek", "--db", dsn, "keys", "reseal", "--new-key-file", kf2)

	out, errOut, err := yimaRun(t, "", append([]string{"--data", one}, append(db1, "keys", "reseal", "--new-key-file", kf2)...)...)
	if err != nil {
		t.Fatalf("keys reseal: %v\n%s", err, errOut)
	}
	var re struct {
		Records  int
		From, To string
	}
	decode(t, out, &re)
	if re.Records != 2 || re.From == "" || re.To == "" || re.From == re.To {
		t.Fatalf("keys reseal printed %s", out)
	}
	if !strings.Contains(errOut, "restart every node") {
		t.Errorf("keys reseal does not say to restart the nodes: %s", errOut)
	}

	// The node still holding the old key serves with the keys it opened,
	// and says why it cannot read them again.
	hc := &http.Client{Timeout: 20 * time.Second}
	if status, body, err := call(hc, "POST", old.url+"/v1/scans", tok, map[string]string{"code": codes[0], "member": "m1"}); err != nil || status != 200 {
		t.Errorf("a scan on the node still running with the old key: %d %s %v", status, body, err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(old.stderr.String(), "sealed under key-encryption key "+re.To); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the node with the old key does not log that the keys are sealed under %s:\n%s", re.To, old.stderr)
			break
		}
	}
	// A process started with the old key is refused, and says what to do.
	for _, want := range []string{"does not open the keys in the database", re.From, re.To, "yima keys reseal"} {
		wantExit(t, t.TempDir(), exitFailed, want, append(db1, "batch", "list")...)
	}
	// With the new key: the same keys, the same admin token.
	db2 := []string{"--db", dsn, "--key-file", kf2}
	var d description
	decode(t, yimaOK(t, t.TempDir(), append(db2, "verify", codes[1])...), &d)
	if !d.Genuine {
		t.Errorf("a code minted before the re-seal, verified with the new key: %+v", d)
	}
	addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s, err := tryServeAs(t, addr, []string{"YIMA_DB=" + dsn, "YIMA_KEY_FILE=" + kf2}, "serve", "--data", filepath.Join(t.TempDir(), "new"), "--addr", addr, "--log-level", "warn", "--no-limits")
	if err != nil {
		t.Fatal(err)
	}
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", tok, map[string]string{"code": codes[1], "member": "m1"}); err != nil || status != 200 {
		t.Errorf("a scan on a node started with the new key: %d %s %v", status, body, err)
	}
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", tok, map[string]string{"code": codes[0], "member": "m2"}); err != nil || status != 409 {
		t.Errorf("the code paid on the old key's node, scanned on the new key's: %d %s %v; want 409", status, body, err)
	}
}
