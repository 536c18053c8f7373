package scan

import (
	"net"
	"net/netip"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestClientIP reads the client's address from a proxy's header only when
// the peer is a trusted proxy, taking the rightmost address the trusted
// proxies did not add.
func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		header  string
		peer    string
		value   string
		want    string
	}{
		{"no proxy configured: the header is ignored", nil, "", "203.0.113.7", "198.51.100.1", "203.0.113.7"},
		{"an untrusted peer cannot choose its address", proxies, "", "203.0.113.7", "198.51.100.1", "203.0.113.7"},
		{"a trusted proxy names the client", proxies, "", "10.1.2.3", "198.51.100.1", "198.51.100.1"},
		{"the rightmost untrusted address wins", proxies, "", "10.1.2.3", "1.1.1.1, 198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"a spoofed left part is ignored", proxies, "", "10.1.2.3", "127.0.0.1,198.51.100.1", "198.51.100.1"},
		{"garbage in the header: the peer", proxies, "", "10.1.2.3", "nonsense", "10.1.2.3"},
		{"no header: the peer", proxies, "", "10.1.2.3", "", "10.1.2.3"},
		{"a one-address header", proxies, "X-Real-IP", "10.1.2.3", "2001:db8::1", "2001:db8::1"},
		{"all trusted: the leftmost", proxies, "", "10.1.2.3", "10.0.0.5, 10.0.0.6", "10.0.0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{TrustedProxies: tc.trusted, ClientIPHeader: tc.header}
			opts.ensureDefaults()
			s := &Server{opts: opts}
			var req fasthttp.Request
			if tc.value != "" {
				req.Header.Set(opts.ClientIPHeader, tc.value)
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(tc.peer), Port: 40000}, nil)
			if got := s.clientIP(&ctx); got.String() != tc.want {
				t.Fatalf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
	if maxConnsPerPeer(Options{MaxConnsPerIP: 10, TrustedProxies: proxies}) != 0 {
		t.Error("behind trusted proxies, connections are still limited per peer address")
	}
	if maxConnsPerPeer(Options{MaxConnsPerIP: 10}) != 10 {
		t.Error("without proxies, MaxConnsPerIP is not applied")
	}
}
