package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The consumer and counter pages are plain server-rendered HTML: no
// scripts, no external assets, a few kilobytes each, so they hold up when a
// promotion brings everyone at once. A browser is identified by a random
// cookie; as a member it is "web:<cookie>", which the brand's systems can
// later link to a phone or openid as an alias.
var pages = template.Must(template.New("layout").Funcs(template.FuncMap{
	"date": dateIn,
}).Parse(`{{define "top"}}<!doctype html>
<html lang="{{if .Lang}}{{.Lang}}{{else}}en{{end}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;padding:1.5rem;max-width:28rem;margin:auto;color:#222}
.card{border-radius:12px;padding:1.25rem;margin:1rem 0}
.ok{background:#e8f6ec;border:1px solid #5cb176}.warn{background:#fff6e0;border:1px solid #e0a800}
.bad{background:#fdecea;border:1px solid #d9534f}h1{font-size:1.4rem;margin:.2rem 0}
p{line-height:1.45}code{font-size:.85rem;word-break:break-all}
button{font-size:1.1rem;padding:.7rem 1.4rem;border-radius:8px;border:0;background:#2d7d46;color:#fff}
input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.4rem 0}
img.qr{width:12rem;height:12rem;display:block;margin:1rem auto}
</style></head><body>
<div class="card {{.Class}}"><h1>{{.Title}}</h1><p>{{.Message}}</p></div>{{end}}
{{define "bottom"}}</body></html>{{end}}

{{define "landing"}}{{template "top" .}}
{{with .S}}{{if .Valid}}<p>Product: <b>{{.Product}}</b><br>Batch {{.Batch}}, serial {{.Serial}}</p>
{{if .FirstScan}}<p>Scanned {{.Scans}} time(s) by {{.Scanners}} person(s), first on {{date $.Zone .FirstScan}}.</p>{{end}}{{end}}{{end}}
{{with .Result}}<p>You earned <b>{{.Points}}</b> points{{if .Bonus}} (including a welcome bonus of {{.Bonus}}){{end}}. Balance: <b>{{.Balance}}</b>.</p>
{{with .Coupon}}<div class="card ok"><h1>🎁 {{.Title}}</h1><p>Show this at the counter before {{date $.Zone .ExpiresAt}}.</p>
<img class="qr" src="/v1/coupons/{{.ID}}/qr.svg" alt="coupon QR"><p><code>{{.ID}}</code></p></div>{{end}}{{end}}
{{if .Claim}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>Claim my reward</button></form>{{end}}
{{with .S}}<p><code>{{.Code}}</code></p>{{end}}
{{template "bottom"}}{{end}}

{{define "guide"}}{{template "top" .}}
{{if .Claim}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>Join</button></form>{{end}}
{{template "bottom"}}{{end}}

{{define "counter"}}{{template "top" .}}
{{with .Coupon}}<p><b>{{.Title}}</b><br>Status: {{.Status}}<br>Valid until {{date $.Zone .Expires}}</p>{{end}}
{{if .Claim}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}">{{if .AskToken}}<label>Guide token<input name="token" type="password" autocomplete="current-password"></label>{{end}}
<button>Verify and hand over the gift</button></form>{{end}}
{{template "bottom"}}{{end}}
`))

type pageData struct {
	// Zone is the brand's time zone, in which every date shows; the
	// server sets it.
	Zone                  *time.Location
	Title, Message, Class string
	Lang                  string // the lang attribute; empty is "en"
	S                     *reward.CodeStatus
	Result                *reward.ScanResult
	Coupon                *reward.Coupon
	Claim, AskToken       bool
	// CSRF is the form token of this browser (see checkForm); the server
	// sets it.
	CSRF string
}

// htmlErrors makes a page answer its errors as a page: a consumer's phone
// should never show raw JSON.
func htmlErrors(fn func(*Server, *fasthttp.RequestCtx, caller, string) error) func(*Server, *fasthttp.RequestCtx, caller, string) error {
	return func(s *Server, ctx *fasthttp.RequestCtx, who caller, arg string) error {
		err := fn(s, ctx, who, arg)
		if err == nil {
			return nil
		}
		var re *reward.Error
		errors.As(s.public(ctx, err), &re)
		if re.Code == reward.CodeInternal {
			re = &reward.Error{Code: reward.CodeInternal, Message: "Something went wrong on our side. Please try again in a moment. (Reference " + RequestID(ctx) + ")"}
		}
		if re.Code == reward.CodeUnavailable {
			re.Message = "The service is busy or under maintenance. Please try again in a moment."
		}
		status, ok := statusOf[re.Code]
		if !ok {
			status = fasthttp.StatusInternalServerError
		}
		if rerr := s.renderPage(ctx, "guide", pageData{Title: "Sorry", Class: "bad", Message: re.Message}); rerr != nil {
			return err
		}
		ctx.SetStatusCode(status)
		return nil
	}
}

func (s *Server) renderPage(ctx *fasthttp.RequestCtx, name string, d pageData) error {
	d.Zone = s.app.Engine.StatsZone()
	v, _ := s.visitor(ctx)
	d.CSRF = s.csrfToken(v)
	return renderHTML(ctx, pages.Lookup(name), d)
}

// dateIn writes t's day in the brand's time zone: the day a consumer or an
// operator lives in, the same as the statistics' days.
func dateIn(loc *time.Location, t time.Time) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02")
}

// renderHTML answers with t run on d, never cached: every page shows live
// state.
func renderHTML(ctx *fasthttp.RequestCtx, t *template.Template, d any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return err
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	securityHeaders(ctx)
	ctx.SetBody(buf.Bytes())
	return nil
}

// visitorCookie holds a browser's visitor id.
const visitorCookie = "yima_v"

// visitor returns the browser's id, setting the cookie on first sight;
// session is false then. A request without the cookie may be a link
// previewer, a crawler or a script that makes a fresh identity each time:
// it counts as no one and claims nothing (see landing).
func (s *Server) visitor(ctx *fasthttp.RequestCtx) (id string, session bool) {
	v := string(ctx.Request.Header.Cookie(visitorCookie))
	if _, err := ksuid.Parse(v); err == nil {
		return v, true
	}
	// A cookie set earlier in this request.
	if v, ok := ctx.UserValue(visitorCookie).(string); ok {
		return v, false
	}
	v = ksuid.New().String()
	ctx.SetUserValue(visitorCookie, v)
	var c fasthttp.Cookie
	c.SetSecure(s.secure())
	c.SetKey(visitorCookie)
	c.SetValue(v)
	c.SetPath("/")
	c.SetMaxAge(2 * 365 * 24 * 3600)
	c.SetHTTPOnly(true)
	// Lax: a claim posted from another site carries no cookie.
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	ctx.Response.Header.SetCookie(&c)
	return v, false
}

// landing renders /c/{code}. A GET counts as a scan, and as a scan by
// this browser when it comes with the session cookie of an earlier page, so
// one person reloading does not look like a counterfeit seen by many and a
// link previewer is no one; HEAD counts nothing. A POST claims the reward
// for this browser, and only with a session: a cookieless claim would be a
// fresh member each time, with a fresh new-member bonus and fresh daily
// limits. It gets the page with its claim button instead.
func (s *Server) landing(ctx *fasthttp.RequestCtx, _ caller, code string) error {
	who, session := s.visitor(ctx)
	var d pageData
	if ctx.IsPost() && session {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		out, err := s.app.Engine.Scan(reward.ScanRequest{Code: code, Member: "web:" + who})
		s.m.refused(err)
		if err == nil {
			var res reward.ScanResult
			if err := json.Unmarshal(out, &res); err != nil {
				return err
			}
			d.Result = &res
			d.Title, d.Class = "Reward claimed", "ok"
			d.Message = "Thank you! This product is genuine and its reward is yours."
		} else {
			var re *reward.Error
			if reward.ErrorCode(err) == reward.CodeInvalidCode {
				s.limits.forged("a:" + s.clientIP(ctx).String())
			}
			if !errors.As(err, &re) || re.Code == reward.CodeInvalidCode || re.Code == reward.CodeUnavailable || re.Code == reward.CodeInternal {
				return err
			}
			// Ended campaigns, limits and duplicates get a kind page, not
			// an error: the product may still be genuine.
			d.Title, d.Class, d.Message = "No reward this time", "warn", re.Message
		}
	} else if ctx.IsGet() {
		// Count first, so the page shows this scan too; a failure to
		// count must not hide whether the product is genuine.
		scanner := ""
		if session {
			scanner = "web:" + who
		}
		if err := s.app.Engine.CountVisit(code, scanner); err != nil && reward.ErrorCode(err) == reward.CodeUnavailable {
			s.log.Warn("landing page could not count a scan", "err", err)
		}
	}
	st, err := s.app.Engine.Status(code)
	if err != nil {
		return err
	}
	s.noteForged(ctx, st)
	d.S = st
	if d.Title == "" {
		switch {
		case !st.Valid && st.Reason == string(reward.CodeUnknownBatch):
			d.Title, d.Class = "Code not recognised", "warn"
			d.Message = "This code carries the brand's signature, but the brand has no record of its batch. Please keep your receipt and contact the brand."
		case !st.Valid && st.Reason == string(reward.CodeKeyRetired):
			d.Title, d.Class = "Code no longer honoured", "warn"
			d.Message = "This code was issued with a signing key the brand has since retired, so it can no longer be checked or rewarded. Please contact the brand."
		case !st.Valid:
			d.Title, d.Class = "Not a genuine code", "bad"
			d.Message = "This code was not issued by the brand. The product may be counterfeit; please keep your receipt and contact the brand."
		case st.Redeemed:
			d.Title, d.Class = "Genuine — already redeemed", "warn"
			d.Message = "This product is genuine, and its reward was claimed on " + dateIn(s.app.Engine.StatsZone(), *st.RedeemedAt) + ". If you just opened this package, please contact the brand."
		case st.State == string(reward.Revoked):
			// A withdrawn range is often a leaked one: its codes may be on
			// copies, so the page does not vouch for the product.
			d.Title, d.Class = "Code withdrawn", "warn"
			d.Message = "The brand has withdrawn this code (its series was reported leaked or lost), and it pays no reward. If you bought this product in a shop, please keep your receipt and contact the brand."
		case st.State != "active":
			d.Title, d.Class = "Genuine product", "ok"
			d.Message = "This product is genuine. Its reward is not available yet: it opens once the product is released for sale."
		case st.Promotion == "ended":
			// A claim would only be refused: say so instead of offering it.
			d.Title, d.Class = "Genuine product", "ok"
			d.Message = "This product is genuine. Its promotion has ended, so there is no reward to claim; the code was not used."
		case st.Promotion == "scheduled":
			d.Title, d.Class = "Genuine product", "ok"
			d.Message = "This product is genuine. Its promotion has not started yet; come back to claim the reward once it has."
		default:
			d.Title, d.Class = "Genuine product", "ok"
			d.Message = "This product is genuine and its reward has not been claimed."
			d.Claim = true
		}
		if st.Valid && st.Scanners > 1 && !st.Redeemed {
			d.Class = "warn"
			d.Message += " Note: this code has been scanned by several people."
		}
	}
	return s.renderPage(ctx, "landing", d)
}

// home renders the site's root: a phone that opened the bare address
// learns what the site is for, in the brand's language.
func (s *Server) home(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	w := s.words()
	return s.renderPage(ctx, "guide", pageData{Lang: w.Lang, Title: w.HomeTitle, Message: w.HomeMessage, Class: "ok"})
}

// noCode renders /C/ without a code: a link cut short, or typed by hand.
func (s *Server) noCode(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	w := s.words()
	if err := s.renderPage(ctx, "guide", pageData{Lang: w.Lang, Title: w.NoCodeTitle, Message: w.NoCodeMessage, Class: "warn"}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNotFound)
	return nil
}

// guidePage renders /G/{guide}, what a guide's personal QR opens: a POST
// binds this browser's member to the guide (first binding wins).
func (s *Server) guidePage(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	who, _ := s.visitor(ctx)
	g, err := s.app.Engine.GuideByID(id, 1)
	if err != nil {
		return err
	}
	if !g.LeftAt.IsZero() {
		// A poster outlives the guide on it: their successor looks after
		// whoever scans it, or no one binds them here.
		if g.Successor == "" {
			return s.renderPage(ctx, "guide", pageData{Title: "Welcome to " + g.Store, Class: "warn",
				Message: guideName(g) + " is no longer with us. Scan the code on any product to collect your reward, or ask in store for your new guide's QR code."})
		}
		id = g.Successor
		if g, err = s.app.Engine.GuideByID(id, 1); err != nil {
			return err
		}
	}
	d := pageData{Title: "Welcome to " + g.Store, Class: "ok", Message: "Join to collect points and gifts with every purchase; " + guideName(g) + " will look after you.", Claim: true}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		d.Claim = false
		if _, err := s.app.Engine.Bind("web:"+who, id, false); err != nil {
			var re *reward.Error
			if !errors.As(err, &re) || re.Code != reward.CodeAlreadyBound {
				return err
			}
			d.Title, d.Class, d.Message = "Already a member", "warn", "You are already looked after by another guide."
		} else {
			d.Title, d.Message = "You have joined", "Scan the code on any product to collect your reward."
		}
	}
	return s.renderPage(ctx, "guide", d)
}

func guideName(g *reward.GuideView) string {
	if g.Name != "" {
		return g.Name
	}
	return "guide " + g.ID
}

// counterPage renders /V/{coupon}, what a coupon's QR opens at the counter.
// A guide verifies with their token, kept in the server's session table
// afterwards (the cookie holds the session id) so the next gift takes one
// tap.
func (s *Server) counterPage(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	c, err := s.app.Engine.CouponByID(id)
	if err != nil {
		return err
	}
	tok := s.sess.token(string(ctx.Request.Header.Cookie("yima_g")))
	d := pageData{Coupon: c, Title: "Gift coupon", Class: "ok", Message: "Check the consumer's coupon, then verify it to hand over the gift."}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		if t := string(ctx.PostArgs().Peek("token")); t != "" {
			tok = t
		}
		who, err := s.caller(tok)
		if err != nil || who.role != reward.RoleGuide {
			d.Title, d.Class, d.Message = "Not verified", "bad", "Enter a valid guide token."
			d.Claim, d.AskToken = true, true
			return s.renderPage(ctx, "counter", d)
		}
		if _, err := s.app.Engine.VerifyCoupon(id, who.subject); err != nil {
			var re *reward.Error
			if !errors.As(err, &re) {
				return err
			}
			d.Title, d.Class, d.Message = "Not verified", "bad", re.Message
		} else {
			d.Title, d.Message = "Verified", "Hand over the gift. The commission is credited to you."
			s.setSessionCookie(ctx, "yima_g", s.sess.start(tok), "/")
		}
		if c, err = s.app.Engine.CouponByID(id); err == nil {
			d.Coupon = c
		}
		return s.renderPage(ctx, "counter", d)
	}
	if c.Status != reward.CouponIssued {
		d.Title, d.Class, d.Message = "Coupon "+c.Status, "warn", "This coupon cannot be used again."
	} else {
		d.Claim, d.AskToken = true, tok == ""
	}
	return s.renderPage(ctx, "counter", d)
}
