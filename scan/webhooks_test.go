package scan_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/webhook"
)

// TestWebhooksAPI: an endpoint added over the API gets the scans' events,
// signed with the secret shown once; its status is listed; loopback is
// refused unless the server allows it.
func TestWebhooksAPI(t *testing.T) {
	var mu sync.Mutex
	var secret string
	var seqs []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, time.Minute, time.Now()); err != nil {
			t.Errorf("delivery fails verification: %v", err)
			http.Error(w, "bad", http.StatusUnauthorized)
			return
		}
		seqs = append(seqs, r.Header.Get(webhook.SeqHeader))
	}))
	defer recv.Close()

	strict := startServer(t, scan.Options{})
	if r := strict.Do("POST", "/v1/webhooks", strict.Admin, map[string]any{"url": recv.URL}); r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_request" {
		t.Fatalf("a loopback endpoint without --webhook-allow-private: %s", r)
	}
	strict.Close()

	ts := startServer(t, scan.Options{Webhooks: webhook.Options{AllowPrivate: true, Reconcile: 50 * time.Millisecond}})
	codes := ts.MintActive(3, 5)
	if r := ts.Do("POST", "/v1/webhooks", ts.Admin, map[string]any{"url": "ftp://x"}); r.Status != http.StatusBadRequest {
		t.Fatalf("an ftp URL: %s", r)
	}
	if r := ts.Do("POST", "/v1/webhooks", ts.Token("app"), map[string]any{"url": recv.URL}); r.Status != http.StatusForbidden {
		t.Fatalf("an app token adds a webhook: %s", r)
	}
	r := ts.Do("POST", "/v1/webhooks", ts.Admin, map[string]any{"url": recv.URL, "events": []string{"code.redeemed"}})
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &created) != nil || created.Secret == "" {
		t.Fatalf("adding: %s", r)
	}
	mu.Lock()
	secret = created.Secret
	mu.Unlock()
	ts.Scan(codes[0], "alice")
	ts.Scan(codes[1], "bob")
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(seqs)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d deliveries", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var list []map[string]any
	r = ts.Do("GET", "/v1/webhooks", ts.Admin, nil)
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &list) != nil || len(list) != 1 || list[0]["secret"] != nil || list[0]["state"] != "delivering" {
		t.Fatalf("listing: %s", r)
	}
	if r := ts.Do("POST", "/v1/webhooks/"+created.ID+"/replay", ts.Admin, map[string]any{"from": 1}); r.Status != http.StatusOK {
		t.Fatalf("replay: %s", r)
	}
	if r := ts.Do("POST", "/v1/webhooks/"+created.ID+"/resume", ts.Admin, nil); r.Status != http.StatusOK {
		t.Fatalf("resume: %s", r)
	}
	if r := ts.Do("GET", "/v1/webhooks/"+created.ID, ts.Admin, nil); r.Status != http.StatusOK {
		t.Fatalf("get: %s", r)
	}
	if r := ts.Do("DELETE", "/v1/webhooks/"+created.ID, ts.Admin, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %s", r)
	}
	if r := ts.Do("GET", "/v1/webhooks/"+created.ID, ts.Admin, nil); r.Status != http.StatusNotFound || r.ErrCode() != "not_found" {
		t.Fatalf("get after delete: %s", r)
	}
}
