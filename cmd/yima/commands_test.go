package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run each command group in this process, through cobra's
// SetArgs, SetOut and SetErr, on a data directory of their own (the e2e
// tests run the built binary).

// yimaRun runs yima with args in this process and returns what it wrote.
func yimaRun(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// yimaOK runs yima with args on the data directory data and fails the test
// unless it succeeds.
func yimaOK(t *testing.T, data string, args ...string) string {
	t.Helper()
	out, errOut, err := yimaRun(t, "", append([]string{"--data", data}, args...)...)
	if err != nil {
		t.Fatalf("yima %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// wantExit runs yima with args on data and checks that it fails with the
// exit code code and a message containing want.
func wantExit(t *testing.T, data string, code int, want string, args ...string) {
	t.Helper()
	out, errOut, err := yimaRun(t, "", append([]string{"--data", data}, args...)...)
	if err == nil {
		t.Fatalf("yima %s succeeded: %s", strings.Join(args, " "), out)
	}
	if got := exitCode(err); got != code {
		t.Errorf("yima %s: exit %d (%v), want %d", strings.Join(args, " "), got, err, code)
	}
	if msg := err.Error() + errOut; !strings.Contains(msg, want) {
		t.Errorf("yima %s: %q does not say %q", strings.Join(args, " "), msg, want)
	}
}

// decode reads JSON output into v.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
}

// brandedData is a fresh data directory with a base URL stored, so that
// printing works, and one active batch of three codes; it returns the
// directory and the codes.
func brandedData(t *testing.T) (string, []string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	yimaOK(t, data, "brand", "set", "--base-url", "HTTPS://YIMA.BRAND.CN")
	out := yimaOK(t, data, "mint", "--product", "SKU-A", "--count", "3", "--activate", "--format", "txt")
	var codes []string
	for _, line := range strings.Fields(out) {
		codes = append(codes, line[strings.LastIndex(line, "/")+1:])
	}
	if len(codes) != 3 {
		t.Fatalf("mint printed %d URLs, want 3: %s", len(codes), out)
	}
	return data, codes
}

func TestMintAndVerifyCommands(t *testing.T) {
	data, codes := brandedData(t)
	var d description
	decode(t, yimaOK(t, data, "verify", codes[0]), &d)
	if !d.Genuine || !d.Active || d.Product != "SKU-A" || d.Serial != 1 {
		t.Errorf("verify of a minted code: %+v", d)
	}
	last := "0"
	if strings.HasSuffix(codes[0], "0") {
		last = "1"
	}
	forged := codes[0][:len(codes[0])-1] + last
	out, errOut, err := yimaRun(t, "", "--data", data, "verify", forged)
	var ex exitError
	if !errors.As(err, &ex) || ex.code != 1 || !strings.Contains(errOut, "not genuine") || !strings.Contains(out, `"genuine": false`) {
		t.Errorf("verify of a changed code: %v, %q, %q; want exit 1 and not genuine", err, out, errOut)
	}
	wantExit(t, data, exitUsage, "--product is required", "mint", "--count", "3")
	wantExit(t, data, exitUsage, "--format", "mint", "--product", "P", "--count", "3", "--format", "xml")
}

func TestKeysCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var keys []map[string]any
	decode(t, yimaOK(t, data, "keys", "list"), &keys)
	if len(keys) != 1 {
		t.Fatalf("a fresh data directory has %d keys, want 1", len(keys))
	}
	if out := yimaOK(t, data, "keys", "rotate"); !strings.Contains(out, "key 2 is now the primary key") {
		t.Errorf("keys rotate: %q", out)
	}
	if out := yimaOK(t, data, "keys", "retire", "1"); !strings.Contains(out, "key 1 is retired") {
		t.Errorf("keys retire: %q", out)
	}
	decode(t, yimaOK(t, data, "keys", "list"), &keys)
	if len(keys) != 2 {
		t.Errorf("after a rotation %d keys, want 2", len(keys))
	}
	wantExit(t, data, exitUsage, "not a number", "keys", "retire", "one")
}

func TestBatchCommands(t *testing.T) {
	data, codes := brandedData(t)
	if out := yimaOK(t, data, "batch", "list"); !strings.Contains(out, "SKU-A") || !strings.HasPrefix(out, "ID") {
		t.Errorf("batch list: %q", out)
	}
	var bs []map[string]any
	decode(t, yimaOK(t, data, "batch", "list", "--json"), &bs)
	if len(bs) != 1 {
		t.Errorf("batch list --json: %d batches, want 1", len(bs))
	}
	var b struct{ Revoked uint32 }
	decode(t, yimaOK(t, data, "batch", "revoke", "1", "--from", "3", "--to", "3"), &b)
	if b.Revoked != 1 {
		t.Errorf("batch revoke of one serial: %+v", b)
	}
	if out := yimaOK(t, data, "batch", "codes", "1", "--format", "txt"); !strings.Contains(out, codes[2]) {
		t.Errorf("batch codes does not write the batch's codes again: %q", out)
	}
	pdf := filepath.Join(t.TempDir(), "labels.pdf")
	yimaOK(t, data, "batch", "labels", "1", "--out", pdf)
	if raw, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(raw, []byte("%PDF-")) {
		t.Errorf("batch labels wrote no PDF: %v", err)
	}
	decode(t, yimaOK(t, data, "batch", "release", "1", "--points", "5"), &b)
	decode(t, yimaOK(t, data, "batch", "show", "1"), &b)
	wantExit(t, data, exitUsage, "not a positive number", "batch", "show", "x")
	wantExit(t, data, exitUsage, "--out FILE.pdf is required", "batch", "labels", "1")
	wantExit(t, data, exitUsage, "both --from and --to", "batch", "activate", "1", "--from", "2")
}

func TestBrandCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	wantExit(t, data, exitUsage, "give at least one of", "brand", "set")
	yimaOK(t, data, "brand", "set", "--name", "Brand One", "--tz", "Asia/Shanghai")
	var b struct {
		Name     string `json:"name"`
		TimeZone string `json:"time_zone"`
	}
	decode(t, yimaOK(t, data, "brand", "show"), &b)
	if b.Name != "Brand One" || b.TimeZone != "Asia/Shanghai" {
		t.Errorf("brand show after set: %+v", b)
	}
}

// TestBrandTimeZoneAndWeChatScope: --time-zone and --wechat-scope are the
// brand's settings; an unknown zone or scope is a command-line error that
// stores nothing; an empty zone restores the default, Asia/Shanghai.
func TestBrandTimeZoneAndWeChatScope(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var b struct {
		TimeZone      string `json:"time_zone"`
		TimeZoneInUse string `json:"time_zone_in_use"`
		WeChatScope   string `json:"wechat_scope"`
	}
	show := func() {
		t.Helper()
		b.TimeZone, b.TimeZoneInUse, b.WeChatScope = "", "", ""
		decode(t, yimaOK(t, data, "brand", "show"), &b)
	}
	show()
	if b.TimeZone != "" || b.TimeZoneInUse != "Asia/Shanghai" || b.WeChatScope != "" {
		t.Errorf("brand show before any setting: %+v", b)
	}
	yimaOK(t, data, "brand", "set", "--time-zone", "Europe/Paris", "--wechat-scope", "userinfo")
	show()
	if b.TimeZone != "Europe/Paris" || b.TimeZoneInUse != "Europe/Paris" || b.WeChatScope != "userinfo" {
		t.Errorf("brand show after set: %+v", b)
	}
	wantExit(t, data, exitUsage, "IANA", "brand", "set", "--time-zone", "Mars/Olympus", "--name", "N")
	wantExit(t, data, exitUsage, "IANA", "brand", "set", "--time-zone", "Local")
	wantExit(t, data, exitUsage, "use base or userinfo", "brand", "set", "--wechat-scope", "nickname")
	show()
	if b.TimeZone != "Europe/Paris" || b.WeChatScope != "userinfo" {
		t.Errorf("a refused setting changed the brand: %+v", b)
	}
	if out := yimaOK(t, data, "brand", "show"); strings.Contains(out, `"name"`) {
		t.Errorf("a refused command stored its other flags: %s", out)
	}
	yimaOK(t, data, "brand", "set", "--time-zone", "")
	show()
	if b.TimeZone != "" || b.TimeZoneInUse != "Asia/Shanghai" {
		t.Errorf("an empty --time-zone: %+v, want the default back", b)
	}
}

func TestTokenCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	out, errOut, err := yimaRun(t, "", "--data", data, "token", "create", "--role", "app", "--name", "shop")
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out)
	if len(tok) < 16 || !strings.Contains(errOut, "token id ") {
		t.Fatalf("token create: %q, %q", out, errOut)
	}
	id := strings.Fields(strings.TrimPrefix(errOut, "token id "))[0]
	if out := yimaOK(t, data, "token", "list"); !strings.Contains(out, id) || strings.Contains(out, tok) {
		t.Errorf("token list shows the id %s and never the secret: %q", id, out)
	}
	var revoked struct{ ID string }
	decode(t, yimaOK(t, data, "token", "revoke", id), &revoked)
	if revoked.ID != id {
		t.Errorf("token revoke %s: %+v", id, revoked)
	}
	wantExit(t, data, exitUsage, "--role must be", "token", "create", "--role", "root")
}

func TestCampaignCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var v struct{ ID string }
	decode(t, yimaOK(t, data, "campaign", "apply", "../../docs/examples/spring-milk.json"), &v)
	if v.ID == "" {
		t.Fatal("campaign apply printed no id")
	}
	doc, err := os.ReadFile("../../docs/examples/spring-milk.json")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := yimaRun(t, string(doc), "--data", data, "campaign", "apply", "-")
	if err != nil || !strings.Contains(out, v.ID) {
		t.Errorf("campaign apply from stdin: %v %q", err, out)
	}
	if out := yimaOK(t, data, "campaign", "list"); !strings.Contains(out, v.ID) {
		t.Errorf("campaign list: %q", out)
	}
	decode(t, yimaOK(t, data, "campaign", "show", v.ID), &v)
	wantExit(t, data, exitFailed, "campaign document", "campaign", "apply", filepath.Join(t.TempDir(), "none.json"))
}

func TestGuideCommands(t *testing.T) {
	data, _ := brandedData(t)
	var added map[string]string
	yimaOK(t, data, "store", "add", "S1", "--name", "Store 1")
	decode(t, yimaOK(t, data, "guide", "add", "--id", "G1", "--store", "S1"), &added)
	if added["id"] != "G1" || added["token"] == "" || added["token_id"] == "" {
		t.Errorf("guide add: %v", added)
	}
	png := filepath.Join(t.TempDir(), "G1.png")
	yimaOK(t, data, "guide", "qr", "G1", "--out", png)
	if raw, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(raw, []byte("\x89PNG")) {
		t.Errorf("guide qr wrote no PNG: %v", err)
	}
	if out := yimaOK(t, data, "guide", "show", "G1"); !strings.Contains(out, `"G1"`) {
		t.Errorf("guide show: %q", out)
	}
	yimaOK(t, data, "guide", "leave", "G1")
	wantExit(t, data, exitUsage, "--id and --store are required", "guide", "add", "--id", "G2")
	wantExit(t, data, exitUsage, "use png or svg", "guide", "qr", "G1", "--format", "gif")
}

func TestReportCommands(t *testing.T) {
	data, _ := brandedData(t)
	if out := yimaOK(t, data, "audit"); !strings.Contains(out, "audit: clean") {
		t.Errorf("audit: %q", out)
	}
	var rep struct{ Violations []string }
	decode(t, yimaOK(t, data, "audit", "--json"), &rep)
	if rep.Violations == nil || len(rep.Violations) != 0 {
		t.Errorf("audit --json: violations %v, want []", rep.Violations)
	}
	if out := strings.TrimSpace(yimaOK(t, data, "stats", "--json")); out != "[]" {
		t.Errorf("stats --json with no scans: %q, want []", out)
	}
	if out := yimaOK(t, data, "flags"); !strings.HasPrefix(out, "DAY") {
		t.Errorf("flags: %q", out)
	}
	dest := filepath.Join(t.TempDir(), "copy")
	if out := yimaOK(t, data, "backup", dest); !strings.Contains(out, "backup written to "+dest) {
		t.Errorf("backup: %q", out)
	}
	for _, f := range []string{"keys.json", "admin.token", "db"} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Errorf("the backup has no %s: %v", f, err)
		}
	}
	wantExit(t, data, exitFailed, "already exists", "backup", dest)
}

func TestServeAndBenchRefuseBadFlags(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	wantExit(t, data, exitUsage, "--log-level", "serve", "--log-level", "loud")
	wantExit(t, data, exitUsage, "--lang", "serve", "--lang", "xx")
	wantExit(t, data, exitUsage, "--trusted-proxy", "serve", "--trusted-proxy", "somewhere")
	wantExit(t, data, exitUsage, "--lanes is for a node on PostgreSQL", "serve", "--lanes", "2")
	wantExit(t, data, exitUsage, "--lanes -1: give 1 to 64", "serve", "--lanes", "-1")
	if _, err := os.Stat(data); err == nil {
		t.Error("serve with bad flags made the data directory")
	}
	out, _, err := yimaRun(t, "", "bench", "--duplicate", "2", "--requests", "1")
	if err == nil || !strings.Contains(err.Error(), "between 0 and 1") {
		t.Errorf("bench with a fraction of 2: %v %q", err, out)
	}
	out, _, err = yimaRun(t, "", "bench", "--lanes", "4", "--requests", "1")
	if err == nil || !strings.Contains(err.Error(), "lanes are a PostgreSQL node's") {
		t.Errorf("bench --lanes without --db: %v %q", err, out)
	}
	keep := filepath.Join(t.TempDir(), "kept")
	wantExit(t, data, exitUsage, "--preload-dir keeps the stores of --preload", "bench", "--preload-dir", keep, "--requests", "1")
	if _, err := os.Stat(keep); err == nil {
		t.Error("bench --preload-dir without --preload made the directory")
	}
}
