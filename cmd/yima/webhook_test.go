package main

import (
	"path/filepath"
	"testing"
)

// TestWebhookCommands runs the webhook group on a data directory: add
// shows the secret once, list shows the endpoint without it, replay,
// resume and remove act on it by id, and add without --url is refused
// before anything is stored.
func TestWebhookCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	wantExit(t, data, exitUsage, "--url is required", "webhook", "add")

	var added struct {
		ID     string   `json:"id"`
		URL    string   `json:"url"`
		Types  []string `json:"types"`
		Secret string   `json:"secret"`
	}
	decode(t, yimaOK(t, data, "webhook", "add", "--url", "https://crm.example.com/yima", "--events", "code.redeemed,points.spent"), &added)
	if added.ID == "" || added.Secret == "" || added.URL != "https://crm.example.com/yima" || len(added.Types) != 2 {
		t.Fatalf("webhook add printed %+v, want an id, a secret, the URL and two types", added)
	}

	var listed []map[string]any
	decode(t, yimaOK(t, data, "webhook", "list"), &listed)
	if len(listed) != 1 || listed[0]["id"] != added.ID || listed[0]["state"] != "delivering" {
		t.Fatalf("webhook list = %v, want the one endpoint %s, delivering", listed, added.ID)
	}
	if _, shown := listed[0]["secret"]; shown {
		t.Errorf("webhook list shows the secret: %v", listed[0])
	}

	for _, args := range [][]string{
		{"webhook", "replay", added.ID, "--from", "1"},
		{"webhook", "resume", added.ID},
	} {
		if out := yimaOK(t, data, args...); out != "" {
			t.Errorf("yima %v printed %q, want nothing", args, out)
		}
	}
	wantExit(t, data, exitUsage, "accepts 1 arg", "webhook", "resume")

	yimaOK(t, data, "webhook", "remove", added.ID)
	decode(t, yimaOK(t, data, "webhook", "list"), &listed)
	if len(listed) != 0 {
		t.Errorf("webhook list after remove = %v, want none", listed)
	}
}
