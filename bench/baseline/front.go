package baseline

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	crand "crypto/rand"

	"github.com/segmentio/ksuid"
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/bench"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
)

// rules is a campaign as the front applies it.
type rules struct {
	fixed      bool  // no campaign: every scan pays points
	points     int64 // fixed points
	campaign   string
	seed       string
	min, max   int64
	bonus      int64
	budget     int64 // 0: unlimited
	couponP    float64
	stock      int64
	title      string
	validDays  int
	perScan    int64
	perCoupon  int64
	tiers      []reward.Tier
	tierString string // "min:mult;..." for the Lua script
}

func newRules(s *bench.Setup) *rules {
	c := s.Campaign
	if c == nil {
		return &rules{fixed: true, points: s.Points}
	}
	var seed [16]byte
	crand.Read(seed[:])
	r := &rules{campaign: c.ID, seed: hex.EncodeToString(seed[:]), min: c.Points.Min, max: c.Points.Max,
		bonus: c.NewMemberBonus, budget: c.PointsBudget, perScan: c.GuideCommission.PerScan,
		perCoupon: c.GuideCommission.PerCoupon, tiers: c.Tiers}
	if c.Coupon != nil {
		r.couponP, r.stock, r.title, r.validDays = c.Coupon.Probability, c.Coupon.Stock, c.Coupon.Title, c.Coupon.ValidDays
	}
	var b strings.Builder
	for _, t := range c.Tiers {
		fmt.Fprintf(&b, "%d:%g;", t.MinGrowth, t.Multiplier)
	}
	r.tierString = b.String()
	return r
}

// draw is reward's, so the baselines pay exactly what yima would.
func (r *rules) draw(purpose, code string) float64 { return reward.Draw(r.seed, purpose, code) }

// base is a scan's points before the tier multiplier.
func (r *rules) base(code string) int64 {
	if r.fixed {
		return r.points
	}
	return r.min + int64(r.draw("points", code)*float64(r.max-r.min+1))
}

// multiplier is the tier multiplier for growth.
func (r *rules) multiplier(growth int64) float64 {
	m := 1.0
	for _, t := range r.tiers {
		if growth >= t.MinGrowth {
			m = t.Multiplier
		}
	}
	return m
}

// scanReq is one scan decision the front asks of its backend: the points
// and coupon draws are made, the rest is state.
type scanReq struct {
	code, member string
	base         int64
	coupon       string // the id of the coupon to issue if stock allows; "" when the draw said none
}

type scanAns struct {
	points, balance int64
	coupon, guide   string
	commission      int64
}

type verifyAns struct {
	member, code string
	commission   int64
}

// refusal is a definite answer other than 200.
type refusal struct {
	status  int
	code    string
	message string
}

func (r *refusal) Error() string { return r.code + ": " + r.message }

var (
	errAlreadyRedeemed = &refusal{409, "already_redeemed", "this code was already redeemed"}
	errBudget          = &refusal{403, "budget_exhausted", "this promotion's points budget is used up; the code was not used"}
	errAlreadyUsed     = &refusal{409, "already_used", "this coupon was already used"}
	errNoCoupon        = &refusal{404, "not_found", "no such coupon"}
	errNoPoints        = &refusal{404, "not_found", "member has no points yet"}
	errInsufficient    = &refusal{409, "insufficient_points", "not enough points; nothing was taken"}
)

// backend decides and stores, each call one atomic step.
type backend interface {
	// describe names the backend and its durability settings.
	describe() string
	setup(ctx context.Context, s *bench.Setup, r *rules) error
	scan(ctx context.Context, r *rules, q *scanReq) (scanAns, error)
	verify(ctx context.Context, r *rules, coupon, guide string) (verifyAns, error)
	spend(ctx context.Context, member string, points int64, requestID string) (int64, error)
	// cpuSeconds is the CPU time the backend's processes have used.
	cpuSeconds() float64
	bench.Checker
	close() error
}

// front is a baseline's HTTP service and the Target that drives it.
type front struct {
	*bench.HTTPTarget
	be      backend
	rules   *rules
	keys    *codegen.Keyset
	batch   uint32
	count   uint32
	srv     *fasthttp.Server
	ln      net.Listener
	app     string            // the app token
	guides  map[string]string // token → guide id, set by Prepare
	timeout time.Duration
	wg      sync.WaitGroup

	errMu  sync.Mutex
	errs   []string // the first backend failures, for the report
	errCnt int
}

func newFront(be backend, conns int, timeout time.Duration) (*front, error) {
	ks, err := codegen.NewKeyset(time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listening for the baseline's front: %w", err)
	}
	f := &front{be: be, keys: ks, batch: 1, ln: ln, app: reward.NewSecret(), guides: map[string]string{}, timeout: timeout}
	f.srv = &fasthttp.Server{Handler: f.handle, Name: "bench-front", ReadTimeout: time.Minute, IdleTimeout: time.Minute,
		NoDefaultDate: true, NoDefaultContentType: true}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.srv.Serve(ln)
	}()
	origin := "http://" + ln.Addr().String()
	f.HTTPTarget, err = bench.NewHTTPTarget(be.describe()+" behind an HTTP front on "+ln.Addr().String(), origin, f.app, conns, timeout)
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Prepare hands the campaign, guides and bindings to the backend, gives each
// guide a token, and makes the codes: serials 1..n of batch 1 under the
// front's own key, all active.
func (f *front) Prepare(ctx context.Context, s *bench.Setup) (bench.Codes, error) {
	if s.Codes < 1 || s.Codes > codegen.MaxSerial {
		return nil, fmt.Errorf("bench: cannot mint %d codes in one batch (1..%d)", s.Codes, codegen.MaxSerial)
	}
	f.rules = newRules(s)
	if err := f.be.setup(ctx, s, f.rules); err != nil {
		return nil, err
	}
	for _, g := range s.Guides {
		tok := reward.NewSecret()
		f.guides[tok] = g
		f.SetGuideToken(g, tok)
	}
	f.count = uint32(s.Codes)
	return bench.SignerCodes(s.Codes, func() (*codegen.Signer, error) { return f.keys.Signer(f.keys.Primary, f.batch) })
}

// Stats adds the backend's CPU to this process's (front and load
// generator).
func (f *front) Stats(context.Context) (bench.Stats, error) {
	st := bench.UnknownStats()
	st.CPUSeconds = bench.ProcessCPU() + f.be.cpuSeconds()
	st.CPUIncludesClient = true
	return st, nil
}

func (f *front) CodeRedeemed(ctx context.Context, code string) (bool, error) {
	return f.be.CodeRedeemed(ctx, code)
}
func (f *front) Member(ctx context.Context, m string) (bench.MemberState, error) {
	return f.be.Member(ctx, m)
}
func (f *front) Campaign(ctx context.Context, id string) (bench.CampaignState, error) {
	return f.be.Campaign(ctx, id)
}
func (f *front) Guide(ctx context.Context, id string) (bench.GuideState, error) {
	return f.be.Guide(ctx, id)
}
func (f *front) Coupon(ctx context.Context, id string) (bench.CouponState, error) {
	return f.be.Coupon(ctx, id)
}
func (f *front) ServerAudit(ctx context.Context) ([]string, error) { return f.be.ServerAudit(ctx) }

func (f *front) Close() error {
	if f.HTTPTarget != nil {
		f.HTTPTarget.Close()
	}
	f.srv.Shutdown()
	f.ln.Close()
	f.wg.Wait()
	return f.be.close()
}

// handle serves the routes the load uses, in yima's shapes.
func (f *front) handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	post := ctx.IsPost()
	switch {
	case string(path) == "/healthz":
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ok"}` + "\n")
	case post && string(path) == "/v1/scans":
		if f.caller(ctx) != "app" {
			return
		}
		f.postScan(ctx)
	case post && bytes.HasPrefix(path, []byte("/v1/coupons/")) && bytes.HasSuffix(path, []byte("/verify")):
		guide := f.caller(ctx)
		if guide == "" {
			return
		}
		if guide == "app" {
			frontError(ctx, 403, "forbidden", "a guide token verifies coupons")
			return
		}
		id := string(path[len("/v1/coupons/") : len(path)-len("/verify")])
		f.postVerify(ctx, id, guide)
	case post && bytes.HasPrefix(path, []byte("/v1/members/")) && bytes.HasSuffix(path, []byte("/spend")):
		if f.caller(ctx) != "app" {
			return
		}
		member := string(path[len("/v1/members/") : len(path)-len("/spend")])
		f.postSpend(ctx, member)
	default:
		frontError(ctx, 404, "route_not_found", "this front serves POST /v1/scans, /v1/coupons/{id}/verify, /v1/members/{m}/spend and GET /healthz")
	}
}

// caller returns "app" for the app token, a guide's id for a guide token,
// or "" after answering 401.
func (f *front) caller(ctx *fasthttp.RequestCtx) string {
	tok, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer "))
	switch {
	case ok && string(tok) == f.app:
		return "app"
	case ok:
		if g, found := f.guides[string(tok)]; found {
			return g
		}
	}
	frontError(ctx, 401, "unauthorized", "send Authorization: Bearer TOKEN")
	return ""
}

// decode reads a JSON body into v as yima does: unknown fields refused.
func decodeBody(ctx *fasthttp.RequestCtx, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		frontError(ctx, 400, "invalid_json", "the body is not the JSON this endpoint takes: "+err.Error())
		return false
	}
	return true
}

func (f *front) postScan(ctx *fasthttp.RequestCtx) {
	var req reward.ScanRequest
	if !decodeBody(ctx, &req) {
		return
	}
	if req.Member == "" || req.Code == "" {
		frontError(ctx, 400, "invalid_request", `"code" and "member" are required`)
		return
	}
	p, err := f.keys.Verify(req.Code)
	if err != nil {
		frontError(ctx, 400, "invalid_code", "not a genuine code: "+err.Error())
		return
	}
	if p.Batch != f.batch || p.Serial > f.count {
		frontError(ctx, 404, "unknown_batch", "the code is genuine but its batch is not known here")
		return
	}
	code := p.String()
	q := scanReq{code: code, member: req.Member, base: f.rules.base(code)}
	if !f.rules.fixed && f.rules.couponP > 0 && f.rules.draw("coupon", code) < f.rules.couponP {
		q.coupon = ksuid.New().String()
	}
	bctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	ans, err := f.be.scan(bctx, f.rules, &q)
	cancel()
	if err != nil {
		f.fail(ctx, err)
		return
	}
	now := time.Now().UTC()
	res := reward.ScanResult{Result: "redeemed", Code: code, Member: req.Member, Product: bench.Product, Batch: p.Batch, Serial: p.Serial,
		Points: ans.points, Balance: ans.balance, Campaign: f.rules.campaign, Guide: ans.guide, Commission: ans.commission, RedeemedAt: now}
	if ans.coupon != "" {
		res.Coupon = &reward.CouponSummary{ID: ans.coupon, Title: f.rules.title, ExpiresAt: now.AddDate(0, 0, f.rules.validDays)}
	} else if q.coupon != "" {
		res.Notes = append(res.Notes, reward.NoteCouponStockExhausted)
	}
	frontJSON(ctx, 200, res)
}

func (f *front) postVerify(ctx *fasthttp.RequestCtx, id, guide string) {
	if id == "" || strings.ContainsRune(id, '/') {
		frontError(ctx, 404, "not_found", "no such coupon")
		return
	}
	bctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	ans, err := f.be.verify(bctx, f.rules, id, guide)
	cancel()
	if err != nil {
		f.fail(ctx, err)
		return
	}
	c := reward.Coupon{ID: id, Campaign: f.rules.campaign, Title: f.rules.title, Member: ans.member, Code: ans.code,
		Status: reward.CouponUsed, UsedAt: time.Now().UTC(), UsedBy: guide, Commission: ans.commission}
	frontJSON(ctx, 200, map[string]any{"result": "verified", "coupon": c})
}

func (f *front) postSpend(ctx *fasthttp.RequestCtx, member string) {
	var req reward.SpendRequest
	if !decodeBody(ctx, &req) {
		return
	}
	if req.Points <= 0 || req.RequestID == "" || member == "" {
		frontError(ctx, 400, "invalid_request", "points must be positive, request_id is required")
		return
	}
	bctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	bal, err := f.be.spend(bctx, member, req.Points, req.RequestID)
	cancel()
	if err != nil {
		f.fail(ctx, err)
		return
	}
	frontJSON(ctx, 200, reward.SpendResult{Result: "spent", Member: member, Points: req.Points, Balance: bal, At: time.Now().UTC(), RequestID: req.RequestID})
}

func frontJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		frontError(ctx, 500, "internal", err.Error())
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(raw)
	ctx.Response.AppendBodyString("\n")
}

func frontError(ctx *fasthttp.RequestCtx, status int, code, message string) {
	raw, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(raw)
}

// fail answers a refusal as such and anything else as 503 (the client
// cannot know whether the backend acted), keeping the first failures for
// the report.
func (f *front) fail(ctx *fasthttp.RequestCtx, err error) {
	var r *refusal
	if errors.As(err, &r) {
		frontError(ctx, r.status, r.code, r.message)
		return
	}
	f.errMu.Lock()
	f.errCnt++
	if len(f.errs) < 3 && !slices.Contains(f.errs, err.Error()) {
		f.errs = append(f.errs, err.Error())
	}
	f.errMu.Unlock()
	frontError(ctx, 503, "unavailable", err.Error())
}

// Failures describes the backend failures the front answered 503 for.
func (f *front) Failures() []string {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	if f.errCnt == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("the backend failed %d requests (answered 503)", f.errCnt)}
	for _, e := range f.errs {
		out = append(out, "backend failure: "+e)
	}
	return out
}

// tierPoints is base × the tier multiplier, rounded as reward rounds it.
func tierPoints(base int64, mult float64) int64 { return int64(math.Round(float64(base) * mult)) }
