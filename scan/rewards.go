package scan

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
)

// Endpoints of campaigns, members, guides and coupons.

var (
	adminOnly     = []string{reward.RoleAdmin}
	adminApp      = []string{reward.RoleAdmin, reward.RoleApp}
	adminAppGuide = []string{reward.RoleAdmin, reward.RoleApp, reward.RoleGuide}
	adminGuide    = []string{reward.RoleAdmin, reward.RoleGuide}
)

// putCampaign applies a campaign document; the path names its id.
func (s *Server) putCampaign(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	return putDocument(ctx, id, reward.ParseCampaignAs, s.app.Engine.ApplyCampaign)
}

// postMember serves POST /v1/members/{member}/guide|aliases|spend|redeem|
// adjust. Its route is open: memberCaller authenticates, since a member's
// own signed-in browser may redeem.
func (s *Server) postMember(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	i := strings.LastIndexByte(arg, '/')
	if i <= 0 {
		return errorf(codeRouteNotFound, "POST /v1/members/{member}/guide, /aliases, /spend, /redeem or /adjust")
	}
	member, action := arg[:i], arg[i+1:]
	who, err := s.memberCaller(ctx, member, action)
	if err != nil {
		return err
	}
	switch action {
	case "redeem":
		return s.postRedeem(ctx, who, member)
	case "adjust":
		return s.postAdjust(ctx, who, member)
	case "guide":
		var r struct {
			Guide  string `json:"guide"`
			Rebind bool   `json:"rebind"`
		}
		if err := decode(ctx, &r); err != nil {
			return err
		}
		// A binding is the person's choice, and it decides who earns on
		// their scans: a guide's word is not enough, or a guide would
		// bind every phone number they can think of. The person binds
		// themselves on the guide's page (/G/{guide}); the brand's app
		// binds a member signed in there, on their consent.
		if who.role == reward.RoleGuide {
			return errorf(codeForbidden, "a guide cannot bind a consumer: the consumer scans your QR code (%s) and joins on that page", GuideURL(s.pageBase(ctx), who.subject))
		}
		if r.Rebind && who.role != reward.RoleAdmin {
			return errorf(codeForbidden, "only an admin can rebind a member to another guide")
		}
		m, err := s.app.Engine.Bind(member, r.Guide, r.Rebind)
		return reply(ctx, m, err)
	case "aliases":
		if who.role == reward.RoleGuide {
			return errorf(codeForbidden, "guides cannot link member identities")
		}
		return withBody(ctx, func(r struct {
			Alias string `json:"alias"`
		}) (*reward.Member, error) {
			return s.app.Engine.LinkAlias(member, r.Alias)
		})
	case "spend":
		if who.role == reward.RoleGuide {
			return errorf(codeForbidden, "guides cannot spend members' points")
		}
		return withBody(ctx, func(r reward.SpendRequest) (json.RawMessage, error) {
			r.Scope = who.id
			return s.app.Engine.Spend(member, r)
		})
	}
	return errorf(codeRouteNotFound, "no action %q: POST /v1/members/{member}/guide, /aliases, /spend, /redeem or /adjust", action)
}

func (s *Server) postGuide(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	var g reward.Guide
	var r struct {
		ID     string `json:"id"`
		Store  string `json:"store"`
		Name   string `json:"name"`
		Member string `json:"member"`
	}
	if err := decode(ctx, &r); err != nil {
		return err
	}
	g.ID, g.Store, g.Name, g.Member = r.ID, r.Store, r.Name, r.Member
	out, tok, err := s.app.Engine.AddGuide(g)
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"id": out.ID, "token": tok, "token_id": reward.TokenID(tok), "store": out.Store, "qr_url": GuideURL(s.pageBase(ctx), out.ID)})
}

// postGuideAction serves POST /v1/guides/{guide}/leave: the guide left the
// brand. Their tokens are revoked, so the server forgets the callers it
// remembered.
func (s *Server) postGuideAction(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	id, ok := strings.CutSuffix(arg, "/leave")
	if !ok || id == "" {
		return errorf(codeRouteNotFound, "POST /v1/guides/{guide}/leave")
	}
	var r struct {
		Successor string `json:"successor"`
	}
	if err := decodeOptional(ctx, &r); err != nil {
		return err
	}
	out, err := s.app.Engine.GuideLeaves(id, r.Successor)
	s.tokens.Clear()
	return reply(ctx, out, err)
}

// getGuide serves /v1/guides/{guide} and /v1/guides/{guide}/qr.png|qr.svg.
func (s *Server) getGuide(ctx *fasthttp.RequestCtx, who caller, arg string) error {
	id, sub, _ := strings.Cut(arg, "/")
	if who.role == reward.RoleGuide && who.subject != id {
		return errorf(codeForbidden, "a guide token shows its own guide only")
	}
	switch sub {
	case "":
		q := ctx.QueryArgs()
		limit, err := pageLimit(q)
		if err != nil {
			return err
		}
		v, err := s.app.Engine.GuideView(id, reward.GuidePage{
			Limit: limit, MembersAfter: string(q.Peek("members_after")), LedgerBefore: string(q.Peek("ledger_before")),
		})
		return reply(ctx, v, err)
	case "qr.png", "qr.svg":
		if _, err := s.app.Engine.GuideByID(id, 1); err != nil {
			return err
		}
		// The poster is printed: it gets the brand's URL, never a guess.
		base, err := s.printBase(ctx.QueryArgs())
		if err != nil {
			return err
		}
		p := who.print(reward.PrintGuideQR)
		p.Guide, p.Format, p.BaseURL = id, strings.TrimPrefix(sub, "qr."), base
		if _, err := s.app.Engine.RecordPrint(p); err != nil {
			return err
		}
		return writeQR(ctx, GuideURL(base, id), sub)
	}
	return errorf(codeRouteNotFound, "GET /v1/guides/{guide}, /qr.png or /qr.svg")
}

// GuideURL is what a guide's personal QR opens: the binding page. The id
// is percent-encoded, so that a Chinese id (王芳) travels as ASCII a
// decoder cannot misread, and the symbol keeps to few byte-mode characters.
func GuideURL(base, id string) string {
	return strings.TrimRight(base, "/") + "/G/" + url.PathEscape(id)
}

func writeQR(ctx *fasthttp.RequestCtx, text, name string) error {
	opts := printing.ImageOptions{Format: printing.PNG}
	ctx.SetContentType("image/png")
	if strings.HasSuffix(name, ".svg") {
		opts.Format = printing.SVG
		ctx.SetContentType("image/svg+xml")
	}
	img, err := printing.Image(text, opts)
	if err != nil {
		return errorf(reward.CodeInvalidRequest, "cannot draw a QR code of %q: %v", text, err)
	}
	ctx.Response.Header.Set("Cache-Control", "public, max-age=86400")
	ctx.SetBody(img)
	return nil
}

// getCoupon serves /v1/coupons/{id} and its QR, which the consumer shows
// at the counter. Coupon ids are unguessable, so the QR needs no token.
func (s *Server) getCoupon(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	id, sub, _ := strings.Cut(arg, "/")
	c, err := s.app.Engine.CouponByID(id)
	if err != nil {
		return err
	}
	switch sub {
	case "":
		// The lookup is public (the id is the secret), so it does not
		// say who holds the coupon or which code issued it.
		pub := *c
		pub.Member, pub.Code, pub.Ledger = "", "", nil
		return writeJSON(ctx, fasthttp.StatusOK, pub)
	case "qr.png", "qr.svg":
		return writeQR(ctx, s.pageBase(ctx)+"/V/"+url.PathEscape(c.ID), sub)
	}
	return errorf(codeRouteNotFound, "GET /v1/coupons/{id}, /qr.png or /qr.svg")
}

// postCoupon serves POST /v1/coupons/{id}/verify (a guide at the counter)
// and /void (an admin).
func (s *Server) postCoupon(ctx *fasthttp.RequestCtx, who caller, arg string) error {
	id, action, _ := strings.Cut(arg, "/")
	switch action {
	case "verify":
		guide := who.subject
		var r struct {
			Guide string `json:"guide"`
		}
		if err := decodeOptional(ctx, &r); err != nil {
			return err
		}
		if who.role == reward.RoleAdmin {
			if r.Guide == "" {
				return errorf(reward.CodeInvalidRequest, "an admin verifying a coupon names the guide: {\"guide\":\"G\"}")
			}
			guide = r.Guide
		} else if r.Guide != "" && r.Guide != guide {
			return errorf(codeForbidden, "a guide token verifies coupons as its own guide only")
		}
		c, err := s.app.Engine.VerifyCoupon(id, guide)
		if err != nil {
			return err
		}
		return writeJSON(ctx, fasthttp.StatusOK, map[string]any{"result": "verified", "coupon": c})
	case "void":
		if who.role != reward.RoleAdmin {
			return errorf(codeForbidden, "only an admin can void a coupon")
		}
		return withBody(ctx, func(r reasonBody) (*reward.Coupon, error) { return s.app.Engine.VoidCoupon(id, r.Reason) })
	}
	return errorf(codeRouteNotFound, "POST /v1/coupons/{id}/verify or /void")
}

// postRedemption serves POST /v1/redemptions/{code}/void.
func (s *Server) postRedemption(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	code, action, _ := strings.Cut(arg, "/")
	if action != "void" {
		return errorf(codeRouteNotFound, "POST /v1/redemptions/{code}/void")
	}
	return withBody(ctx, func(r reasonBody) (*reward.Redemption, error) { return s.app.Engine.VoidRedemption(code, r.Reason) })
}

func (s *Server) getStats(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	a := ctx.QueryArgs()
	if err := onlyParams(a, "by", "from", "to", "daily", "limit", "after"); err != nil {
		return err
	}
	q := reward.StatsQuery{By: string(a.Peek("by")), From: string(a.Peek("from")), To: string(a.Peek("to")), After: string(a.Peek("after"))}
	if q.By == "" {
		q.By = "product"
	}
	switch d := string(a.Peek("daily")); d {
	case "", "false", "0":
	case "true", "1":
		q.Daily = true
	default:
		return errorf(reward.CodeInvalidRequest, "daily %q: give true or false", d)
	}
	var err error
	if q.Limit, err = pageLimit(a); err != nil {
		return err
	}
	page, err := s.app.Engine.StatsPage(q)
	return reply(ctx, page, err)
}

func (s *Server) getFlags(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	a := ctx.QueryArgs()
	limit, err := pageLimit(a)
	if err != nil {
		return err
	}
	page, err := s.app.Engine.Flags(reward.FlagQuery{
		Kind: string(a.Peek("kind")), From: string(a.Peek("from")), To: string(a.Peek("to")),
		After: string(a.Peek("after")), Limit: limit,
	})
	return reply(ctx, page, err)
}

// postBackup writes a backup of the data directory on the server's machine.
func (s *Server) postBackup(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	var r struct {
		Dir string `json:"dir"`
	}
	if err := decode(ctx, &r); err != nil {
		return err
	}
	if !filepath.IsAbs(r.Dir) {
		return errorf(reward.CodeInvalidRequest, "\"dir\" must be an absolute path on the server's machine, e.g. /var/backups/yima/2026-11-23")
	}
	start := time.Now()
	if err := s.app.Dir.Backup(r.Dir); err != nil {
		return err
	}
	s.log.Info("backup written", "dir", r.Dir, "took", time.Since(start))
	return writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"dir": r.Dir, "took_ms": time.Since(start).Milliseconds()})
}

// postExpire expires the points due by the brand's rule; {"dry_run":true}
// only says what would expire.
func (s *Server) postExpire(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	var req struct {
		DryRun bool `json:"dry_run"`
	}
	if len(ctx.PostBody()) > 0 {
		if err := decode(ctx, &req); err != nil {
			return err
		}
	}
	rep, err := s.app.Engine.ExpirePoints(req.DryRun)
	return reply(ctx, rep, err)
}

func (s *Server) getAudit(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	rep, err := s.app.Engine.Audit()
	return reply(ctx, rep, err)
}
