package scan_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/bench"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// scanServer is a server with no request limits (a benchmark measures the
// service) and an active batch of n fixed-points codes.
func scanServer(tb testing.TB, n uint32) (*testServer, []string) {
	ts := startServer(tb, scan.Options{Limits: scan.Limits{Off: true}})
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-1", Count: n, Points: new(int64(10)), Activate: true})
	return ts, codes
}

// postScan serves POST /v1/scans in memory with body, as an integrator's
// server sends it: its own token, JSON.
func postScan(s *scan.Server, ctx *fasthttp.RequestCtx, auth string, body []byte) {
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/v1/scans")
	ctx.Request.Header.Set("Authorization", auth)
	ctx.Request.Header.SetContentType("application/json")
	ctx.Request.SetBody(body)
	s.Handle(ctx)
}

// scanBody is the body of a scan of code by one of a thousand members,
// as yima bench sends it.
func scanBody(buf []byte, code string, i int) []byte {
	buf = append(buf[:0], `{"code":"`...)
	buf = append(buf, code...)
	buf = append(buf, `","member":"member-`...)
	buf = strconv.AppendInt(buf, int64(i%1000), 10)
	return append(buf, `"}`...)
}

// BenchmarkScanRequest is POST /v1/scans of fresh fixed-points codes,
// served in memory (no sockets) by goroutines enough to fill the
// decider's groups, as 64 connections do: what a scan costs the server
// from its parsed request to its answer, the decision and its synced
// commit included. Besides wall time it reports cpu-ns/op, the process's
// CPU time a scan (GC and the store's sync included), which others' work
// on the machine inflates far less.
func BenchmarkScanRequest(b *testing.B) {
	ts, codes := scanServer(b, uint32(max(1024, b.N+64)))
	auth := "Bearer " + ts.Admin
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	cpu := bench.ProcessCPU()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		var body []byte
		for pb.Next() {
			i := int(next.Add(1)) - 1
			body = scanBody(body, codes[i%len(codes)], i)
			postScan(ts.Srv, &ctx, auth, body)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("POST /v1/scans: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				return
			}
		}
	})
	b.ReportMetric((bench.ProcessCPU()-cpu)*1e9/float64(b.N), "cpu-ns/op")
}

// TestHandleDoesNotAllocate: what every request goes through around its
// endpoint (its id, the route's lookup, the headers every answer has, the
// latency metric) allocates nothing. GET /healthz is that and an answer of
// constant bytes.
func TestHandleDoesNotAllocate(t *testing.T) {
	if scan.RaceEnabled {
		t.Skip("allocations are not counted under the race detector")
	}
	ts := startServer(t, scan.Options{Limits: scan.Limits{Off: true}})
	var ctx fasthttp.RequestCtx
	get := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/healthz")
		ts.Srv.Handle(&ctx)
	}
	get() // the route's first request creates its latency series
	if ctx.Response.StatusCode() != 200 || len(ctx.Response.Header.Peek("X-Request-Id")) == 0 {
		t.Fatalf("GET /healthz: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if n := testing.AllocsPerRun(100, get); n != 0 {
		t.Errorf("GET /healthz allocates %.0f times, want none", n)
	}
}

// TestScanRequestAllocations bounds what one POST /v1/scans of a fresh
// fixed-points code allocates, served in memory, the decision and its
// commit included (one request at a time: each is a group of its own).
// Of these the HTTP layer's is one: the body's strings (see
// TestHandleDoesNotAllocate and TestDecodeScanAllocations); the rest are
// the engine's and the store's.
func TestScanRequestAllocations(t *testing.T) {
	if scan.RaceEnabled {
		t.Skip("allocations are not counted under the race detector")
	}
	ts, codes := scanServer(t, 128)
	auth := "Bearer " + ts.Admin
	var ctx fasthttp.RequestCtx
	var body []byte
	i := 0
	scan1 := func() {
		body = scanBody(body, codes[i], i)
		postScan(ts.Srv, &ctx, auth, body)
		i++
	}
	scan1()
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("POST /v1/scans: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	n := testing.AllocsPerRun(100, scan1)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("POST /v1/scans: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	t.Logf("POST /v1/scans: %.0f allocations", n)
	if n > maxScanRequestAllocs {
		t.Errorf("POST /v1/scans allocates %.0f times, want at most %d", n, maxScanRequestAllocs)
	}
}

// maxScanRequestAllocs is the bound of TestScanRequestAllocations: 83
// were measured before the HTTP layer stopped copying the path, the
// method and the token, looking up the latency series by its name and
// decoding a plain body through reflection; 77 after; and some room.
const maxScanRequestAllocs = 80
