package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/client"
)

// An error answer comes back as the server's *reward.Error; a request goes
// out with the token; a client without a token sends nothing.
func TestClientErrors(t *testing.T) {
	var auth, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		if r.URL.Path == "/v1/audit" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"not_found","message":"no batch 7","details":{"batch":7}}}`))
	}))
	defer srv.Close()

	c := &client.Client{URL: srv.URL + "/", Token: "tok"}
	_, err := c.Batch(7)
	var re *reward.Error
	if !errors.As(err, &re) || re.Code != reward.CodeNotFound || re.Message != "no batch 7" || re.Details["batch"] != float64(7) {
		t.Fatalf("Batch(7) = %v (%#v), want the server's not_found", err, re)
	}
	if auth != "Bearer tok" || path != "/v1/batches/7" {
		t.Fatalf("request had Authorization %q, path %q", auth, path)
	}
	if _, err := c.Audit(); err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "502") {
		t.Fatalf("an answer without an error body: %v, want the status", err)
	}

	path = ""
	if _, err := (&client.Client{URL: srv.URL}).Batch(7); err == nil || !strings.Contains(err.Error(), "needs a token") {
		t.Fatalf("no token: %v", err)
	}
	if path != "" {
		t.Fatalf("a client without a token reached %s", path)
	}
}
