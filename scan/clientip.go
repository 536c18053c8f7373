package scan

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// clientIP is the address of the person behind a request: the TCP peer,
// or, when the peer is one of Options.TrustedProxies, the address its
// ClientIPHeader names. With X-Forwarded-For the rightmost address that is
// not a trusted proxy is taken: every proxy appends the address it saw, so
// addresses left of it are whatever the client wrote.
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := addrOf(ctx.RemoteAddr())
	if !s.trusted(peer) {
		return peer
	}
	h := ctx.Request.Header.Peek(s.opts.ClientIPHeader)
	if len(h) == 0 {
		return peer
	}
	parts := bytes.Split(h, []byte(","))
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(string(bytes.TrimSpace(parts[i])))
		if err != nil {
			return peer // a header the proxy did not write: trust none of it
		}
		a = a.Unmap()
		if !s.trusted(a) || i == 0 {
			return a
		}
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
