package scan

import (
	"html/template"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The member centre: /me for the browser, GET /v1/me as JSON for the
// brand's own app (the same session cookie), GET /v1/members/{m} staying
// for integrators with a token.

// meView is the member centre as a page shows it.
type meView struct {
	// Ended: the browser's session has just ended, and the page shows no
	// member's data, only the way to sign in again.
	Ended    bool
	C        *reward.MemberCentre
	SignedIn bool
	Name     string // how the member signed in, or their nickname
	Ledger   []meLine
	Methods  []string
	Next     string // the next ledger page's URL
	Unused   []reward.CentreCoupon
	Spent    []reward.CentreCoupon
}

type meLine struct {
	At     string
	Reason string
	Delta  int64
}

// mePage serves /me.
func (s *Server) mePage(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	l := s.pageWords(ctx)
	who, signedIn, _ := s.member(ctx)
	if ended, _ := ctx.UserValue(sessionEnded).(bool); ended {
		// Not the visitor cookie's centre: whatever it held moved to the
		// account at sign-in, and its empty balance would look like the
		// account's points lost.
		return s.renderPage(ctx, "me", pageData{L: l, Title: l.T("me.title"), Class: "warn", Message: l.T("me.session_ended"), Me: &meView{Ended: true}})
	}
	c, err := s.app.Engine.MemberCentre(who, string(ctx.QueryArgs().Peek("before")), 20)
	if err != nil {
		return err
	}
	v := &meView{C: c, SignedIn: signedIn}
	zone := s.app.Engine.Zone()
	for _, en := range c.Ledger {
		v.Ledger = append(v.Ledger, meLine{At: en.At.In(zone).Format("2006-01-02 15:04"), Reason: ledgerReason(l, en), Delta: en.Delta})
	}
	for _, id := range c.Identities {
		v.Methods = append(v.Methods, s.identityName(l, id))
	}
	if c.Next != "" {
		v.Next = "/me?before=" + c.Next
	}
	for _, cp := range c.Coupons {
		if cp.State == reward.CouponStateUnused {
			v.Unused = append(v.Unused, cp)
		} else {
			v.Spent = append(v.Spent, cp)
		}
	}
	d := pageData{L: l, Title: l.T("me.title"), Class: "ok", Me: v}
	switch {
	case c.Nickname != "":
		v.Name = c.Nickname
	case signedIn:
		v.Name = s.identityName(l, s.signedIn(ctx))
	}
	if signedIn {
		d.Message = l.T("me.signed_in", v.Name)
	} else {
		d.Class, d.Message = "warn", l.T("me.signed_out")
	}
	return s.renderPage(ctx, "me", d)
}

// ledgerReason is a ledger line's reason in the page's language.
func ledgerReason(l *locale, en reward.Entry) string {
	switch {
	case en.Reason == "scan" && en.Account == reward.AccountGrowth:
		return l.T("me.reason.growth")
	case en.Reason == "scan":
		return l.T("me.reason.scan")
	case en.Reason == "new_member_bonus":
		return l.T("me.reason.bonus")
	case en.Reason == reward.ReasonMergeIn:
		return l.T("me.reason.merge_in")
	case en.Reason == reward.ReasonMergeOut:
		return l.T("me.reason.merge_out")
	case strings.HasPrefix(en.Reason, "spend: "):
		return l.T("me.reason.spend", strings.TrimPrefix(en.Reason, "spend: "))
	case strings.HasPrefix(en.Reason, "void: "):
		return l.T("me.reason.void")
	case strings.HasPrefix(en.Reason, reward.ReasonRedeem+": "):
		return l.T("me.reason.redeem")
	case en.Reason == reward.ReasonRedeemRefund:
		return l.T("me.reason.redeem_refund")
	case en.Reason == reward.ReasonOrder:
		return l.T("me.reason.order")
	case en.Reason == reward.ReasonOrderRefund:
		return l.T("me.reason.order_refund")
	case strings.HasPrefix(en.Reason, reward.ReasonAdjust+": "):
		return l.T("me.reason.adjust", strings.TrimPrefix(en.Reason, reward.ReasonAdjust+": "))
	case en.Reason == reward.ReasonExpiry:
		return l.T("me.reason.expiry")
	}
	return en.Reason
}

// getMe serves GET /v1/me: the signed-in member's centre as JSON. A
// browser that has not signed in gets 401: its cookie member is not an
// account the brand's app may show.
func (s *Server) getMe(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	ident := s.signedIn(ctx)
	if ident == "" {
		return errorf(codeUnauthorized, "sign in first: open /signin in this browser")
	}
	q := ctx.QueryArgs()
	limit, err := pageLimit(q)
	if err != nil {
		return err
	}
	c, err := s.app.Engine.MemberCentre(ident, string(q.Peek("cursor")), limit)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	return writeJSON(ctx, fasthttp.StatusOK, struct {
		SignedInAs string `json:"signed_in_as"`
		*reward.MemberCentre
	}{ident, c})
}

// The pages of sign-in and the member centre, added to the set every
// locale copies.
var _ = template.Must(pages.New("signin-pages").Parse(`
{{define "nav"}}<p class="nav"><a href="/me">{{t "nav.me"}}</a>{{if not .SignedIn}} · <a href="/signin?next={{.Next}}">{{t "nav.signin"}}</a>{{end}}</p>{{end}}

{{define "signin"}}{{template "top" .}}
{{with .SignIn}}{{if .AskCode}}<form method="post" action="/signin"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="step" value="verify"><input type="hidden" name="phone" value="{{.Phone}}"><input type="hidden" name="next" value="{{.Next}}">
<label>{{t "signin.code"}}<input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}" required></label>
<button>{{t "signin.verify"}}</button></form>
<form method="post" action="/signin"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="step" value="send"><input type="hidden" name="phone" value="{{.Phone}}"><input type="hidden" name="next" value="{{.Next}}"><button class="link">{{t "signin.resend"}}</button></form>
{{else}}<form method="post" action="/signin"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="step" value="send"><input type="hidden" name="next" value="{{.Next}}">
<label>{{t "signin.phone"}}<input name="phone" type="tel" inputmode="tel" autocomplete="tel" value="{{.Phone}}" required></label>
<button>{{t "signin.send"}}</button></form>{{end}}
{{if .WeChatURL}}<p><a href="{{.WeChatURL}}">{{t "signin.wechat"}}</a></p>{{end}}{{end}}
{{template "bottom"}}{{end}}

{{define "me"}}{{template "top" .}}
{{with .Me}}{{if .Ended}}<p><a href="/signin?next=/me">{{t "nav.signin"}}</a></p>{{else}}{{if not .SignedIn}}<p><a href="/signin?next=/me">{{t "nav.signin"}}</a></p>{{end}}
<div class="card ok"><p>{{t "me.balance" .C.Points}}<br>{{t "me.growth" .C.Growth}}{{if .C.Tier}}<br>{{t "me.tier" .C.Tier}}{{if .C.TierBenefit}}<br>{{t "me.tier_benefit" .C.TierBenefit}}{{end}}{{end}}{{if .C.NextTier}}<br>{{t "me.next_tier" .C.NextTier .C.NextTierGrowth}}{{end}}{{range .C.Expiring}}<br>{{t "me.expiring" .Points (date $.Zone .At)}}{{end}}</p><p><a href="/me/mall">{{t "mall.title"}}</a></p></div>
<h2>{{t "me.coupons"}}</h2>
{{range .Unused}}<div class="card ok" id="c-{{.ID}}"><h1>🎁 {{.Title}}</h1><p>{{t "landing.coupon.show" (date $.Zone .Expires)}}</p><img class="qr" src="/v1/coupons/{{.ID}}/qr.svg" alt="{{t "landing.coupon.alt"}}"><p><code>{{.ID}}</code></p></div>{{else}}<p>{{t "me.no_coupons"}}</p>{{end}}
{{range .Spent}}<p id="c-{{.ID}}">{{.Title}}: {{if eq .State "used"}}{{t "me.coupon.used" (date $.Zone .UsedAt)}}{{else if eq .State "expired"}}{{t "me.coupon.expired" (date $.Zone .Expires)}}{{else}}{{t "coupon.void"}}{{end}}</p>{{end}}
<h2>{{t "me.guide"}}</h2><p>{{with .C.GuideInfo}}{{if .Name}}{{.Name}}, {{end}}{{or .StoreName .Store}}{{else}}{{t "me.no_guide"}}{{end}}</p>
<h2>{{t "me.scanned"}}</h2>{{range .C.Scanned}}<p>{{or .ProductName .Product}} · {{date $.Zone .At}} · {{t "me.points" .Points}}</p>{{else}}<p>{{t "me.none_scanned"}}</p>{{end}}
<h2>{{t "me.ledger"}}</h2>{{range .Ledger}}<p>{{.At}} · {{.Reason}} · {{.Delta}}</p>{{else}}<p>{{t "me.no_ledger"}}</p>{{end}}
{{if .Next}}<p><a href="{{.Next}}">{{t "me.more"}}</a></p>{{end}}
{{if .SignedIn}}<h2>{{t "me.methods"}}</h2>{{range .Methods}}<p>{{.}}</p>{{end}}
<form method="post" action="/signout"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button>{{t "me.signout"}}</button></form>{{end}}{{end}}{{end}}
{{template "bottom"}}{{end}}
`))
