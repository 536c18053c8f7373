package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/docs"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

// caller is who made a request.
type caller struct {
	role    string
	subject string // guide id for guide tokens
	// id is the token's id, which scopes its request_ids; empty for the
	// admin token.
	id string
}

// owner is the caller as a batch's owner: a factory token with its
// factory, or the brand for every other role that reaches batches.
func (c caller) owner() reward.Owner {
	if c.role == reward.RoleFactory {
		return reward.Owner{Token: c.id, Factory: c.subject}
	}
	return reward.Owner{}
}

// print is a printing action by the caller, for the print log.
func (c caller) print(action string) reward.Print {
	p := reward.Print{Token: c.id, Role: c.role, Action: action}
	if c.role == reward.RoleFactory {
		p.Factory = c.subject
	}
	return p
}

// route is one endpoint: its method, who may call it (nil: anyone) and what
// it does with the rest of the path.
type route struct {
	method string
	roles  []string
	// loopbackOpen lets a caller on this machine in without a token: the
	// design's contract has /metrics open to a local scraper, while a
	// caller from the network (a trusted proxy's client included, see
	// clientIP) still needs one of roles.
	loopbackOpen bool
	fn           handler
}

// routes maps a path prefix to its endpoints. A prefix ending in "/" takes
// the rest of the path as its argument. The landing page answers on /C/ as
// well as /c/: printed URLs are upper case (HTTPS://HOST/C/CODE) to keep
// the QR in alphanumeric mode, and a path is case-sensitive.
var routes = map[string][]route{
	"/v1/scans":               {{method: "POST", roles: adminApp, fn: (*Server).postScan}},
	"/v1/codes/":              {{method: "GET", fn: (*Server).getCode}},
	"/v1/members/":            {{method: "GET", roles: adminApp, fn: (*Server).getMember}, {method: "POST", fn: (*Server).postMember}},
	"/v1/rewards":             {{method: "GET", fn: (*Server).listRewards}},
	"/v1/rewards/":            {{method: "GET", fn: byID((*reward.Engine).RewardByID)}, {method: "PUT", roles: adminOnly, fn: (*Server).putReward}, {method: "POST", roles: adminOnly, fn: (*Server).postRewardAction}},
	"/v1/exchanges":           {{method: "GET", roles: adminOnly, fn: (*Server).listExchanges}},
	"/v1/exchanges/":          {{method: "GET", roles: adminApp, fn: byID((*reward.Engine).ExchangeByID)}, {method: "POST", roles: adminOnly, fn: (*Server).postExchangeAction}},
	"/v1/orders":              {{method: "POST", roles: adminApp, fn: (*Server).postOrder}},
	"/v1/orders/":             {{method: "GET", roles: adminApp, fn: byID((*reward.Engine).OrderByID)}, {method: "POST", roles: adminApp, fn: (*Server).postOrderAction}},
	"/v1/campaigns":           {{method: "GET", roles: adminOnly, fn: listing("campaigns", (*reward.Engine).CampaignPage)}},
	"/v1/campaigns/":          {{method: "GET", roles: adminOnly, fn: byID((*reward.Engine).Campaign)}, {method: "PUT", roles: adminOnly, fn: (*Server).putCampaign}},
	"/v1/guides":              {{method: "POST", roles: adminOnly, fn: (*Server).postGuide}},
	"/v1/guides/":             {{method: "GET", roles: adminGuide, fn: (*Server).getGuide}, {method: "POST", roles: adminOnly, fn: (*Server).postGuideAction}},
	"/v1/coupons/":            {{method: "GET", fn: (*Server).getCoupon}, {method: "POST", roles: adminGuide, fn: (*Server).postCoupon}},
	"/v1/redemptions/":        {{method: "POST", roles: adminOnly, fn: (*Server).postRedemption}},
	"/v1/settlements":         {{method: "POST", roles: adminOnly, fn: (*Server).postSettlement}},
	"/v1/settlements/":        {{method: "GET", roles: adminOnly, fn: (*Server).getSettlement}},
	"/v1/stats":               {{method: "GET", roles: adminOnly, fn: (*Server).getStats}},
	"/v1/flags":               {{method: "GET", roles: adminOnly, fn: (*Server).getFlags}},
	"/v1/audit":               {{method: "GET", roles: adminOnly, fn: (*Server).getAudit}},
	"/v1/points/expire":       {{method: "POST", roles: adminOnly, fn: (*Server).postExpire}},
	"/v1/events":              {{method: "GET", roles: adminApp, fn: (*Server).getEvents}},
	"/v1/events/":             {{method: "GET", roles: adminOnly, fn: (*Server).getEventsAction}},
	"/v1/export/":             {{method: "GET", roles: adminOnly, fn: (*Server).getExport}},
	"/v1/prints":              {{method: "GET", roles: adminOnly, fn: (*Server).listPrints}},
	"/v1/webhooks":            {{method: "GET", roles: adminOnly, fn: (*Server).listWebhooks}, {method: "POST", roles: adminOnly, fn: (*Server).postWebhook}},
	"/v1/webhooks/":           {{method: "GET", roles: adminOnly, fn: (*Server).getWebhook}, {method: "POST", roles: adminOnly, fn: (*Server).postWebhookAction}, {method: "DELETE", roles: adminOnly, fn: (*Server).deleteWebhook}},
	"/v1/batches":             {{method: "GET", roles: adminFactory, fn: (*Server).listBatches}, {method: "POST", roles: adminFactory, fn: (*Server).postBatch}},
	"/v1/batches/":            {{method: "GET", roles: adminFactory, fn: (*Server).getBatch}, {method: "POST", roles: adminFactory, fn: (*Server).postBatchAction}, {method: "DELETE", roles: adminFactory, fn: (*Server).deleteBatch}},
	"/v1/tokens":              {{method: "GET", roles: adminOnly, fn: listing("tokens", (*reward.Engine).TokenPage)}, {method: "POST", roles: adminOnly, fn: (*Server).postToken}},
	"/v1/tokens/":             {{method: "DELETE", roles: adminOnly, fn: (*Server).deleteToken}},
	"/v1/backups":             {{method: "POST", roles: adminOnly, fn: (*Server).postBackup}},
	"/v1/brand":               {{method: "GET", roles: adminFactory, fn: (*Server).getBrand}, {method: "PUT", roles: adminOnly, fn: (*Server).putBrand}},
	"/v1/products":            {{method: "GET", roles: adminFactory, fn: (*Server).listProducts}},
	"/v1/stores":              {{method: "GET", roles: adminOnly, fn: listing("stores", (*reward.Engine).StorePage)}},
	"/v1/stores/":             {{method: "GET", roles: adminManager, fn: (*Server).getStore}, {method: "PUT", roles: adminOnly, fn: (*Server).putStore}, {method: "POST", roles: adminManager, fn: (*Server).postStoreAction}},
	"/v1/products/":           {{method: "GET", roles: adminFactory, fn: byID((*reward.Engine).Product)}, {method: "PUT", roles: adminOnly, fn: (*Server).putProduct}},
	"/c/":                     {{method: "GET", fn: htmlErrors((*Server).landing)}, {method: "POST", fn: htmlErrors((*Server).landing)}},
	"/C/":                     {{method: "GET", fn: htmlErrors((*Server).landing)}, {method: "POST", fn: htmlErrors((*Server).landing)}},
	"/g/":                     {{method: "GET", fn: htmlErrors((*Server).guidePage)}, {method: "POST", fn: htmlErrors((*Server).guidePage)}},
	"/G/":                     {{method: "GET", fn: htmlErrors((*Server).guidePage)}, {method: "POST", fn: htmlErrors((*Server).guidePage)}},
	"/v/":                     {{method: "GET", fn: htmlErrors((*Server).counterPage)}, {method: "POST", fn: htmlErrors((*Server).counterPage)}},
	"/V/":                     {{method: "GET", fn: htmlErrors((*Server).counterPage)}, {method: "POST", fn: htmlErrors((*Server).counterPage)}},
	"/admin":                  {{method: "GET", fn: htmlErrors((*Server).dashboard)}, {method: "POST", fn: htmlErrors((*Server).dashboard)}},
	"/signin":                 {{method: "GET", fn: htmlErrors((*Server).signinPage)}, {method: "POST", fn: htmlErrors((*Server).signinPage)}},
	"/signin/wechat":          {{method: "GET", fn: htmlErrors((*Server).wechatStart)}},
	"/signin/wechat/callback": {{method: "GET", fn: htmlErrors((*Server).wechatCallback)}},
	"/signout":                {{method: "POST", fn: htmlErrors((*Server).signout)}},
	"/me":                     {{method: "GET", fn: htmlErrors((*Server).mePage)}},
	"/me/mall":                {{method: "GET", fn: htmlErrors((*Server).mallPage)}, {method: "POST", fn: htmlErrors((*Server).mallPage)}},
	"/E/":                     {{method: "GET", fn: htmlErrors((*Server).enrolPage)}, {method: "POST", fn: htmlErrors((*Server).enrolPage)}},
	"/e/":                     {{method: "GET", fn: htmlErrors((*Server).enrolPage)}, {method: "POST", fn: htmlErrors((*Server).enrolPage)}},
	"/store/":                 {{method: "GET", fn: htmlErrors((*Server).storePage)}, {method: "POST", fn: htmlErrors((*Server).storePage)}},
	"/guide":                  {{method: "GET", fn: htmlErrors((*Server).guideDesk)}, {method: "POST", fn: htmlErrors((*Server).guideDesk)}},
	"/guide/qr.svg":           {{method: "GET", fn: (*Server).guideQR}},
	"/guide.js":               {{method: "GET", fn: (*Server).guideScript}},
	"/v1/me":                  {{method: "GET", fn: (*Server).getMe}},
	"/healthz":                {{method: "GET", fn: (*Server).healthz}},
	"/metrics":                {{method: "GET", roles: adminMetrics, loopbackOpen: true, fn: (*Server).metricsHandler}},
	"/favicon.ico":            {{method: "GET", fn: func(*Server, *fasthttp.RequestCtx, caller, string) error { return errorf(codeRouteNotFound, "no icon") }}},
	"/openapi.yaml":           {{method: "GET", fn: (*Server).openapi}},
}

var adminFactory = []string{reward.RoleAdmin, reward.RoleFactory}

// adminManager may read a store and decide its enrolments: a manager
// token only its own store's (storeScope).
var adminManager = []string{reward.RoleAdmin, reward.RoleManager}

// adminMetrics may read /metrics, which shows business volumes (scans,
// payouts): a scraper elsewhere gets a metrics token (yima token create
// --role metrics). A scraper on the machine itself needs none (see
// route.loopbackOpen).
var adminMetrics = []string{reward.RoleAdmin, reward.RoleMetrics}

// exactRoutes are pages at paths that routes would read as prefixes: the
// site's root, and the landing page's prefixes opened without a code. A
// phone gets a page there, not JSON.
var exactRoutes = map[string][]route{
	"/":   {{method: "GET", fn: htmlErrors((*Server).home)}},
	"/c/": {{method: "GET", fn: htmlErrors((*Server).noCode)}},
	"/C/": {{method: "GET", fn: htmlErrors((*Server).noCode)}},
}

// prefixes are the routes that take the rest of the path as an argument.
var prefixes = func() (ps []string) {
	for p := range routes {
		if strings.HasSuffix(p, "/") {
			ps = append(ps, p)
		}
	}
	return ps
}()

// patterns interns the routes' patterns, so that a request for one is
// named by it without a copy of the request's path.
var patterns = func() map[string]string {
	m := map[string]string{}
	for p := range routes {
		m[p] = p
	}
	for p := range exactRoutes {
		m[p] = p
	}
	return m
}()

// lookup finds the endpoints for path, the route's pattern and the path's
// argument. Only an argument is copied out of path.
func lookup(path []byte) ([]route, string, string) {
	if p, ok := patterns[string(path)]; ok {
		if rs, ok := exactRoutes[p]; ok {
			return rs, p, ""
		}
		// A prefix route needs its argument: "/v1/codes/" alone is no
		// route.
		if !strings.HasSuffix(p, "/") {
			return routes[p], p, ""
		}
	}
	for _, p := range prefixes {
		if len(path) > len(p) && string(path[:len(p)]) == p {
			return routes[p], p, string(path[len(p):])
		}
	}
	return nil, "", ""
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	s.m.inflight.Inc()
	s.setRequestID(ctx)
	// No answer is to be read as another type than it says.
	ctx.Response.Header.SetCanonical(nosniffKey, nosniff)
	rs, prefix, arg := lookup(ctx.Path())
	label := prefix
	if label == "" {
		label = unknownRoute
	}
	err := s.limitAddress(ctx, prefix)
	if err == nil {
		err = s.dispatch(ctx, rs, arg)
	}
	if err != nil {
		setRetryAfter(ctx, err)
		if pageRoutes[prefix] && (ctx.IsGet() || ctx.IsPost()) {
			err = htmlErrors(func(*Server, *fasthttp.RequestCtx, caller, string) error { return err })(s, ctx, caller{}, "")
		}
		if err != nil {
			writeError(ctx, s.public(ctx, err))
		}
	}
	s.m.inflight.Dec()
	took := time.Since(start)
	s.m.observeLatency(label, took)
	if s.opts.AccessLog {
		s.logAccess(ctx, label, took)
	}
}

var nosniffKey, nosniff = []byte("X-Content-Type-Options"), []byte("nosniff")

func (s *Server) dispatch(ctx *fasthttp.RequestCtx, rs []route, arg string) error {
	if rs == nil {
		return errorf(codeRouteNotFound, "no such endpoint %s %s; see /openapi.yaml", ctx.Method(), ctx.Path())
	}
	method := ctx.Method() // compared without a copy
	for _, r := range rs {
		if string(method) != r.method && !(string(method) == "HEAD" && r.method == "GET") {
			continue
		}
		if r.loopbackOpen && len(ctx.Request.Header.Peek("Authorization")) == 0 && s.clientIP(ctx).IsLoopback() {
			return r.fn(s, ctx, caller{}, arg)
		}
		who, err := s.authenticate(ctx, r.roles)
		if err != nil {
			return err
		}
		return r.fn(s, ctx, who, arg)
	}
	var allowed []string
	for _, r := range rs {
		allowed = append(allowed, r.method)
		if r.method == "GET" {
			allowed = append(allowed, "HEAD") // served as GET without a body
		}
	}
	ctx.Response.Header.Set("Allow", strings.Join(allowed, ", "))
	return errorf(codeMethodNotAllowed, "%s is not allowed here; use %s", method, strings.Join(allowed, " or "))
}

// authenticate checks the bearer token against roles; nil roles is public.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx, roles []string) (caller, error) {
	if roles == nil {
		return caller{}, nil
	}
	h := ctx.Request.Header.Peek("Authorization")
	tok, ok := bytes.CutPrefix(h, []byte("Bearer "))
	if !ok || len(tok) == 0 {
		return caller{}, errorf(codeUnauthorized, "send Authorization: Bearer TOKEN (yima token create makes one)")
	}
	who, err := s.callerOf(tok)
	if err != nil {
		return caller{}, err
	}
	for _, r := range roles {
		if r == who.role {
			return who, nil
		}
	}
	return caller{}, errorf(codeForbidden, "a %s token may not call this endpoint; it needs one of: %s", who.role, strings.Join(roles, ", "))
}

func (s *Server) caller(tok string) (caller, error) {
	if tok == "" {
		return caller{}, errorf(codeUnauthorized, "send Authorization: Bearer TOKEN (yima token create makes one)")
	}
	return s.callerOf([]byte(tok))
}

// callerOf is caller for a token in a request's bytes (not empty): the
// admin token and the tokens already known are recognised there, with no
// copy; only a token read from the store for the first time is copied.
func (s *Server) callerOf(tok []byte) (caller, error) {
	if s.isAdminBytes(tok) {
		return caller{role: reward.RoleAdmin}, nil
	}
	if s.opts.SharedStore {
		return s.readToken(string(tok))
	}
	if c, ok := s.tokens.get(tok); ok {
		return c, nil
	}
	return s.readToken(string(tok))
}

// readToken reads a token other than the admin token from the store.
func (s *Server) readToken(tok string) (caller, error) {
	t, err := s.app.Engine.Token(tok)
	if err != nil {
		return caller{}, err
	}
	if t == nil {
		return caller{}, errorf(codeUnauthorized, "unknown token; ask the brand operator for one (yima token create)")
	}
	c := caller{role: t.Role, subject: t.Subject, id: reward.TokenID(tok)}
	if t.Role == reward.RoleAdmin {
		// An admin token record acts as the brand, as admin.token does:
		// it owns every batch and scopes no requests of its own.
		c.id = ""
	}
	if !s.opts.SharedStore {
		s.tokens.put(tok, c)
	}
	return c, nil
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	writeRaw(ctx, status, raw)
	return nil
}

func writeRaw(ctx *fasthttp.RequestCtx, status int, raw []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(raw)
	ctx.Response.AppendBodyString("\n")
}

func (s *Server) postScan(ctx *fasthttp.RequestCtx, who caller, _ string) error {
	var req reward.ScanRequest
	if err := decodeScan(ctx, &req); err != nil {
		return err
	}
	req.Scope = who.id
	if who.role != reward.RoleAdmin {
		if err := s.limitScanner(req); err != nil {
			return err
		}
	}
	out, err := s.app.Engine.Scan(req)
	if err != nil {
		s.m.refused(err)
		if who.role != reward.RoleAdmin && reward.ErrorCode(err) == reward.CodeInvalidCode {
			s.scannerForged(req)
		}
		return err
	}
	writeRaw(ctx, fasthttp.StatusOK, out)
	return nil
}

func (s *Server) getCode(ctx *fasthttp.RequestCtx, _ caller, code string) error {
	st, err := s.app.Engine.Status(code)
	if err != nil {
		return err
	}
	s.noteForged(ctx, st)
	return writeJSON(ctx, fasthttp.StatusOK, st)
}

// pageLimit reads a listing's limit: absent is the default page, and
// anything but a whole number from 1 to reward.MaxPage is refused rather
// than read as some other number.
func pageLimit(args *fasthttp.Args) (int, error) {
	v := args.Peek("limit")
	if len(v) == 0 {
		return 0, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 || n > reward.MaxPage {
		return 0, errorf(reward.CodeInvalidRequest, "limit %q: give a whole number from 1 to %d, or leave it out for %d", v, reward.MaxPage, reward.DefaultPage)
	}
	return n, nil
}

// onlyParams refuses a query parameter other than names: a misspelt
// parameter ("limt") would otherwise be ignored and the caller would read
// an answer to another question.
func onlyParams(args *fasthttp.Args, names ...string) error {
	for k := range args.All() {
		if !slices.Contains(names, string(k)) {
			return errorf(reward.CodeInvalidRequest, "unknown query parameter %q; this endpoint takes %s", string(k), strings.Join(names, ", "))
		}
	}
	return nil
}

// listPage reads a paged listing's query: limit, and after, the "next" of
// the previous page. Nothing else is accepted.
func listPage(args *fasthttp.Args) (limit int, after string, err error) {
	if err := onlyParams(args, "limit", "after"); err != nil {
		return 0, "", err
	}
	limit, err = pageLimit(args)
	return limit, string(args.Peek("after")), err
}

// writePage answers one page of a listing under name, with the cursor of
// the next page when there is one.
func writePage(ctx *fasthttp.RequestCtx, name string, items any, next string) error {
	out := map[string]any{name: items}
	if next != "" {
		out["next"] = next
	}
	return writeJSON(ctx, fasthttp.StatusOK, out)
}

// reply ends most endpoints: 200 with v, what the engine answered, or the
// engine's error.
func reply(ctx *fasthttp.RequestCtx, v any, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, v)
}

// replyRaw is reply for an answer the engine encoded itself (a scan's, a
// redemption's): its bytes go out as they are.
func replyRaw(ctx *fasthttp.RequestCtx, raw []byte, err error) error {
	if err != nil {
		return err
	}
	writeRaw(ctx, fasthttp.StatusOK, raw)
	return nil
}

// withBody is most POST endpoints: the request's JSON body decoded into
// an In (see decode), do called with it, and its answer replied, as it is
// when the engine encoded it itself (a json.RawMessage, see replyRaw), else
// as JSON (see reply).
func withBody[In, Out any](ctx *fasthttp.RequestCtx, do func(In) (Out, error)) error {
	var in In
	if err := decode(ctx, &in); err != nil {
		return err
	}
	out, err := do(in)
	if raw, ok := any(out).(json.RawMessage); ok {
		return replyRaw(ctx, raw, err)
	}
	return reply(ctx, out, err)
}

// putDocument is a PUT of a rules document (a campaign, a catalog item)
// whose id the path names. The body is read twice: first as JSON, so that
// a body that is not such an object is invalid_json like on every
// endpoint, then by parse for its rules, which apply puts in force.
func putDocument[Doc, Out any](ctx *fasthttp.RequestCtx, id string, parse func(raw []byte, id string) (*Doc, error), apply func(*Doc) (Out, error)) error {
	var probe Doc
	if err := decode(ctx, &probe); err != nil {
		return err
	}
	doc, err := parse(ctx.PostBody(), id)
	if err != nil {
		return err
	}
	v, err := apply(doc)
	return reply(ctx, v, err)
}

// reasonBody is the body of an endpoint that voids or cancels a record:
// why, which the record keeps.
type reasonBody struct {
	Reason string `json:"reason"`
}

// replyPut answers a PUT of a record: 201 when it created the record, 200
// when it changed one.
func replyPut(ctx *fasthttp.RequestCtx, v any, created bool, err error) error {
	if err != nil {
		return err
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	return writeJSON(ctx, status, v)
}

// handler is what a route does with a request.
type handler = func(s *Server, ctx *fasthttp.RequestCtx, who caller, arg string) error

// byID is a GET endpoint of one record: what read finds under the path's
// argument.
func byID[T any](read func(e *reward.Engine, id string) (T, error)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, _ caller, id string) error {
		v, err := read(s.app.Engine, id)
		return reply(ctx, v, err)
	}
}

// listing is a GET endpoint of a paged listing (see listPage): page's
// items under name, and the cursor of the next page.
func listing[T any](name string, page func(e *reward.Engine, after string, limit int) ([]T, string, error)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, _ caller, _ string) error {
		limit, after, err := listPage(ctx.QueryArgs())
		if err != nil {
			return err
		}
		items, next, err := page(s.app.Engine, after, limit)
		if err != nil {
			return err
		}
		return writePage(ctx, name, items, next)
	}
}

func (s *Server) getMember(ctx *fasthttp.RequestCtx, _ caller, member string) error {
	limit, err := pageLimit(ctx.QueryArgs())
	if err != nil {
		return err
	}
	v, err := s.app.Engine.Member(member, string(ctx.QueryArgs().Peek("cursor")), limit)
	return reply(ctx, v, err)
}

func (s *Server) listBatches(ctx *fasthttp.RequestCtx, who caller, _ string) error {
	limit, after, err := listPage(ctx.QueryArgs())
	if err != nil {
		return err
	}
	bs, next, err := s.app.Engine.BatchPage(after, limit, who.owner())
	if err != nil {
		return err
	}
	out := make([]BatchView, len(bs))
	for i, b := range bs {
		out[i] = viewBatch(b)
	}
	return writePage(ctx, "batches", out, next)
}

// BatchView is a batch record with its counts, as the API shows it.
type BatchView struct {
	*reward.Batch
	// CodeVersion shows batches recorded before the field as version 1.
	CodeVersion uint8  `json:"code_version"`
	Active      uint64 `json:"active"`
	Revoked     uint64 `json:"revoked"`
}

func viewBatch(b *reward.Batch) BatchView {
	a, r := b.Counts()
	return BatchView{Batch: b, CodeVersion: b.Codes(), Active: a, Revoked: r}
}

func (s *Server) postBatch(ctx *fasthttp.RequestCtx, who caller, _ string) error {
	var spec reward.BatchSpec
	if err := decode(ctx, &spec); err != nil {
		return err
	}
	// A factory prints codes; what a code pays is the brand's decision. A
	// leaked factory token must not be able to mint codes worth points:
	// its batches pay nothing until an admin releases them.
	if who.role == reward.RoleFactory {
		spec.Factory, spec.FactoryName = who.id, who.subject
	}
	b, err := s.app.Engine.CreateBatch(spec)
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusCreated, viewBatch(b))
}

func parseBatchID(s string) (uint32, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil || id == 0 {
		return 0, errorf(reward.CodeInvalidRequest, "batch id %q is not a positive number", s)
	}
	return uint32(id), nil
}

// getBatch serves /v1/batches/{id} and /v1/batches/{id}/codes.
// A factory token reaches only the batches it (or its factory) minted.
func (s *Server) getBatch(ctx *fasthttp.RequestCtx, who caller, arg string) error {
	idText, sub, _ := strings.Cut(arg, "/")
	id, err := parseBatchID(idText)
	if err != nil {
		return err
	}
	b, err := s.app.Engine.BatchFor(id, who.owner())
	if err != nil {
		return err
	}
	switch sub {
	case "":
		return writeJSON(ctx, fasthttp.StatusOK, viewBatch(b))
	case "codes":
		return s.streamCodes(ctx, who, b)
	case "images.zip":
		return s.streamImages(ctx, who, b)
	case "labels.pdf":
		return s.writeLabels(ctx, who, b)
	}
	return errorf(codeRouteNotFound, "no such endpoint under /v1/batches/%d", id)
}

// streamCodes writes a batch's codes as CSV or TXT, generated on the fly:
// codes are never stored.
func (s *Server) streamCodes(ctx *fasthttp.RequestCtx, who caller, b *reward.Batch) error {
	args := ctx.QueryArgs()
	format := string(args.Peek("format"))
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "txt" && format != "pins" {
		return errorf(reward.CodeInvalidRequest, "format %q: use csv or txt (or pins, for a batch claimed with PINs)", format)
	}
	if format == "pins" && b.Claim != reward.ClaimPIN {
		return errorf(reward.CodeInvalidRequest, "batch %d is claimed without PINs: it has no PINs to print (format csv or txt)", b.ID)
	}
	from, to := uint32(1), b.Count
	if v := args.Peek("from"); len(v) > 0 {
		n, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil || n == 0 || n > uint64(b.Count) {
			return errorf(reward.CodeInvalidRequest, "from must be a serial in 1..%d", b.Count)
		}
		from = uint32(n)
	}
	if v := args.Peek("to"); len(v) > 0 {
		n, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil || n < uint64(from) || n > uint64(b.Count) {
			return errorf(reward.CodeInvalidRequest, "to must be a serial in %d..%d", from, b.Count)
		}
		to = uint32(n)
	}
	if _, err := s.app.Engine.Signer(b); err != nil {
		return &reward.Error{Code: reward.CodeKeyRetired, Message: err.Error()}
	}
	base, err := s.printBase(args)
	if err != nil {
		return err
	}
	p := who.print(reward.PrintCodes)
	p.Batch, p.From, p.To, p.Format, p.BaseURL = b.ID, from, to, format, base
	if _, err := s.app.Engine.RecordPrint(p); err != nil {
		return err
	}
	if format != "txt" {
		ctx.SetContentType("text/csv; charset=utf-8")
	} else {
		ctx.SetContentType("text/plain; charset=utf-8")
	}
	opts := printing.ExportOptions{Version: b.Codes(), Key: b.KeyID, Batch: b.ID, From: from, To: to, Format: printing.Format(format), BaseURL: base, PINDigits: int(b.PINDigits)}
	keys := s.app.Engine.Keys()
	through := s.startStream(ctx)
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		// A failed stream ends short; the client counts lines and says so.
		printing.Export(context.Background(), through(w), keys, opts)
	})
	return nil
}

// streamImages writes a batch's codes as a zip of QR or DataMatrix images.
func (s *Server) streamImages(ctx *fasthttp.RequestCtx, who caller, b *reward.Batch) error {
	args := ctx.QueryArgs()
	img := printing.ImageOptions{Symbology: printing.Symbology(args.Peek("symbology")), Format: printing.ImageFormat(args.Peek("format"))}
	if img.Symbology == "" {
		img.Symbology = printing.QR
	}
	if img.Format == "" {
		img.Format = printing.PNG
	}
	if _, err := printing.Image("X", img); err != nil {
		return errorf(reward.CodeInvalidRequest, "symbology qr or datamatrix, format png or svg: %v", err)
	}
	base, err := s.printBase(args)
	if err != nil {
		return err
	}
	opts := printing.ImageExportOptions{Version: b.Codes(), Key: b.KeyID, Batch: b.ID, From: 1, To: b.Count, BaseURL: base, Image: img}
	keys := s.app.Engine.Keys()
	// An archive draws every code while it streams: a few at once would
	// take the CPUs the scans need.
	if err := s.takeDownload(ctx); err != nil {
		return err
	}
	p := who.print(reward.PrintImages)
	p.Batch, p.From, p.To, p.Format, p.BaseURL = b.ID, 1, b.Count, string(img.Format), base
	if _, err := s.app.Engine.RecordPrint(p); err != nil {
		<-s.exports
		return err
	}
	ctx.SetContentType("application/zip")
	through := s.startStream(ctx)
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() { <-s.exports }()
		printing.ExportImagesZip(context.Background(), through(w), keys, opts)
	})
	return nil
}

// takeDownload takes one of the heavy downloads' slots (Options.MaxExports),
// shared by image archives, label sheets and exports: each holds a CPU
// drawing codes or encoding records, so a few at once would take the CPUs
// the scans need. The caller
// gives it back (<-s.exports) when the download ends.
func (s *Server) takeDownload(ctx *fasthttp.RequestCtx) error {
	select {
	case s.exports <- struct{}{}:
		return nil
	default:
		ctx.Response.Header.Set("Retry-After", "30")
		return errorf(codeBusy, "%d image archives, label sheets or exports are being made; try again in a minute", cap(s.exports))
	}
}

// writeLabels answers a PDF label sheet. The document is built in memory
// (at most printing.MaxLabelsPerSheet labels), so a refusal still gets a
// JSON error rather than a cut PDF.
func (s *Server) writeLabels(ctx *fasthttp.RequestCtx, who caller, b *reward.Batch) error {
	args := ctx.QueryArgs()
	var opts printing.LabelSheetOptions
	var nums [4]uint64 // from, to, columns, rows
	for i, name := range []string{"from", "to", "columns", "rows"} {
		if v := args.Peek(name); len(v) > 0 {
			n, err := strconv.ParseUint(string(v), 10, 32)
			if err != nil {
				return errorf(reward.CodeInvalidRequest, "%s %q is not a number", name, v)
			}
			nums[i] = n
		}
	}
	opts.From, opts.To = uint32(nums[0]), uint32(nums[1])
	opts.Columns, opts.Rows = int(nums[2]), int(nums[3])
	opts.Symbology = printing.Symbology(args.Peek("symbology"))
	base, err := s.printBase(args)
	if err != nil {
		return err
	}
	opts.BaseURL = base
	opts.Fonts = s.opts.LabelFonts
	if err := s.takeDownload(ctx); err != nil {
		return err
	}
	defer func() { <-s.exports }()
	select {
	case s.sheets <- struct{}{}:
		defer func() { <-s.sheets }()
	default:
		ctx.Response.Header.Set("Retry-After", "30")
		return errorf(codeBusy, "another label sheet is being made; try again in a minute, or ask for fewer labels (from, to)")
	}
	var buf bytes.Buffer
	if err := writeLabels(&buf, s.app.Engine.Keys(), b, opts, s.app.Engine, who.print(reward.PrintLabels)); err != nil {
		var re *reward.Error
		if errors.As(err, &re) {
			return err
		}
		// What is left is codegen refusing the layout or the symbology.
		return errorf(reward.CodeInvalidRequest, "%v", err)
	}
	ctx.SetContentType("application/pdf")
	ctx.SetBody(buf.Bytes())
	return nil
}

func (s *Server) deleteBatch(ctx *fasthttp.RequestCtx, who caller, arg string) error {
	id, err := parseBatchID(arg)
	if err != nil {
		return err
	}
	if err := noBody(ctx); err != nil {
		return err
	}
	if err := s.app.Engine.DeleteBatchFor(id, who.owner()); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// postBatchAction serves POST /v1/batches/{id}/activate|revoke|release.
func (s *Server) postBatchAction(ctx *fasthttp.RequestCtx, who caller, arg string) error {
	idText, action, _ := strings.Cut(arg, "/")
	id, err := parseBatchID(idText)
	if err != nil {
		return err
	}
	var state reward.RangeState
	switch action {
	case "activate":
		state = reward.Active
	case "revoke":
		state = reward.Revoked
	case "release":
		return s.releaseBatch(ctx, who, id)
	default:
		return errorf(codeRouteNotFound, "no action %q; use /v1/batches/%d/activate, /revoke or /release", action, id)
	}
	var r struct {
		From   uint32 `json:"from"`
		To     uint32 `json:"to"`
		Region string `json:"region"`
	}
	if err := decodeOptional(ctx, &r); err != nil {
		return err
	}
	if r.Region != "" && state != reward.Active {
		return errorf(reward.CodeInvalidRequest, "a revocation has no region; give \"region\" when activating")
	}
	v, err := batchView(s.app.Engine.SetRangeFor(id, reward.Range{From: r.From, To: r.To, State: state, Region: r.Region}, who.owner()))
	return reply(ctx, v, err)
}

// releaseBatch serves POST /v1/batches/{id}/release: the brand releases a
// factory's batch for payout, optionally saying what it pays.
func (s *Server) releaseBatch(ctx *fasthttp.RequestCtx, who caller, id uint32) error {
	if who.role != reward.RoleAdmin {
		return errorf(codeForbidden, "only the brand (the admin token) releases a batch for payout")
	}
	var r reward.Release
	if err := decodeOptional(ctx, &r); err != nil {
		return err
	}
	v, err := batchView(s.app.Engine.ReleaseBatch(id, r))
	return reply(ctx, v, err)
}

func (s *Server) postToken(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	var r struct {
		Role    string `json:"role"`
		Name    string `json:"name"`
		Factory string `json:"factory"`
		Store   string `json:"store"`
	}
	if err := decode(ctx, &r); err != nil {
		return err
	}
	if r.Role == reward.RoleGuide {
		return errorf(reward.CodeInvalidRequest, "guide tokens are made with the guide (POST /v1/guides)")
	}
	scope := r.Factory
	if r.Role == reward.RoleManager {
		if r.Factory != "" {
			return errorf(reward.CodeInvalidRequest, "a manager token names its store (\"store\"), not a factory")
		}
		scope = r.Store
	} else if r.Store != "" {
		return errorf(reward.CodeInvalidRequest, "only a manager token names a store; leave store out for a %s token", r.Role)
	}
	tok, err := s.app.Engine.CreateFactoryToken(r.Role, r.Name, scope)
	if err != nil {
		return err
	}
	out := map[string]string{"token": tok, "id": reward.TokenID(tok), "role": r.Role, "name": r.Name}
	if r.Factory != "" {
		out["factory"] = r.Factory
	}
	if r.Store != "" {
		out["store"] = r.Store
	}
	return writeJSON(ctx, fasthttp.StatusCreated, out)
}

// deleteToken revokes a token. Callers remembered as valid are forgotten
// with it, so the revoked secret fails from the next request on.
func (s *Server) deleteToken(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	if err := noBody(ctx); err != nil {
		return err
	}
	t, err := s.app.Engine.RevokeToken(id)
	if err != nil {
		return err
	}
	s.tokens.Clear()
	return writeJSON(ctx, fasthttp.StatusOK, t)
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	if err := s.app.Dir.Err(); errors.Is(err, store.ErrBusy) {
		return &reward.Error{Code: reward.CodeUnavailable, Message: "the database does not answer for now (a failover?); this node waits for it and serves again when it is back", Err: err}
	} else if err != nil {
		return &reward.Error{Code: reward.CodeUnavailable, Message: "storage failed; the server stops so that a restart recovers (the server's log says why)", Err: err}
	}
	if s.stopping.Load() {
		return errorf(codeShuttingDown, "the server is shutting down")
	}
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString("ok\n")
	return nil
}

func (s *Server) metricsHandler(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))(ctx)
	return nil
}

func (s *Server) openapi(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	ctx.SetContentType("application/yaml")
	ctx.SetBody(docs.OpenAPI)
	return nil
}
