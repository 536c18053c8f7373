package scan

import (
	"encoding/json"
	"errors"
	"html/template"
	"strconv"
	"strings"

	"github.com/segmentio/ksuid"
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The points mall page, /me/mall: the member's balance, the catalog
// cheapest first, a form per item, and what the member redeemed. Like every
// consumer page it is plain HTML (no script, no external asset of its own)
// and its form carries the browser's CSRF token. Only a signed-in member
// redeems: points are worth money, and a browser's own points come along
// when it signs in.

// mallView is the mall as the page shows it.
type mallView struct {
	SignedIn bool
	Points   int64
	Rewards  []*reward.RewardView
	// Done is what a redemption just made, Mine the member's latest
	// exchanges.
	Done *reward.RedeemResult
	Mine []reward.Exchange
	// RequestID is the request_id of this page's forms: a form sent twice
	// (a double tap, a reload) redeems once.
	RequestID string
}

// maxMallMine bounds the exchanges the page lists.
const maxMallMine = 20

// mallPage serves GET and POST /me/mall.
func (s *Server) mallPage(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	l := s.pageWords(ctx)
	ident := s.signedIn(ctx)
	v := &mallView{SignedIn: ident != "", RequestID: ksuid.New().String()}
	d := pageData{L: l, Title: l.T("mall.title"), Class: "ok", Mall: v, Nav: &navView{SignedIn: ident != "", Next: "/me/mall"}}
	status := fasthttp.StatusOK
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		if ident == "" {
			return errorf(codeUnauthorized, "sign in first")
		}
		res, err := s.redeemForm(ctx, ident)
		var re *reward.Error
		switch {
		case err == nil:
			v.Done = res
			d.Message = l.T("mall.done", res.Exchange.Title, res.Exchange.Quantity, res.Exchange.Points)
		case errors.As(err, &re) && re.Code != reward.CodeInternal && re.Code != reward.CodeUnavailable:
			// A refusal of the rules: the mall again, saying why.
			d.Class, d.Message = "bad", l.refusal(re.Code)
			if st, ok := statusOf[re.Code]; ok {
				status = st
			}
		default:
			return err
		}
	}
	if ident != "" {
		c, err := s.app.Engine.MemberCentre(ident, "", 1)
		if err != nil {
			return err
		}
		v.Points = c.Points
		page, err := s.app.Engine.Exchanges(ident, "", "", maxMallMine)
		if err != nil {
			return err
		}
		v.Mine = page.Exchanges
		if v.Done == nil { // a redemption's card says the balance
			d.Message = strings.TrimSpace(d.Message + " " + l.T("mall.balance", c.Points))
		}
	} else if d.Message == "" {
		d.Class, d.Message = "warn", l.T("mall.signed_out")
	}
	rs, err := s.app.Engine.Rewards(false)
	if err != nil {
		return err
	}
	v.Rewards = rs
	if err := s.renderPage(ctx, "mall", d); err != nil {
		return err
	}
	ctx.SetStatusCode(status)
	return nil
}

// redeemForm redeems what the mall's form asks, for the signed-in member,
// with the request ids of the member's browser session (as the API's).
func (s *Server) redeemForm(ctx *fasthttp.RequestCtx, ident string) (*reward.RedeemResult, error) {
	f := ctx.PostArgs()
	req := reward.RedeemRequest{Reward: string(f.Peek("reward")), RequestID: string(f.Peek("request_id")), Scope: "session:" + ident}
	if q := strings.TrimSpace(string(f.Peek("quantity"))); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil {
			return nil, errorf(reward.CodeInvalidRequest, "quantity %q is not a number", q)
		}
		req.Quantity = n
	}
	if f.Has("name") || f.Has("phone") || f.Has("address") {
		req.Address = &reward.Address{Name: strings.TrimSpace(string(f.Peek("name"))), Phone: strings.TrimSpace(string(f.Peek("phone"))), Address: strings.TrimSpace(string(f.Peek("address")))}
	}
	raw, err := s.app.Engine.Redeem(ident, req)
	if err != nil {
		return nil, err
	}
	var res reward.RedeemResult
	return &res, json.Unmarshal(raw, &res)
}

var _ = template.Must(pages.New("mall-pages").Parse(`
{{define "mall"}}{{template "top" .}}
{{with .Mall}}{{if not .SignedIn}}<p><a href="/signin?next=/me/mall">{{t "mall.signin"}}</a></p>{{end}}
{{with .Done}}<div class="card ok">{{range .Coupons}}<p>🎁 {{.Title}} · {{t "landing.coupon.show" (date $.Zone .Expires)}}</p><img class="qr" src="/v1/coupons/{{.ID}}/qr.svg" alt="{{t "landing.coupon.alt"}}"><p><code>{{.ID}}</code></p>{{end}}
{{range .Exchange.Vouchers}}<p>{{t "mall.voucher"}} <code class="v">{{.}}</code></p>{{end}}
{{if eq .Exchange.Kind "goods"}}<p>{{t "mall.order_pending"}}</p>{{end}}<p>{{t "mall.balance" .Balance}}</p></div>{{end}}
{{range $i, $r := .Rewards}}<div class="card item" id="r-{{.ID}}">{{with .Picture}}<img class="product" src="{{.}}" alt="">{{end}}
<h1>{{.Title}}</h1><p><b>{{t "mall.price" .Price}}</b> · {{if eq .Status "live"}}{{t "mall.left" .Left}}{{else if eq .Status "sold_out"}}{{t "mall.sold_out"}}{{else}}{{t "mall.from" (date $.Zone .StartsAt)}}{{end}}{{if .Limit}} · {{t "mall.limit" .Limit}}{{end}}</p>
{{with .Description}}<p>{{.}}</p>{{end}}
{{if and $.Mall.SignedIn (eq .Status "live") (lt $.Mall.Points .Price)}}<p class="muted">{{t "mall.need" .Price}}</p>
{{else if and $.Mall.SignedIn (eq .Status "live")}}<form method="post"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="reward" value="{{.ID}}"><input type="hidden" name="request_id" value="{{$.Mall.RequestID}}-{{$i}}">
{{if eq .Kind "goods"}}<label>{{t "mall.name"}}<input name="name" autocomplete="name" maxlength="40" required></label><label>{{t "mall.phone"}}<input name="phone" type="tel" autocomplete="tel" maxlength="32" required></label><label>{{t "mall.address"}}<input name="address" autocomplete="street-address" maxlength="200" required></label>{{end}}
<label>{{t "mall.quantity"}}<input name="quantity" type="number" inputmode="numeric" min="1" max="100" value="1"></label>
<button>{{t "mall.redeem"}}</button></form>{{end}}</div>
{{else}}<p>{{t "mall.empty"}}</p>{{end}}
{{if .SignedIn}}<h2>{{t "mall.mine"}}</h2>{{range .Mine}}<p>{{date $.Zone .At}} · {{.Title}} ×{{.Quantity}} · {{t "me.points" .Points}} · {{if eq .Status "pending"}}{{t "mall.status.pending"}}{{else if eq .Status "shipped"}}{{t "mall.status.shipped"}}{{else if eq .Status "cancelled"}}{{t "mall.status.cancelled"}}{{else}}{{t "mall.status.done"}}{{end}}{{range .Vouchers}}<br>{{t "mall.voucher"}} <code>{{.}}</code>{{end}}{{range .Coupons}}<br><a href="/v1/coupons/{{.}}/qr.svg">{{t "mall.coupon_qr"}}</a>{{end}}</p>{{else}}<p>{{t "mall.none"}}</p>{{end}}{{end}}
{{end}}<p class="nav"><a href="/me">{{t "nav.me"}}</a></p>
{{template "bottom"}}{{end}}
`))
