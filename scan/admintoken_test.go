package scan_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// TestAdminTokenFileFailsClosed checks that a data directory whose
// admin.token holds nothing usable does not open: with an empty token the
// admin API and the dashboard would take an empty credential.
func TestAdminTokenFileFailsClosed(t *testing.T) {
	for name, content := range map[string]string{
		"only a newline": "\n",
		"empty":          "",
		"blanks":         " \t \n\n",
		"too short":      "abc\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := scan.Init(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, scan.AdminTokenFile), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if tok, err := scan.AdminToken(dir); err == nil {
				t.Fatalf("AdminToken of %q = %q, want an error", content, tok)
			}
			app, err := scan.Open(dir, scan.AppOptions{Logger: quietLogger()})
			if err == nil {
				app.Close()
				t.Fatalf("Open with admin.token %q succeeded; want an error at start", content)
			}
			if !strings.Contains(err.Error(), scan.AdminTokenFile) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		dir := t.TempDir()
		if err := scan.Init(dir); err != nil {
			t.Fatal(err)
		}
		// A directory where the file should be cannot be read as one.
		path := filepath.Join(dir, scan.AdminTokenFile)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if app, err := scan.Open(dir, scan.AppOptions{Logger: quietLogger()}); err == nil {
			app.Close()
			t.Fatal("Open with an unreadable admin.token succeeded")
		}
	})
}

// TestEmptyCredentialNeverMatches sends empty tokens everywhere one is
// read: none is taken for any caller.
func TestEmptyCredentialNeverMatches(t *testing.T) {
	ts := startServer(t, scan.Options{})
	if ts.App.IsAdmin("") {
		t.Fatal(`IsAdmin("") is true`)
	}
	for _, tc := range []struct{ method, path, auth, body string }{
		{"GET", "/v1/batches", "Bearer ", ""},
		{"GET", "/v1/batches", "Bearer", ""},
		{"GET", "/admin", "Bearer ", ""},
	} {
		req := ts.rawRequest(tc.method, tc.path, tc.body)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		r := ts.send(req)
		if r.Status != 401 {
			t.Errorf("%s %s with %q: %v, want 401", tc.method, tc.path, tc.auth+tc.body, r)
		}
	}
	// Signing in on the page with an empty token.
	b := newBrowser(t, ts)
	b.get("/admin")
	if status, _ := b.post("/admin", url.Values{"token": {""}}); status != 401 {
		t.Errorf("signing in with an empty token: %d, want 401", status)
	}
}
