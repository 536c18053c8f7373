package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// httpTarget speaks yima's HTTP API over one fasthttp.HostClient: keep-alive
// connections, at most Conns of them, no per-request allocation beyond what
// the answer needs.
type httpTarget struct {
	name    string
	hc      *fasthttp.HostClient
	origin  string // scheme://host:port
	auth    string // "Bearer TOKEN"
	timeout time.Duration

	scanURI, healthURI string
}

// newHTTPTarget returns a target for the server at origin (scheme://host[:port]).
func newHTTPTarget(name, origin, token string, conns int, timeout time.Duration) (*httpTarget, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("bench: target %q is not an http:// or https:// URL", origin)
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	o := u.Scheme + "://" + u.Host
	return &httpTarget{
		name:    name,
		origin:  o,
		auth:    "Bearer " + token,
		timeout: timeout,
		hc: &fasthttp.HostClient{
			Addr:                      addr,
			IsTLS:                     u.Scheme == "https",
			Name:                      "yima-bench",
			MaxConns:                  conns,
			MaxConnWaitTimeout:        timeout,
			ReadTimeout:               timeout,
			WriteTimeout:              timeout,
			MaxIdemponentCallAttempts: 1,
			MaxResponseBodySize:       16 << 20,
		},
		scanURI:   o + "/v1/scans",
		healthURI: o + "/healthz",
	}, nil
}

func (t *httpTarget) Name() string { return t.name }

func (t *httpTarget) Close() error {
	t.hc.CloseIdleConnections()
	return nil
}

// Do sends one request.
func (t *httpTarget) Do(op *Op) Outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	switch {
	case op.Kind == Health:
		req.SetRequestURI(t.healthURI)
	case op.Kind.scans():
		req.SetRequestURI(t.scanURI)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.Header.Set("Authorization", t.auth)
		req.AppendBodyString(`{"code":"`)
		req.AppendBodyString(op.Code)
		req.AppendBodyString(`","member":"`)
		req.AppendBodyString(op.Member)
		req.AppendBodyString(`"}`)
	default:
		return Outcome{Code: "unsupported", Err: fmt.Errorf("bench: %s does not do %v", t.name, op.Kind)}
	}
	if err := t.hc.Do(req, resp); err != nil {
		return Outcome{Code: errClass(err), Err: err}
	}
	o := Outcome{Status: resp.StatusCode()}
	body := resp.Body()
	switch {
	case o.Status == fasthttp.StatusOK && op.Kind.scans():
		o.Points = jsonInt(body, `"points":`)
	case o.Status >= 300:
		o.Code = errorCode(body)
	}
	return o
}

// errClass names a transport failure briefly, for the results table.
func errClass(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return "timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_conns"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "conn_closed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "conn_reset"
	}
	return "transport"
}

// knownCodes interns the error codes yima answers with, so that counting a
// refusal does not allocate.
var knownCodes = func() map[string]string {
	m := map[string]string{}
	for _, c := range []string{
		"invalid_request", "invalid_json", "invalid_code", "key_retired", "unknown_batch",
		"batch_inactive", "batch_revoked", "already_redeemed", "idempotency_key_reused",
		"not_found", "unavailable", "internal", "unauthorized", "forbidden", "body_too_large",
		"method_not_allowed", "route_not_found", "shutting_down", "rate_limited",
	} {
		m[c] = c
	}
	return m
}()

// errorCode returns the code of a JSON error body
// {"error":{"code":"...",...}}, or "" if there is none.
func errorCode(body []byte) string {
	const key = `"code":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	if c, ok := knownCodes[string(rest[:j])]; ok {
		return c
	}
	return string(rest[:j])
}

// jsonInt returns the integer after key in a flat JSON object, or 0.
func jsonInt(body []byte, key string) int64 {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0
	}
	rest := body[i+len(key):]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	j := 0
	for j < len(rest) && (rest[j] == '-' || rest[j] >= '0' && rest[j] <= '9') {
		j++
	}
	n, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n
}

// get fetches path and returns the status and body. Transport failures are
// retried a few times: the audit must not fail because one GET did.
func (t *httpTarget) get(ctx context.Context, path string, auth bool) (int, []byte, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		req.SetRequestURI(t.origin + path)
		if auth {
			req.Header.Set("Authorization", t.auth)
		}
		err = t.hc.DoTimeout(req, resp, t.timeout)
		status, body := resp.StatusCode(), append([]byte(nil), resp.Body()...)
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		if err == nil {
			return status, body, nil
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return 0, nil, fmt.Errorf("bench: GET %s: %w", path, err)
}

// CodeRedeemed asks GET /v1/codes/{code}.
func (t *httpTarget) CodeRedeemed(ctx context.Context, code string) (bool, error) {
	status, body, err := t.get(ctx, "/v1/codes/"+url.PathEscape(code), false)
	if err != nil {
		return false, err
	}
	if status != fasthttp.StatusOK {
		return false, fmt.Errorf("bench: GET /v1/codes/%s answered %d: %s", code, status, strings.TrimSpace(string(body)))
	}
	var st struct {
		Valid    bool `json:"valid"`
		Redeemed bool `json:"redeemed"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return false, fmt.Errorf("bench: GET /v1/codes/%s: %w", code, err)
	}
	return st.Redeemed, nil
}

// Member reads GET /v1/members/{member}, every page of its ledger.
func (t *httpTarget) Member(ctx context.Context, member string) (MemberState, error) {
	var ms MemberState
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/members/" + url.PathEscape(member) + "?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body, err := t.get(ctx, path, true)
		if err != nil {
			return ms, err
		}
		if status == fasthttp.StatusNotFound && page == 0 && errorCode(body) == "not_found" {
			return ms, nil
		}
		if status != fasthttp.StatusOK {
			return ms, fmt.Errorf("bench: GET /v1/members/%s answered %d: %s", member, status, strings.TrimSpace(string(body)))
		}
		var v struct {
			Points int64 `json:"points"`
			Ledger []struct {
				Account string `json:"account"`
				Reason  string `json:"reason"`
				Code    string `json:"code"`
			} `json:"ledger"`
			Next string `json:"next"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return ms, fmt.Errorf("bench: GET /v1/members/%s: %w", member, err)
		}
		if page == 0 {
			ms.Found, ms.Points = true, v.Points
		}
		for _, e := range v.Ledger {
			if e.Reason == "scan" && e.Account == "points" && e.Code != "" {
				ms.Codes = append(ms.Codes, e.Code)
			}
		}
		if v.Next == "" || v.Next == cursor {
			return ms, nil
		}
		cursor = v.Next
	}
}

// metrics fetches and parses /metrics.
func (t *httpTarget) metrics(ctx context.Context) (Stats, error) {
	status, body, err := t.get(ctx, "/metrics", false)
	if err != nil {
		return unknownStats(), err
	}
	if status != fasthttp.StatusOK {
		return unknownStats(), fmt.Errorf("bench: GET /metrics answered %d", status)
	}
	return parseMetrics(bytes.NewReader(body))
}

// remote is a yima server that runs elsewhere, reached by URL.
type remote struct {
	*httpTarget
	token string
}

// Stats reads the server's own process_cpu_seconds_total and commit group
// histogram.
func (r *remote) Stats(ctx context.Context) (Stats, error) { return r.metrics(ctx) }
