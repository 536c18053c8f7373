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
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// HTTPTarget speaks yima's HTTP API over one fasthttp.HostClient: keep-alive
// connections, at most Conns of them, no per-request allocation beyond what
// the answer needs.
type HTTPTarget struct {
	name    string
	hc      *fasthttp.HostClient
	origin  string // scheme://host:port
	auth    string // "Bearer TOKEN": scans, spends, bindings, members
	timeout time.Duration
	// adminAuth reads campaigns, guides and the server's audit.
	adminAuth string
	// guideAuth is each guide's "Bearer TOKEN", set by Prepare before
	// the load and only read after.
	guideAuth map[string]string

	scanURI, healthURI string
	// landingURI is the origin's landing page prefix, /C/.
	landingURI string
	// floorURI is the in-process target's floor handler, on a listener of
	// its own reached through floorHC; empty elsewhere.
	floorURI string
	floorHC  *fasthttp.HostClient
	// floorRecords, past 1, asks the floor handler for that many records.
	floorRecords int
}

// NewHTTPTarget returns a target for the server at origin (scheme://host[:port]).
func NewHTTPTarget(name, origin, token string, conns int, timeout time.Duration) (*HTTPTarget, error) {
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
	return &HTTPTarget{
		name:       name,
		origin:     o,
		auth:       "Bearer " + token,
		adminAuth:  "Bearer " + token,
		guideAuth:  map[string]string{},
		timeout:    timeout,
		hc:         loadClient(addr, u.Scheme == "https", conns, timeout),
		scanURI:    o + "/v1/scans",
		healthURI:  o + "/healthz",
		landingURI: o + "/C/",
	}, nil
}

// loadClient is the load's client for one server: conns connections at
// most, no retries (a retry would be a second scan), timeout per request.
func loadClient(addr string, tls bool, conns int, timeout time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		IsTLS:                     tls,
		Name:                      "yima-bench",
		MaxConns:                  conns,
		MaxConnWaitTimeout:        timeout,
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxIdemponentCallAttempts: 1,
		MaxResponseBodySize:       16 << 20,
	}
}

func (t *HTTPTarget) Name() string { return t.name }

// SetGuideToken gives guide's coupon verifications the API token tok; call
// it in Prepare, before the load.
func (t *HTTPTarget) SetGuideToken(guide, tok string) { t.guideAuth[guide] = "Bearer " + tok }

// hasFloor reports whether the target answers the Floor kind.
func (t *HTTPTarget) hasFloor() bool { return t.floorURI != "" }

func (t *HTTPTarget) setFloorRecords(n int) { t.floorRecords = n }

func (t *HTTPTarget) Close() error {
	t.hc.CloseIdleConnections()
	if t.floorHC != nil {
		t.floorHC.CloseIdleConnections()
	}
	return nil
}

// Do sends one request.
func (t *HTTPTarget) Do(op *Op) Outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	switch {
	case op.Kind == Health:
		req.SetRequestURI(t.healthURI)
	case op.Kind == Landing:
		req.SetRequestURI(t.landingURI + op.Code)
	case op.Kind == Floor && t.floorURI != "":
		req.SetRequestURI(t.floorURI)
		if t.floorRecords > 1 {
			req.URI().QueryArgs().SetUint("records", t.floorRecords)
		}
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.AppendBodyString(`{"code":"`)
		req.AppendBodyString(op.Code)
		req.AppendBodyString(`","member":"`)
		req.AppendBodyString(op.Member)
		req.AppendBodyString(`"}`)
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
	case op.Kind == Verify:
		auth, ok := t.guideAuth[op.Guide]
		if !ok {
			return Outcome{Code: "no_guide_token", Err: fmt.Errorf("bench: %s has no token for guide %q", t.name, op.Guide)}
		}
		req.SetRequestURI(t.origin + "/v1/coupons/" + op.Coupon + "/verify")
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.Set("Authorization", auth)
	case op.Kind == Spend:
		req.SetRequestURI(t.origin + "/v1/members/" + url.PathEscape(op.Member) + "/spend")
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.Header.Set("Authorization", t.auth)
		req.AppendBodyString(`{"points":`)
		var nb [20]byte
		req.AppendBody(strconv.AppendInt(nb[:0], op.Points, 10))
		req.AppendBodyString(`,"reason":"bench","request_id":"`)
		req.AppendBodyString(op.RequestID)
		req.AppendBodyString(`"}`)
	default:
		return Outcome{Code: "unsupported", Err: fmt.Errorf("bench: %s does not do %v", t.name, op.Kind)}
	}
	hc := t.hc
	if op.Kind == Floor {
		hc = t.floorHC
	}
	if err := hc.Do(req, resp); err != nil {
		return Outcome{Code: errClass(err), Err: err}
	}
	return parseOutcome(op, resp.StatusCode(), resp.Body())
}

// parseOutcome reads what an answer means for the audit, from yima's JSON
// shapes (which the baselines' fronts share).
func parseOutcome(op *Op, status int, body []byte) Outcome {
	o := Outcome{Status: status}
	switch {
	case status >= 300:
		o.Code = errorCode(body)
	case status != fasthttp.StatusOK:
	case op.Kind.scans():
		o.Points = jsonInt(body, `"points":`)
		o.Coupon = jsonString(body, `"coupon":{"id":"`)
		o.Guide = jsonString(body, `"guide":"`)
		o.Commission = jsonInt(body, `"commission":`)
	case op.Kind == Verify:
		o.Commission = jsonInt(body, `"commission":`)
	case op.Kind == Spend:
		o.Points = op.Points
	}
	return o
}

// jsonString returns the string that follows key (which ends in its opening
// quote) in flat JSON without escapes, or "".
func jsonString(body []byte, key string) string { return string(jsonRaw(body, key)) }

// jsonRaw is jsonString without the copy: nil when key is absent.
func jsonRaw(body []byte, key string) []byte {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return nil
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
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
		"already_used", "expired", "coupon_void", "insufficient_points", "budget_exhausted",
		"daily_limit", "campaign_ended", "campaign_not_started", "unknown_guide", "already_bound",
	} {
		m[c] = c
	}
	return m
}()

// errorCode returns the code of a JSON error body
// {"error":{"code":"...",...}}, or "" if there is none.
func errorCode(body []byte) string {
	v := jsonRaw(body, `"code":"`)
	if c, ok := knownCodes[string(v)]; ok {
		return c
	}
	return string(v)
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

// get fetches path with an Authorization header (none when auth is "")
// and returns the status and body. Transport failures are retried a few
// times: the audit must not fail because one GET did.
func (t *HTTPTarget) get(ctx context.Context, path string, auth string) (int, []byte, error) {
	return t.getTimeout(ctx, path, auth, t.timeout)
}

func (t *HTTPTarget) getTimeout(ctx context.Context, path string, auth string, timeout time.Duration) (int, []byte, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		req.SetRequestURI(t.origin + path)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		err = t.hc.DoTimeout(req, resp, timeout)
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
func (t *HTTPTarget) CodeRedeemed(ctx context.Context, code string) (bool, error) {
	status, body, err := t.get(ctx, "/v1/codes/"+url.PathEscape(code), "")
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
func (t *HTTPTarget) Member(ctx context.Context, member string) (MemberState, error) {
	var ms MemberState
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/members/" + url.PathEscape(member) + "?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body, err := t.get(ctx, path, t.auth)
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
				Request string `json:"request_id"`
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
			switch {
			case e.Reason == "scan" && e.Account == "points" && e.Code != "":
				ms.Codes = append(ms.Codes, e.Code)
			case strings.HasPrefix(e.Reason, "spend") && e.Account == "points" && e.Request != "":
				ms.Spends = append(ms.Spends, e.Request)
			}
		}
		if v.Next == "" || v.Next == cursor {
			return ms, nil
		}
		cursor = v.Next
	}
}

// getJSON fetches path with auth into v. A 404 not_found reports found
// false.
func (t *HTTPTarget) getJSON(ctx context.Context, path, auth string, v any) (found bool, err error) {
	status, body, err := t.get(ctx, path, auth)
	if err != nil {
		return false, err
	}
	if status == fasthttp.StatusNotFound && errorCode(body) == "not_found" {
		return false, nil
	}
	if status != fasthttp.StatusOK {
		return false, fmt.Errorf("bench: GET %s answered %d: %s", path, status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("bench: GET %s: %w", path, err)
	}
	return true, nil
}

// Campaign reads GET /v1/campaigns/{id}: its counters.
func (t *HTTPTarget) Campaign(ctx context.Context, id string) (CampaignState, error) {
	var v struct {
		Counters struct {
			PointsPaid    int64 `json:"points_paid"`
			CouponsIssued int64 `json:"coupons_issued"`
			CouponsUsed   int64 `json:"coupons_used"`
			Commission    int64 `json:"commission"`
			RewardedScans int64 `json:"rewarded_scans"`
		} `json:"counters"`
	}
	found, err := t.getJSON(ctx, "/v1/campaigns/"+url.PathEscape(id), t.adminAuth, &v)
	c := v.Counters
	return CampaignState{Found: found, PointsPaid: c.PointsPaid, CouponsIssued: c.CouponsIssued,
		CouponsUsed: c.CouponsUsed, Commission: c.Commission, RewardedScans: c.RewardedScans}, err
}

// Guide reads GET /v1/guides/{id}: commission and verifications.
func (t *HTTPTarget) Guide(ctx context.Context, id string) (GuideState, error) {
	var v struct {
		Commission int64 `json:"commission"`
		Verified   int64 `json:"verified"`
	}
	found, err := t.getJSON(ctx, "/v1/guides/"+url.PathEscape(id)+"?limit=1", t.adminAuth, &v)
	return GuideState{Found: found, Commission: v.Commission, Verified: v.Verified}, err
}

// Coupon reads GET /v1/coupons/{id} (public: the id is the secret).
func (t *HTTPTarget) Coupon(ctx context.Context, id string) (CouponState, error) {
	var v struct {
		Status string `json:"status"`
	}
	found, err := t.getJSON(ctx, "/v1/coupons/"+url.PathEscape(id), "", &v)
	return CouponState{Found: found, Status: v.Status}, err
}

// ServerAudit runs GET /v1/audit, yima's own audit over a snapshot of the
// whole store; it may take a while on a large one.
func (t *HTTPTarget) ServerAudit(ctx context.Context) ([]string, error) {
	// The load's client gives up reading after --timeout, which a large
	// store's audit can take by itself: this one request gets a client of
	// its own that waits.
	wait := max(t.timeout, 10*time.Minute)
	hc := &fasthttp.HostClient{
		Addr: t.hc.Addr, IsTLS: t.hc.IsTLS, Name: t.hc.Name,
		ReadTimeout: wait, WriteTimeout: t.timeout, MaxResponseBodySize: 16 << 20,
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.origin + "/v1/audit")
	req.Header.Set("Authorization", t.adminAuth)
	if err := hc.DoTimeout(req, resp, wait); err != nil {
		return nil, fmt.Errorf("bench: GET /v1/audit: %w", err)
	}
	status, body := resp.StatusCode(), resp.Body()
	if status != fasthttp.StatusOK {
		return nil, fmt.Errorf("bench: GET /v1/audit answered %d: %s", status, strings.TrimSpace(string(body)))
	}
	var v struct {
		Violations *[]string `json:"violations"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Violations == nil {
		return nil, fmt.Errorf("bench: GET /v1/audit: no violations list in %.200q (%v)", body, err)
	}
	return *v.Violations, nil
}

// post sends a JSON body to path with auth and returns the status and the
// body.
func (t *HTTPTarget) post(ctx context.Context, path, auth string, body []byte) (int, []byte, error) {
	if ctx.Err() != nil {
		return 0, nil, ctx.Err()
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.origin + path)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", auth)
	req.SetBody(body)
	if err := t.hc.DoTimeout(req, resp, t.timeout); err != nil {
		return 0, nil, fmt.Errorf("bench: POST %s: %w", path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// bind binds the setup's members to their guides through POST
// /v1/members/{m}/guide, conns at a time.
func (t *HTTPTarget) bind(ctx context.Context, bs []Binding, conns int) error {
	var mu sync.Mutex
	var first error
	parallel(ctx, len(bs), conns, func(i int) {
		b := bs[i]
		body, _ := json.Marshal(map[string]string{"guide": b.Guide})
		status, out, err := t.post(ctx, "/v1/members/"+url.PathEscape(b.Member)+"/guide", t.auth, body)
		if err == nil && status != fasthttp.StatusOK {
			err = fmt.Errorf("bench: binding member %s to guide %s answered %d: %s", b.Member, b.Guide, status, strings.TrimSpace(string(out)))
		}
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	})
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// metrics fetches and parses /metrics.
func (t *HTTPTarget) metrics(ctx context.Context) (Stats, error) {
	status, body, err := t.get(ctx, "/metrics", t.adminAuth)
	if err != nil {
		return UnknownStats(), err
	}
	if status != fasthttp.StatusOK {
		return UnknownStats(), fmt.Errorf("bench: GET /metrics answered %d", status)
	}
	return parseMetrics(bytes.NewReader(body))
}

// remote is a yima server that runs elsewhere, reached by URL.
type remote struct {
	*HTTPTarget
	token string
}

// Stats reads the server's own process_cpu_seconds_total and commit group
// histogram.
func (r *remote) Stats(ctx context.Context) (Stats, error) { return r.metrics(ctx) }
