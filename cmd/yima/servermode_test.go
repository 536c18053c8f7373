package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
)

// TestServerMode checks the CLI against a data directory a server holds:
// direct commands refuse with a pointer to --server, and --server works.
// Each step is a subtest, so one failure does not hide the others; a step
// that needs what an earlier one failed to make is skipped, saying which.
func TestServerMode(t *testing.T) {
	data := newMinted(t, "--product", "SKU-A", "--count", "3", "--activate")
	admin := adminToken(t, data)
	srv := startServe(t, data)
	outDir := t.TempDir()
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	// What the steps make for later ones.
	var appToken, factory, code string
	var mintedRemote, mintedFactory, scanned bool
	need := func(t *testing.T, ok bool, what string) {
		t.Helper()
		if !ok {
			t.Skipf("needs %s, which an earlier step failed to make", what)
		}
	}

	t.Run("direct commands refuse", func(t *testing.T) {
		for _, args := range [][]string{
			{"batch", "list", "--data", data},
			{"token", "create", "--role", "app", "--data", data},
			{"mint", "--data", data, "--product", "SKU-B", "--count", "5", "--out", filepath.Join(outDir, "direct.txt")},
		} {
			r := yima(t, args...)
			if r.code == 0 || !strings.Contains(r.stderr, "--server") {
				t.Errorf("yima %s while a server runs: want non-zero exit and a pointer to --server; %v", strings.Join(args[:2], " "), r)
			}
		}
		if left, _ := os.ReadDir(outDir); len(left) != 0 {
			t.Errorf("a refused direct mint left files: %v", left)
		}
	})

	t.Run("batch list through the server", func(t *testing.T) {
		if ids := batchIDs(t, data, "--server", srv.url, "--token", admin); strings.Join(ids, ",") != "1" {
			t.Errorf("batch list --server: %v", ids)
		}
		r := yima(t, "batch", "list", "--server", srv.url, "--token", "yt_wrong")
		if r.code == 0 || !strings.Contains(r.stderr, "unauthorized") {
			t.Errorf("batch list with a wrong token: %v", r)
		}
		r = yima(t, "batch", "list", "--server", srv.url)
		if r.code == 0 || !strings.Contains(r.stderr, "token") {
			t.Errorf("batch list --server without a token: %v", r)
		}
	})

	t.Run("token create", func(t *testing.T) {
		r := mustYima(t, "token", "create", "--role", "app", "--name", "mini-program", "--server", srv.url, "--token", admin)
		tok := strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(tok, "yt_") || strings.Contains(tok, "\n") {
			t.Fatalf("token create printed %q", r.stdout)
		}
		appToken = tok
	})

	t.Run("mint through the server", func(t *testing.T) {
		txt := filepath.Join(outDir, "remote.txt")
		r := mustYima(t, "mint", "--server", srv.url, "--token", admin, "--product", "SKU-R", "--count", "50", "--format", "txt", "--activate", "--out", txt)
		mintedRemote = true
		if !strings.Contains(r.stderr, "minted batch 2") {
			t.Errorf("remote mint summary: %q", r.stderr)
		}
		lines := readLines(t, txt)
		if len(lines) != 50 {
			t.Fatalf("remote mint wrote %d lines, want 50", len(lines))
		}
		seen := map[string]bool{}
		for _, l := range lines {
			c, ok := strings.CutPrefix(l, "HTTPS://YIMA.EXAMPLE/C/")
			if !ok || len(c) != 27 || seen[c] {
				t.Fatalf("bad or repeated line %q", l)
			}
			seen[c] = true
		}
		code = strings.TrimPrefix(lines[17], "HTTPS://YIMA.EXAMPLE/C/")
	})

	t.Run("offline verify while serving", func(t *testing.T) {
		need(t, code != "", "a minted code")
		r := mustYima(t, "verify", "--data", data, code)
		if !strings.Contains(r.stdout, `"genuine": true`) || !strings.Contains(r.stdout, `"serial": 18`) {
			t.Errorf("verify while serving: %v", r)
		}
	})

	t.Run("the app token scans and makes no batch", func(t *testing.T) {
		need(t, code != "" && appToken != "", "a minted code and the app token")
		status, body, err := call(hc, "POST", srv.url+"/v1/scans", appToken, map[string]string{"code": code, "member": "m-cli"})
		if err != nil || status != 200 {
			t.Fatalf("scan with the CLI-made app token: %d %s %v", status, body, err)
		}
		scanned = true
		status, body, _ = call(hc, "POST", srv.url+"/v1/batches", appToken, map[string]any{"product": "X", "count": 1})
		if status != 403 {
			t.Errorf("app token made a batch: %d %s", status, body)
		}
	})

	// A factory token mints and prints, but what codes pay is the brand's:
	// without --points its batch gets the default, with it the server says no.
	t.Run("a factory token mints without --points", func(t *testing.T) {
		need(t, mintedRemote, "batch 2")
		r := mustYima(t, "token", "create", "--role", "factory", "--server", srv.url, "--token", admin)
		factory = strings.TrimSpace(r.stdout)
		r = mustYima(t, "mint", "--server", srv.url, "--token", factory, "--product", "SKU-F", "--count", "2", "--out", filepath.Join(outDir, "factory.txt"))
		mintedFactory = true
		if !strings.Contains(r.stderr, "minted batch 3") {
			t.Errorf("factory mint summary: %q", r.stderr)
		}
		r = yima(t, "mint", "--server", srv.url, "--token", factory, "--product", "SKU-F", "--count", "2", "--points", "500", "--out", filepath.Join(outDir, "rich.txt"))
		if r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
			t.Errorf("factory mint with --points: want forbidden, got %v", r)
		}
	})

	// The app token leaks: the operator finds it in the list (by id, no
	// secret shown) and revokes it; the server refuses it at once.
	t.Run("token list and revoke through the server", func(t *testing.T) {
		need(t, appToken != "", "the app token")
		r := mustYima(t, "token", "list", "--server", srv.url, "--token", admin)
		appID := reward.TokenID(appToken)
		if !strings.Contains(r.stdout, appID+"  app       mini-program") || strings.Contains(r.stdout, "yt_") {
			t.Errorf("token list --server: want %s as app mini-program and no secrets; got\n%s", appID, r.stdout)
		}
		r = mustYima(t, "token", "revoke", appID, "--server", srv.url, "--token", admin)
		if !strings.Contains(r.stdout, `"name": "mini-program"`) {
			t.Errorf("token revoke printed %q", r.stdout)
		}
		status, body, _ := call(hc, "GET", srv.url+"/v1/members/m-cli", appToken, nil)
		if status != 401 {
			t.Errorf("revoked app token: %d %s, want 401", status, body)
		}
	})

	// The printed URL, as a phone would open it: Chinese unless the
	// browser asks for English.
	t.Run("landing pages of the redeemed code", func(t *testing.T) {
		need(t, scanned, "the code's scan")
		status, body, _ := call(hc, "GET", srv.url+"/C/"+code, "", nil)
		if status != 200 || !bytes.Contains(body, []byte("奖励已被领取")) {
			t.Errorf("landing page of the redeemed code: %d %.200s", status, body)
		}
		status, body, _ = call(hc, "GET", srv.url+"/C/"+code+"?lang=en", "", nil)
		if status != 200 || !bytes.Contains(body, []byte("already redeemed")) {
			t.Errorf("English landing page of the redeemed code: %d %.200s", status, body)
		}
	})

	// SIGTERM: a clean exit, and the directory is free again.
	t.Run("SIGTERM frees the directory", func(t *testing.T) {
		hc.CloseIdleConnections()
		if err := srv.stop(); err != nil {
			t.Errorf("yima serve after SIGTERM: %v\n%s", err, srv.stderr)
		}
		need(t, mintedRemote && mintedFactory, "batches 2 and 3")
		if ids := batchIDs(t, data); strings.Join(ids, ",") != "1,2,3" {
			t.Errorf("batches after the server stopped: %v", ids)
		}
	})

	// Directly on the data directory too.
	t.Run("token revoke on the data directory", func(t *testing.T) {
		need(t, factory != "", "the factory token")
		mustYima(t, "token", "revoke", reward.TokenID(factory), "--data", data)
		r := mustYima(t, "token", "list", "--data", data)
		if strings.Contains(r.stdout, reward.TokenID(factory)) || (appToken != "" && strings.Contains(r.stdout, reward.TokenID(appToken))) {
			t.Errorf("token list after both revocations:\n%s", r.stdout)
		}
		if r := yima(t, "token", "revoke", reward.TokenID(factory), "--data", data); r.code == 0 || !strings.Contains(r.stderr, "not_found") {
			t.Errorf("revoking twice: %v", r)
		}
	})
}
