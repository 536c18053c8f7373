package scan

import (
	"bytes"
	"html/template"
	"slices"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The brand operator's dashboard: one server-rendered page that a browser
// on the promotion's war-room screen reloads every 15 seconds. It shows
// today's payouts, each campaign's budget and stock, where redemptions
// come from (product, region, guide, batch, source, store) and the latest
// flags. It reads what the admin API reads and
// writes nothing but its login cookie.
var dashboardPage = withBrand(template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"date":       dateIn,
	"brandColor": brandColor,
	"clock":      func(loc *time.Location, t time.Time) string { return t.In(loc).Format("01-02 15:04") },
	// Bound to a language in each locale's copy (see locale.funcs).
	"t": func(string, ...any) string { return "" }, "n": func(int64) string { return "" }, "left": func(*int64) string { return "" },
	"dim": func(string) string { return "" }, "cstatus": func(string) string { return "" }, "flag": func(string) string { return "" },
	"whstate": func(string) string { return "" },
}).Parse(`<!doctype html>
<html lang="{{.L.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
{{if .Data}}<meta http-equiv="refresh" content="15">{{end}}
<title>{{t "dash.title"}}</title>
<style>
body{font-family:system-ui,sans-serif;padding:1rem 1.5rem;color:#222;max-width:72rem;margin:auto}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child,td.l{text-align:left}
.tiles{display:flex;flex-wrap:wrap;gap:.8rem}
.tile{border:1px solid #ccc;border-radius:8px;padding:.6rem 1rem;min-width:8rem}
.tile b{display:block;font-size:1.5rem}.warn{color:#a06000}.muted{color:#777}
input{font-size:1rem;padding:.4rem;width:22rem;max-width:100%}button{font-size:1rem;padding:.4rem 1rem}
{{template "brandstyle" .Brand}}
</style></head><body>
{{template "brandheader" .Brand}}
<h1>{{t "dash.title"}}</h1>
{{if not .Data}}
<p>{{.Message}}</p>
<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"><label>{{t "dash.token.label"}}<br>
<input name="token" type="password" autocomplete="current-password"></label>
<button>{{t "dash.open"}}</button></form>
{{else}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="signout" value="1"><button>{{t "dash.signout"}}</button></form>
{{with .Data}}
<p class="muted">{{t "dash.asof" .Today .Zone .Now}}</p>
<h2>{{t "dash.today"}}</h2>
<div class="tiles">
<div class="tile">{{t "dash.redemptions"}}<b>{{n .Total.Redeemed}}</b></div>
<div class="tile">{{t "dash.pointspaid"}}<b>{{n .Total.Points}}</b></div>
<div class="tile">{{t "dash.couponsissued"}}<b>{{n .Total.Coupons}}</b></div>
<div class="tile">{{t "dash.commission"}}<b>{{n .Total.Commission}}</b></div>
<div class="tile{{if .Total.Diverted}} warn{{end}}">{{t "dash.diverted"}}<b>{{n .Total.Diverted}}</b></div>
<div class="tile">{{t "dash.verified"}}<b>{{n .Total.Verified}}</b></div>
<div class="tile">{{t "dash.newmembers"}}<b>{{n .Total.NewMembers}}</b></div>
</div>
<h2>{{t "dash.campaigns"}}</h2>
{{if .Campaigns}}<table><tr><th>{{t "dash.campaign"}}</th><th>{{t "dash.status"}}</th><th>{{t "dash.window"}}</th><th>{{t "dash.rewardedscans"}}</th><th>{{t "dash.pointspaid"}}</th><th>{{t "dash.pointsleft"}}</th><th>{{t "dash.couponsissued"}}</th><th>{{t "dash.used"}}</th><th>{{t "dash.couponsleft"}}</th><th>{{t "dash.commission"}}</th></tr>
{{range .Campaigns}}<tr><td>{{.ID}}<br><span class="muted">{{.Name}}</span></td><td>{{cstatus .Status}}</td><td>{{date $.Data.Loc .StartsAt}} – {{date $.Data.Loc .EndsAt}}</td>
<td>{{n .Counters.RewardedScans}}</td><td>{{n .Counters.PointsPaid}}</td><td>{{left .PointsLeft}}</td>
<td>{{n .Counters.CouponsIssued}}</td><td>{{n .Counters.CouponsUsed}}</td><td>{{left .CouponsLeft}}</td><td>{{n .Counters.Commission}}</td></tr>
{{end}}</table>{{else}}<p class="muted">{{t "dash.nocampaign"}}</p>{{end}}
{{range .Dimensions}}<h2>{{t "dash.by" (dim .Name)}}</h2>
{{if .Lines}}<table><tr><th>{{dim .Name}}</th><th>{{t "dash.redemptions"}}</th><th>{{t "dash.points"}}</th><th>{{t "dash.coupons"}}</th><th>{{t "dash.commission"}}</th><th>{{t "dash.diverted"}}</th></tr>
{{range .Lines}}<tr><td>{{.Value}}</td><td>{{n .Redeemed}}</td><td>{{n .Points}}</td><td>{{n .Coupons}}</td><td>{{n .Commission}}</td><td>{{n .Diverted}}</td></tr>
{{end}}</table>{{if .More}}<p class="muted">{{t "dash.more" .More .Name}}</p>{{end}}{{else}}<p class="muted">{{t "dash.nonetoday"}}</p>{{end}}
{{end}}
{{range .Channels}}<h2>{{t "dash.by" (dim .Name)}}</h2>
{{if .Lines}}<table><tr><th>{{dim .Name}}</th><th>{{t "dash.redemptions"}}</th><th>{{t "dash.newmembers"}}</th><th>{{t "dash.points"}}</th><th>{{t "dash.verified"}}</th><th>{{t "dash.commission"}}</th></tr>
{{range .Lines}}<tr><td>{{if eq .Value $.Data.None}}{{if eq .Dimension "store"}}{{t "dash.nostore"}}{{else}}{{t "dash.nosource"}}{{end}}{{else}}{{.Value}}{{end}}</td><td>{{n .Redeemed}}</td><td>{{n .NewMembers}}</td><td>{{n .Points}}</td><td>{{n .Verified}}</td><td>{{n .Commission}}</td></tr>
{{end}}</table>{{if .More}}<p class="muted">{{t "dash.more" .More .Name}}</p>{{end}}{{else}}<p class="muted">{{t "dash.nonetoday"}}</p>{{end}}
{{end}}
<h2>{{t "dash.flags"}}</h2>
{{if .Flags}}<table><tr><th>{{t "dash.when"}}</th><th>{{t "dash.kind"}}</th><th>{{t "dash.code"}}</th><th>{{t "dash.product"}}</th><th>{{t "dash.detail"}}</th></tr>
{{range .Flags}}<tr><td>{{clock $.Data.Loc .At}}</td><td class="l">{{flag .Kind}}</td><td class="l"><code>{{.Code}}</code></td><td class="l">{{.Product}}</td>
<td class="l">{{if eq .Kind "diverted"}}{{t "dash.flag.diverted" .Region .Intended}}{{else}}{{t "dash.flag.scanners" .Scanners (date $.Data.Loc .FirstScan)}}{{end}}</td></tr>
{{end}}</table>{{if .MoreFlags}}<p class="muted">{{t "dash.flags.older"}}</p>{{end}}{{else}}<p class="muted">{{t "dash.flags.none"}}</p>{{end}}
<h2>{{t "dash.webhooks"}}</h2>
{{if .Webhooks}}<table><tr><th>{{t "dash.webhook.url"}}</th><th>{{t "dash.status"}}</th><th>{{t "dash.webhook.cursor"}}</th><th>{{t "dash.webhook.lag"}}</th><th>{{t "dash.webhook.lasterror"}}</th></tr>
{{range .Webhooks}}<tr><td class="l"><code>{{.URL}}</code><br><span class="muted">{{.ID}}</span></td><td class="l{{if .Failing}} warn{{end}}">{{whstate .State}}{{if .Failing}}<br><span class="muted">{{t "dash.webhook.since" (clock $.Data.Loc .FailingSince)}}</span>{{end}}</td>
<td>{{.Cursor}}</td><td>{{.Lag}}</td><td class="l">{{if .LastError}}{{.LastError}}{{if not .LastAttempt.IsZero}}<br><span class="muted">{{clock $.Data.Loc .LastAttempt}}</span>{{end}}{{end}}</td></tr>
{{end}}</table>{{if .PausedHooks}}<p class="warn">{{t "dash.webhooks.paused"}}</p>{{end}}{{else}}<p class="muted">{{t "dash.webhooks.none"}}</p>{{end}}
{{end}}{{end}}
</body></html>
`)))

// dashboardTop bounds the lines of each table.
const dashboardTop = 10

type dashboardData struct {
	Today, Zone, Now string
	Loc              *time.Location // the brand's time zone: every date and time shows in it
	Total            reward.Stat
	Campaigns        []*reward.CampaignView
	Dimensions       []dashboardDimension
	// Channels are where members come from and whose counter served
	// them: by source and by store, with gifts verified and new members.
	Channels    []dashboardDimension
	None        string // the value of the lines without a source or store
	Flags       []reward.Flag
	MoreFlags   bool
	Webhooks    []WebhookView // each endpoint's delivery status
	PausedHooks bool
}

type dashboardDimension struct {
	Name  string
	Lines []reward.Stat
	More  int
}

// dashboard serves /admin. A browser signs in once with an admin token
// (admin.token, or a token record of role admin); its cookie then holds a
// session id, the session is a record every node reads, and "Sign out"
// ends it. A script may send the token as a bearer token instead.
func (s *Server) dashboard(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	who, signedIn, err := s.pageCaller(ctx, adminSession)
	if err != nil {
		return err
	}
	tried := false // a token was given that is no admin's
	if h, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer ")); ok {
		who, signedIn, tried = s.adminOf(string(h))
	}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		if len(ctx.PostArgs().Peek("signout")) > 0 {
			return s.signOut(ctx, adminSession, "/admin"+langQuery(ctx))
		}
		tok := string(ctx.PostArgs().Peek("token"))
		if who, signedIn, tried = s.adminOf(tok); signedIn {
			return s.signIn(ctx, adminSession, tok, "/admin"+langQuery(ctx))
		}
	}
	l := s.pageWords(ctx)
	if !signedIn || who.role != reward.RoleAdmin {
		msg := l.T("dash.signin")
		if tried {
			msg = l.T("dash.badtoken")
		}
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		return s.renderDashboard(ctx, l, msg, nil)
	}
	d, err := s.dashboardData()
	if err != nil {
		return err
	}
	return s.renderDashboard(ctx, l, "", d)
}

// adminOf checks tok for the dashboard: ok when it is an admin's; tried
// when a token was given that is not.
func (s *Server) adminOf(tok string) (who caller, ok, tried bool) {
	if tok == "" {
		return caller{}, false, false
	}
	who, err := s.caller(tok)
	if err != nil || who.role != reward.RoleAdmin {
		return caller{}, false, true
	}
	return who, true, false
}

// adminCookie holds a signed-in dashboard's session id.
const adminCookie = "yima_a"

// seeOther redirects to path on this site. The Location is the path
// alone: fasthttp's Redirect would prefix the request's Host header, which
// the client chooses.
func seeOther(ctx *fasthttp.RequestCtx, path string) {
	ctx.Response.Header.Set("Location", path)
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

func (s *Server) renderDashboard(ctx *fasthttp.RequestCtx, l *locale, msg string, d *dashboardData) error {
	v, _ := s.visitor(ctx)
	b, _ := s.app.Engine.Brand()
	return renderHTML(ctx, l.dashboard, struct {
		L       *locale
		Brand   *reward.Brand
		Message string
		Data    *dashboardData
		CSRF    string
	}{l, b, msg, d, s.csrfToken(v)})
}

func (s *Server) dashboardData() (*dashboardData, error) {
	e := s.app.Engine
	today := e.Today()
	d := &dashboardData{Today: today, Zone: e.Zone().String(), Loc: e.Zone(), Now: time.Now().In(e.Zone()).Format("15:04:05"), None: reward.NoValue}
	var err error
	if d.Campaigns, err = e.Campaigns(); err != nil {
		return nil, err
	}
	for _, dim := range []string{"product", "region", "guide", "batch", "source", "store"} {
		lines, err := e.Stats(dim, today, today, false)
		if err != nil {
			return nil, err
		}
		switch dim {
		case "product":
			// Every redemption has a product.
			for _, l := range lines {
				d.Total.Redeemed += l.Redeemed
				d.Total.Points += l.Points
				d.Total.Coupons += l.Coupons
				d.Total.Commission += l.Commission
				d.Total.Diverted += l.Diverted
				d.Total.NewMembers += l.NewMembers
			}
		case "store":
			// Every verification has a store, a mall coupon's too.
			for _, l := range lines {
				d.Total.Verified += l.Verified
			}
		}
		slices.SortStableFunc(lines, func(a, b reward.Stat) int { return int(b.Redeemed - a.Redeemed) })
		dd := dashboardDimension{Name: dim, Lines: lines}
		if len(lines) > dashboardTop {
			dd.Lines, dd.More = lines[:dashboardTop], len(lines)-dashboardTop
		}
		if dim == "source" || dim == "store" {
			d.Channels = append(d.Channels, dd)
		} else {
			d.Dimensions = append(d.Dimensions, dd)
		}
	}
	flags, err := e.LatestFlags(2*dashboardTop + 1)
	if err != nil {
		return nil, err
	}
	d.Flags, d.MoreFlags = flags, len(flags) > 2*dashboardTop
	if d.MoreFlags {
		d.Flags = flags[:2*dashboardTop]
	}
	if d.Webhooks, err = WebhookViews(e); err != nil {
		return nil, err
	}
	for _, w := range d.Webhooks {
		d.PausedHooks = d.PausedHooks || w.Paused
	}
	return d, nil
}
