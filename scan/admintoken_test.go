package scan_test

import (
	"net/url"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// TestEmptyCredentialNeverMatches sends empty tokens everywhere one is
// read: none is taken for any caller.
func TestEmptyCredentialNeverMatches(t *testing.T) {
	ts := startServer(t, scan.Options{})
	if ts.Srv.IsAdmin("") {
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
