package scan

import (
	"bytes"
	"html/template"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// landingPage is the consumer's page behind the QR: light, no scripts, no
// external assets, so it holds up when a promotion brings everyone at once.
var landingPage = template.Must(template.New("c").Funcs(template.FuncMap{
	"date": func(t *time.Time) string { return t.Format("2006-01-02") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;padding:1.5rem;max-width:28rem;margin:auto;color:#222}
.card{border-radius:12px;padding:1.25rem;margin:1rem 0}
.ok{background:#e8f6ec;border:1px solid #5cb176}.warn{background:#fff6e0;border:1px solid #e0a800}
.bad{background:#fdecea;border:1px solid #d9534f}h1{font-size:1.4rem;margin:.2rem 0}
p{line-height:1.45}code{font-size:.85rem;word-break:break-all}
</style></head><body>
<div class="card {{.Class}}"><h1>{{.Title}}</h1><p>{{.Message}}</p></div>
{{with .S}}{{if .Valid}}<p>Product: <b>{{.Product}}</b><br>Batch {{.Batch}}, serial {{.Serial}}</p>
{{if .FirstScan}}<p>Scanned {{.Scans}} time(s) by {{.Scanners}} person(s), first on {{date .FirstScan}}.</p>{{end}}{{end}}
<p><code>{{.Code}}</code></p>{{end}}
</body></html>
`))

type pageData struct {
	Title, Message, Class string
	S                     *reward.CodeStatus
}

// landing renders /c/{code}. The view counts as a scan by this browser,
// identified by a random cookie so that one person reloading does not look
// like a counterfeit seen by many.
func (s *Server) landing(ctx *fasthttp.RequestCtx, _ caller, code string) error {
	visitor := string(ctx.Request.Header.Cookie("yima_v"))
	if len(visitor) != 27 {
		visitor = ksuid.New().String()
		var c fasthttp.Cookie
		c.SetKey("yima_v")
		c.SetValue(visitor)
		c.SetPath("/")
		c.SetMaxAge(2 * 365 * 24 * 3600)
		c.SetHTTPOnly(true)
		c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
		ctx.Response.Header.SetCookie(&c)
	}
	// Count first, so the page shows this scan too; a failure to count
	// must not hide whether the product is genuine.
	countErr := s.app.Engine.CountVisit(code, visitor)
	st, err := s.app.Engine.Status(code)
	if err != nil {
		return err
	}
	d := pageData{S: st}
	switch {
	case !st.Valid:
		d.Title, d.Class = "Not a genuine code", "bad"
		d.Message = "This code was not issued by the brand. The product may be counterfeit; please keep your receipt and contact the brand."
	case st.Redeemed:
		d.Title, d.Class = "Genuine — already redeemed", "warn"
		d.Message = "This product is genuine, and its reward was claimed on " + st.RedeemedAt.Format("2006-01-02") + ". If you just opened this package, please contact the brand."
	case st.State != "active":
		d.Title, d.Class = "Genuine product", "ok"
		d.Message = "This product is genuine. Its reward is not available yet: it opens once the product is released for sale."
	default:
		d.Title, d.Class = "Genuine product", "ok"
		d.Message = "This product is genuine and its reward has not been claimed. Open the brand's app to claim your points."
	}
	if st.Valid && st.Scanners > 1 && !st.Redeemed {
		d.Class = "warn"
		d.Message += " Note: this code has been scanned by several people."
	}
	if countErr != nil && reward.ErrorCode(countErr) == reward.CodeUnavailable {
		s.log.Warn("landing page could not count a scan", "err", countErr)
	}
	var buf bytes.Buffer
	if err := landingPage.Execute(&buf, d); err != nil {
		return err
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(buf.Bytes())
	return nil
}
