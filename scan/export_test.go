package scan

import (
	"sort"

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
