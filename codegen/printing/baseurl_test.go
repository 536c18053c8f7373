package printing

import (
	"strings"
	"testing"
)

func TestBaseURLWarning(t *testing.T) {
	for _, tc := range []struct {
		url  string
		warn string // part of the warning; "" for none
	}{
		{"HTTPS://YIMA.BRAND.CN", ""},
		{"https://scan.brand.com/app", ""},
		{"HTTPS://YIMA.EXAMPLE", "reserved"},
		{"https://example.com", "reserved"},
		{"https://shop.example.org", "reserved"},
		{"https://example.net.", "reserved"},
		{"https://brand.test", "reserved"},
		{"https://brand.invalid", "reserved"},
		{"http://localhost:8080", "reserved"},
		{"http://127.0.0.1:8080", "reserved"},
		{"HTTP://YIMA.BRAND.CN", "plain http"},
		{"https://notexample.com", ""},
	} {
		got := BaseURLWarning(tc.url)
		if tc.warn == "" && got != "" || tc.warn != "" && !strings.Contains(got, tc.warn) {
			t.Errorf("BaseURLWarning(%q) = %q, want it to say %q", tc.url, got, tc.warn)
		}
	}
}
