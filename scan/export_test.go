package scan

import (
	"sort"
	"time"

	"github.com/valyala/fasthttp"
)

// Routes lists every endpoint the server routes, as "METHOD pattern", so
// that a test over all endpoints cannot miss a new one.
func Routes() []string {
	var out []string
	for p, rs := range routes {
		for _, r := range rs {
			out = append(out, r.method+" "+p)
		}
	}
	sort.Strings(out)
	return out
}

// IsAdmin reports whether the server takes token for the admin's.
func (s *Server) IsAdmin(token string) bool { return s.isAdmin(token) }

// Handle serves one request in memory, as the listener would.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) { s.handle(ctx) }

// RaceEnabled is true under the race detector, where allocation counts
// mean nothing.
const RaceEnabled = raceEnabled

// SetLandingCacheTTL makes the landing page believe its cached brand and
// products for d from their next read: a test that must tell a forgotten
// entry from an expired one sets it long.
func (s *Server) SetLandingCacheTTL(d time.Duration) { s.landingCache.ttl.Store(int64(d)) }
