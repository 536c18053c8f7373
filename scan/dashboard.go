package scan

import (
	"bytes"
	"html/template"
	"slices"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The brand operator's dashboard: one server-rendered page that a browser
// on the promotion's war-room screen reloads every 15 seconds. It shows
// today's payouts, each campaign's budget and stock, where redemptions
// come from and the latest flags. It reads what the admin API reads and
// writes nothing but its login cookie.
var dashboardPage = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"date":  dateIn,
	"clock": func(loc *time.Location, t time.Time) string { return t.In(loc).Format("01-02 15:04") },
	"left": func(p *int64) string {
		if p == nil {
			return "no limit"
		}
		return thousandsOf(*p)
	},
	"n": thousandsOf,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
{{if .Data}}<meta http-equiv="refresh" content="15">{{end}}
<title>yima dashboard</title>
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
</style></head><body>
<h1>yima dashboard</h1>
{{if not .Data}}
<p>{{.Message}}</p>
<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"><label>Admin token (the data directory's admin.token)<br>
<input name="token" type="password" autocomplete="current-password"></label>
<button>Open</button></form>
{{else}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="signout" value="1"><button>Sign out</button></form>
{{with .Data}}
<p class="muted">Day {{.Today}} ({{.Zone}}), as of {{.Now}}; this page reloads every 15 seconds.</p>
<h2>Today</h2>
<div class="tiles">
<div class="tile">redemptions<b>{{n .Total.Redeemed}}</b></div>
<div class="tile">points paid<b>{{n .Total.Points}}</b></div>
<div class="tile">coupons issued<b>{{n .Total.Coupons}}</b></div>
<div class="tile">commission<b>{{n .Total.Commission}}</b></div>
<div class="tile{{if .Total.Diverted}} warn{{end}}">diverted<b>{{n .Total.Diverted}}</b></div>
</div>
<h2>Campaigns</h2>
{{if .Campaigns}}<table><tr><th>campaign</th><th>status</th><th>window</th><th>rewarded scans</th><th>points paid</th><th>points left</th><th>coupons issued</th><th>used</th><th>coupons left</th><th>commission</th></tr>
{{range .Campaigns}}<tr><td>{{.ID}}<br><span class="muted">{{.Name}}</span></td><td>{{.Status}}</td><td>{{date $.Data.Loc .StartsAt}} – {{date $.Data.Loc .EndsAt}}</td>
<td>{{n .Counters.RewardedScans}}</td><td>{{n .Counters.PointsPaid}}</td><td>{{left .PointsLeft}}</td>
<td>{{n .Counters.CouponsIssued}}</td><td>{{n .Counters.CouponsUsed}}</td><td>{{left .CouponsLeft}}</td><td>{{n .Counters.Commission}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No campaign yet: scans earn their batch's fixed points.</p>{{end}}
{{range .Dimensions}}<h2>Today by {{.Name}}</h2>
{{if .Lines}}<table><tr><th>{{.Name}}</th><th>redemptions</th><th>points</th><th>coupons</th><th>commission</th><th>diverted</th></tr>
{{range .Lines}}<tr><td>{{.Value}}</td><td>{{n .Redeemed}}</td><td>{{n .Points}}</td><td>{{n .Coupons}}</td><td>{{n .Commission}}</td><td>{{n .Diverted}}</td></tr>
{{end}}</table>{{if .More}}<p class="muted">and {{.More}} more (yima stats --by {{.Name}})</p>{{end}}{{else}}<p class="muted">None today.</p>{{end}}
{{end}}
<h2>Latest flags</h2>
{{if .Flags}}<table><tr><th>when</th><th>kind</th><th>code</th><th>product</th><th>detail</th></tr>
{{range .Flags}}<tr><td>{{clock $.Data.Loc .At}}</td><td class="l">{{.Kind}}</td><td class="l"><code>{{.Code}}</code></td><td class="l">{{.Product}}</td>
<td class="l">{{if eq .Kind "diverted"}}scanned in {{.Region}}, meant for {{.Intended}}{{else}}{{.Scanners}} people since {{date $.Data.Loc .FirstScan}}{{end}}</td></tr>
{{end}}</table>{{if .MoreFlags}}<p class="muted">Older ones: yima flags.</p>{{end}}{{else}}<p class="muted">Nothing to review.</p>{{end}}
{{end}}{{end}}
</body></html>
`))

// dashboardTop bounds the lines of each table.
const dashboardTop = 10

type dashboardData struct {
	Today, Zone, Now string
	Loc              *time.Location // the brand's time zone: every date and time shows in it
	Total            reward.Stat
	Campaigns        []*reward.CampaignView
	Dimensions       []dashboardDimension
	Flags            []reward.Flag
	MoreFlags        bool
}

type dashboardDimension struct {
	Name  string
	Lines []reward.Stat
	More  int
}

// dashboard serves /admin. A browser signs in once with the admin token;
// its cookie then holds a session id, the token stays in the server's
// session table, and "Sign out" ends the session. A script may send the
// token as a bearer token instead.
func (s *Server) dashboard(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	sid := string(ctx.Request.Header.Cookie(adminCookie))
	tok := s.sess.token(sid)
	if h, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer ")); ok {
		tok = string(h)
	}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		if len(ctx.PostArgs().Peek("signout")) > 0 {
			s.sess.end(sid)
			s.setSessionCookie(ctx, adminCookie, "", "/admin")
			seeOther(ctx, "/admin")
			return nil
		}
		tok = string(ctx.PostArgs().Peek("token"))
		if s.isAdmin(tok) {
			s.setSessionCookie(ctx, adminCookie, s.sess.start(tok), "/admin")
			seeOther(ctx, "/admin")
			return nil
		}
	}
	if !s.isAdmin(tok) {
		msg := "Sign in with the admin token."
		if tok != "" {
			msg = "That is not the admin token. Sign in with the data directory's admin.token."
		}
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		return s.renderDashboard(ctx, msg, nil)
	}
	d, err := s.dashboardData()
	if err != nil {
		return err
	}
	return s.renderDashboard(ctx, "", d)
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

func (s *Server) renderDashboard(ctx *fasthttp.RequestCtx, msg string, d *dashboardData) error {
	v, _ := s.visitor(ctx)
	return renderHTML(ctx, dashboardPage, struct {
		Message string
		Data    *dashboardData
		CSRF    string
	}{msg, d, s.csrfToken(v)})
}

func (s *Server) dashboardData() (*dashboardData, error) {
	e := s.app.Engine
	today := e.Today()
	d := &dashboardData{Today: today, Zone: e.StatsZone().String(), Loc: e.StatsZone(), Now: time.Now().In(e.StatsZone()).Format("15:04:05")}
	var err error
	if d.Campaigns, err = e.Campaigns(); err != nil {
		return nil, err
	}
	for _, dim := range []string{"product", "region", "guide", "batch"} {
		lines, err := e.Stats(dim, today, today, false)
		if err != nil {
			return nil, err
		}
		if dim == "product" {
			for _, l := range lines {
				d.Total.Redeemed += l.Redeemed
				d.Total.Points += l.Points
				d.Total.Coupons += l.Coupons
				d.Total.Commission += l.Commission
				d.Total.Diverted += l.Diverted
			}
		}
		slices.SortStableFunc(lines, func(a, b reward.Stat) int { return int(b.Redeemed - a.Redeemed) })
		dd := dashboardDimension{Name: dim, Lines: lines}
		if len(lines) > dashboardTop {
			dd.Lines, dd.More = lines[:dashboardTop], len(lines)-dashboardTop
		}
		d.Dimensions = append(d.Dimensions, dd)
	}
	flags, err := e.LatestFlags(2*dashboardTop + 1)
	if err != nil {
		return nil, err
	}
	d.Flags, d.MoreFlags = flags, len(flags) > 2*dashboardTop
	if d.MoreFlags {
		d.Flags = flags[:2*dashboardTop]
	}
	return d, nil
}

// numbers writes figures with thousands separators: 1234567 → 1,234,567.
var numbers = message.NewPrinter(language.English)

func thousandsOf(n int64) string { return numbers.Sprintf("%d", n) }
