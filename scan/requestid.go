package scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// requestIDHeader carries a request's id in both directions: a proxy in
// front may send one, and every answer names the id it was logged under,
// so that a caller reporting a problem can quote it.
const requestIDHeader = "X-Request-Id"

// maxRequestID bounds an id taken from a proxy.
const maxRequestID = 64

// bootID tells apart request ids of different runs of the server: fasthttp's
// request numbers start again at each start.
func newBootID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "0"
	}
	return hex.EncodeToString(b[:])
}

// setRequestID gives the request its id: a trusted proxy's X-Request-Id
// when it is a plain token, else this run's boot id and fasthttp's request
// number. A client's own id is never taken: it could reuse another
// request's id, or that of an error a support desk is chasing, and muddle
// the log. The id goes on the answer's X-Request-Id.
func (s *Server) setRequestID(ctx *fasthttp.RequestCtx) {
	if in := ctx.Request.Header.Peek(requestIDHeader); plainID(in) && s.trusted(addrOf(ctx.RemoteAddr())) {
		ctx.Response.Header.SetBytesV(requestIDHeader, in)
		return
	}
	buf := make([]byte, 0, 32)
	buf = append(buf, s.bootID...)
	buf = append(buf, '-')
	buf = strconv.AppendUint(buf, ctx.ID(), 36)
	ctx.Response.Header.SetBytesV(requestIDHeader, buf)
}

// plainID reports whether a client's id is safe to log and echo: 1 to
// maxRequestID letters, digits, '-', '_' or '.'.
func plainID(b []byte) bool {
	if len(b) == 0 || len(b) > maxRequestID {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// RequestID returns the id of the request ctx is answering, for logs.
func RequestID(ctx *fasthttp.RequestCtx) string {
	return string(ctx.Response.Header.Peek(requestIDHeader))
}

// logAccess writes one access log line for a finished request.
func (s *Server) logAccess(ctx *fasthttp.RequestCtx, route string, took time.Duration) {
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
		slog.String("id", RequestID(ctx)),
		slog.String("remote", s.clientIP(ctx).String()),
		slog.String("method", string(ctx.Method())),
		slog.String("path", string(ctx.Path())),
		slog.String("route", route),
		slog.Int("status", ctx.Response.StatusCode()),
		slog.Int("bytes", len(ctx.Response.Body())),
		slog.Float64("ms", float64(took.Microseconds())/1000),
	)
}
