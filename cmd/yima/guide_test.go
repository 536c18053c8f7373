package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGuideShowPages follows yima guide show's cursors through a guide's
// bound members, against a running server.
func TestGuideShowPages(t *testing.T) {
	data := newMinted(t, "--product", "SKU-A", "--count", "1")
	admin := adminToken(t, data)
	srv := startServe(t, data)
	defer srv.stop()
	remote := []string{"--server", srv.url, "--token", admin}
	mustYima(t, append([]string{"store", "add", "S1", "--name", "Store 1"}, remote...)...)
	mustYima(t, append([]string{"guide", "add", "--id", "G1", "--store", "S1"}, remote...)...)
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	want := []string{"m1", "m2", "m3", "m4", "m5"}
	for _, m := range want {
		if status, body, err := call(hc, "POST", srv.url+"/v1/members/"+m+"/guide", admin, map[string]string{"guide": "G1"}); err != nil || status != 200 {
			t.Fatalf("binding %s: %d %s %v", m, status, body, err)
		}
	}
	var got []string
	args := append([]string{"guide", "show", "G1", "--limit", "2"}, remote...)
	for range 5 {
		var v struct {
			Bound []string `json:"bound_members"`
			Next  string   `json:"next_members"`
		}
		r := mustYima(t, args...)
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("guide show printed %q: %v", r.stdout, err)
		}
		got = append(got, v.Bound...)
		if v.Next == "" {
			break
		}
		args = append([]string{"guide", "show", "G1", "--limit", "2", "--members-after", v.Next}, remote...)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("bound members over the pages: %v, want %v", got, want)
	}

	// G1 leaves; G2 takes the five members.
	mustYima(t, append([]string{"guide", "add", "--id", "G2", "--store", "S1"}, remote...)...)
	r := mustYima(t, append([]string{"guide", "leave", "G1", "--to", "G2"}, remote...)...)
	var left struct {
		Moved int `json:"moved"`
		Guide struct {
			Successor string `json:"successor"`
		} `json:"guide"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &left); err != nil || left.Moved != 5 || left.Guide.Successor != "G2" {
		t.Fatalf("guide leave printed %q: %v", r.stdout, err)
	}
	if r := yima(t, append([]string{"guide", "leave", "G1", "--to", "G9"}, remote...)...); r.code == 0 || !strings.Contains(r.stderr, "guide_left") {
		t.Errorf("leaving again for another successor: %v", r)
	}
}
