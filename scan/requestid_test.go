package scan_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// TestRequestIDFromTrustedProxyOnly: any client could name its request's
// id, and so pass itself off in the log as another request. An id is now
// taken only from a trusted proxy, and only in a short plain form;
// otherwise the server makes one.
func TestRequestIDFromTrustedProxyOnly(t *testing.T) {
	long := strings.Repeat("a", 65)
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		sent    string
		kept    bool
	}{
		{"a direct client", nil, "edge-42", false},
		{"a proxy not trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "edge-42", false},
		{"a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "edge-42", true},
		{"a trusted proxy, too long", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, long, false},
		{"a trusted proxy, not plain", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "a b\"<x>", false},
	} {
		ts := startServer(t, scan.Options{TrustedProxies: tc.proxies})
		req := ts.rawRequest("GET", "/healthz", "")
		req.Header.Set("X-Request-Id", tc.sent)
		r := ts.send(req)
		got := r.Header.Get("X-Request-Id")
		if got == "" {
			t.Errorf("%s: no X-Request-Id on the answer", tc.name)
		}
		if (got == tc.sent) != tc.kept {
			t.Errorf("%s sent X-Request-Id %.20q: the answer's is %.20q, kept=%v want %v", tc.name, tc.sent, got, got == tc.sent, tc.kept)
		}
	}
}
