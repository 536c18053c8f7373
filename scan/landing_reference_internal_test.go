package scan

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
)

// landingTemplate is the template the landing page was rendered with
// before its hand-written writer (landingpage.go): the reference the
// writer must match, byte for byte, in every state. It runs inside the
// live page templates ("top", "nav", "bottom", the brand's), so a change
// of those that the writer does not follow fails here too.
const landingTemplate = `{{define "landing"}}{{template "top" .}}
{{with .S}}{{if .Valid}}{{with $.Product}}{{with .ImageURL}}<img class="product" src="{{.}}" alt="">{{end}}{{end}}
<p>{{t "landing.product"}} <b>{{if and $.Product $.Product.Name}}{{$.Product.Name}}{{else}}{{.Product}}{{end}}</b>{{with $.Product}}{{with .Spec}}<br>{{t "landing.spec" .}}{{end}}{{end}}
{{with .Produced}}<br>{{t "landing.produced" .}}{{end}}<br>{{t "landing.batch" (id .Batch) (id .Serial)}}</p>
{{with $.Product}}{{with .Description}}<p>{{.}}</p>{{end}}{{end}}
{{if .FirstScan}}<p><b>{{if le .Scanners 1}}{{t "landing.firstcheck"}}{{else}}{{t "landing.checked" .Scanners (date $.Zone .FirstScan)}}{{end}}</b></p>{{end}}{{end}}{{end}}
{{with .Result}}<p>{{t "landing.earned" .Points}}{{if .Bonus}} {{t "landing.bonus" .Bonus}}{{end}} <b>{{t "landing.balance" .Balance}}</b></p>
{{with .Coupon}}<div class="card ok"><h1>🎁 {{.Title}}</h1><p>{{t "landing.coupon.show" (date $.Zone .ExpiresAt)}}</p>
<img class="qr" src="/v1/coupons/{{.ID}}/qr.svg" alt="{{t "landing.coupon.alt"}}"><p><code>{{.ID}}</code></p></div>{{end}}{{end}}
{{with .Claimed}}{{with .Coupon}}<div class="card ok"><h1>🎁 {{.Title}}</h1>{{if eq .Status "issued"}}<p>{{t "landing.coupon.show" (date $.Zone .Expires)}}</p>
<img class="qr" src="/v1/coupons/{{.ID}}/qr.svg" alt="{{t "landing.coupon.alt"}}">{{else}}<p>{{t "counter.status" (status .Status)}}</p>{{end}}<p><a href="/me#c-{{.ID}}">{{t "landing.yours.coupon"}}</a></p></div>{{end}}{{end}}
{{if .Claim}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}">{{if eq .S.Claim "pin"}}<p>{{t "landing.pin.ask" .S.PINDigits}}</p>
<label>{{t "landing.pin"}} <input name="pin" inputmode="numeric" autocomplete="off" pattern="[0-9]*" minlength="{{.S.PINDigits}}" maxlength="{{.S.PINDigits}}" required></label>
{{end}}<button>{{t "landing.claim"}}</button></form>{{end}}
{{with .S}}<p><code>{{.Code}}</code></p>{{end}}
{{with .Nav}}{{template "nav" .}}{{end}}
{{template "bottom"}}{{end}}`

// landingData is what the reference template was given.
type landingData struct {
	Zone                  *time.Location
	L                     *locale
	Brand                 *reward.Brand
	Product               *reward.Product
	Title, Message, Class string
	S                     *reward.CodeStatus
	Result                *reward.ScanResult
	Claimed               *reward.Claim
	Claim                 bool
	Nav                   *navView
	CSRF                  string
}

// referenceCard is how the handler chose the card before the writer: the
// reference of landingView.card.
func referenceCard(l *locale, zone *time.Location, st *reward.CodeStatus, yours *reward.Claim, d *landingData) {
	switch {
	case !st.Valid && st.Reason == string(reward.CodeUnknownBatch):
		d.Title, d.Class, d.Message = l.T("landing.unknownbatch.title"), "warn", l.T("landing.unknownbatch.message")
	case !st.Valid && st.Reason == string(reward.CodeKeyRetired):
		d.Title, d.Class, d.Message = l.T("landing.retired.title"), "warn", l.T("landing.retired.message")
	case !st.Valid:
		d.Title, d.Class, d.Message = l.T("landing.forged.title"), "bad", l.T("landing.forged.message")
	case st.Redeemed:
		if yours != nil {
			d.Title, d.Class, d.Claimed = l.T("landing.yours.title"), "ok", yours
			d.Message = l.T("landing.yours.message", dateIn(zone, yours.At), yours.Points)
			break
		}
		d.Title, d.Class = l.T("landing.redeemed.title"), "warn"
		d.Message = l.T("landing.redeemed.message", dateIn(zone, *st.RedeemedAt))
	case st.State == string(reward.Revoked):
		d.Title, d.Class, d.Message = l.T("landing.revoked.title"), "warn", l.T("landing.revoked.message")
	case st.State != "active":
		d.Title, d.Class, d.Message = l.T("landing.genuine.title"), "ok", l.T("landing.inactive.message")
	case st.PayoutHeld:
		d.Title, d.Class, d.Message = l.T("landing.genuine.title"), "ok", l.T("landing.held.message")
	case st.Promotion == "ended":
		d.Title, d.Class, d.Message = l.T("landing.genuine.title"), "ok", l.T("landing.ended.message")
	case st.Promotion == "scheduled":
		d.Title, d.Class, d.Message = l.T("landing.genuine.title"), "ok", l.T("landing.scheduled.message")
	case st.Promotion == "exhausted":
		d.Title, d.Class, d.Message = l.T("landing.genuine.title"), "ok", l.T("landing.exhausted.message")
	default:
		d.Title, d.Class, d.Message = l.T("landing.genuine.title"), "ok", l.T("landing.open.message")
		d.Claim = true
	}
	if st.Valid && st.Scanners > 1 && !st.Redeemed {
		d.Class = "warn"
		d.Message += " " + l.T("landing.many.note")
	}
}

// referenceTemplates are the live page templates of each language with
// the reference landing template added.
func referenceTemplates(t *testing.T) map[*locale]*template.Template {
	t.Helper()
	out := map[*locale]*template.Template{}
	for _, l := range locales {
		tm := template.Must(pages.Clone()).Funcs(l.funcs())
		template.Must(tm.New("reference").Parse(landingTemplate))
		out[l] = tm.Lookup("landing")
	}
	return out
}

// hostile is text a brand, a product or a code's address may carry that
// must stay text.
const hostile = `<script>alert("x")</script> & 'q' + a+b < > ` + "\x00 \xff 名 \uFDD0 %41 %zz /?#"

// landingCase is one state of the page.
type landingCase struct {
	name   string
	st     reward.CodeStatus
	yours  *reward.Claim
	result *reward.ScanResult
	// refused is the refusal a claim got, shown instead of the state's card.
	refused reward.Code
}

func landingCases() []landingCase {
	first := time.Date(2026, 11, 2, 23, 30, 0, 0, time.UTC) // Nov 3 in Shanghai
	redeemed := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	expires := time.Date(2026, 12, 31, 15, 59, 0, 0, time.UTC)
	open := reward.CodeStatus{Valid: true, Code: "ABCD" + hostile, Product: "SKU-1", Batch: 12345, Serial: 1000000, State: "active", Scans: 1, Scanners: 1, FirstScan: &first}
	with := func(f func(*reward.CodeStatus)) reward.CodeStatus { st := open; f(&st); return st }
	coupon := func(status string) *reward.Coupon {
		return &reward.Coupon{ID: "cpn" + hostile, Title: "满100减20 " + hostile, Status: status, Expires: expires}
	}
	return []landingCase{
		{name: "first check, claim offered", st: open},
		{name: "never counted", st: with(func(s *reward.CodeStatus) { s.FirstScan, s.Scans, s.Scanners = nil, 0, 0 })},
		{name: "checked by 3", st: with(func(s *reward.CodeStatus) { s.Scans, s.Scanners = 5, 3 })},
		{name: "checked by 1234", st: with(func(s *reward.CodeStatus) { s.Scans, s.Scanners = 5000, 1234 })},
		{name: "pin claim", st: with(func(s *reward.CodeStatus) { s.Claim, s.PINDigits = "pin", 6 })},
		{name: "pin claim, checked by many", st: with(func(s *reward.CodeStatus) { s.Claim, s.PINDigits, s.Scanners = "pin", 8, 2 })},
		{name: "produced", st: with(func(s *reward.CodeStatus) { s.Produced = "2026-11-01" + hostile })},
		{name: "SKU only", st: with(func(s *reward.CodeStatus) { s.Product = "SKU" + hostile })},
		{name: "inactive", st: with(func(s *reward.CodeStatus) { s.State = "inactive" })},
		{name: "inactive, checked by many", st: with(func(s *reward.CodeStatus) { s.State, s.Scanners = "inactive", 4 })},
		{name: "revoked", st: with(func(s *reward.CodeStatus) { s.State = string(reward.Revoked) })},
		{name: "held", st: with(func(s *reward.CodeStatus) { s.PayoutHeld = true })},
		{name: "ended", st: with(func(s *reward.CodeStatus) { s.Promotion = "ended" })},
		{name: "scheduled", st: with(func(s *reward.CodeStatus) { s.Promotion = "scheduled" })},
		{name: "exhausted", st: with(func(s *reward.CodeStatus) { s.Promotion = "exhausted" })},
		{name: "live", st: with(func(s *reward.CodeStatus) { s.Promotion = "live" })},
		{name: "redeemed by someone else", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt, s.Scanners = true, &redeemed, 3 })},
		{name: "yours, no coupon", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt = true, &redeemed }),
			yours: &reward.Claim{At: redeemed, Points: 1500}},
		{name: "yours, coupon issued", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt = true, &redeemed }),
			yours: &reward.Claim{At: redeemed, Points: 10, Coupon: coupon(reward.CouponIssued)}},
		{name: "yours, coupon used", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt = true, &redeemed }),
			yours: &reward.Claim{At: redeemed, Points: 10, Coupon: coupon(reward.CouponUsed)}},
		{name: "yours, coupon void", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt = true, &redeemed }),
			yours: &reward.Claim{At: redeemed, Points: 0, Coupon: coupon(reward.CouponVoid)}},
		{name: "yours, coupon in a state without a word", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt = true, &redeemed }),
			yours: &reward.Claim{At: redeemed, Points: 10, Coupon: coupon("odd" + hostile)}},
		{name: "claimed now", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt = true, &redeemed }),
			result: &reward.ScanResult{Points: 10, Balance: 10}},
		{name: "claimed now, bonus and coupon", st: with(func(s *reward.CodeStatus) { s.Redeemed, s.RedeemedAt = true, &redeemed }),
			result: &reward.ScanResult{Points: 1010, Bonus: 1000, Balance: 1234567, Coupon: &reward.CouponSummary{ID: "cpn" + hostile, Title: "礼" + hostile, ExpiresAt: expires}}},
		{name: "claim refused", st: open, refused: reward.CodeDailyLimit},
		{name: "claim refused, wrong pin", st: with(func(s *reward.CodeStatus) { s.Claim, s.PINDigits = "pin", 6 }), refused: reward.CodeWrongPIN},
		{name: "claim refused, a refusal without words", st: open, refused: "something_new"},
		{name: "forged", st: reward.CodeStatus{Code: "FORGED" + hostile, Reason: string(reward.CodeInvalidCode)}},
		{name: "not a code at all", st: reward.CodeStatus{Reason: string(reward.CodeInvalidCode)}},
		{name: "unknown batch", st: reward.CodeStatus{Code: "UNKNOWN", Reason: string(reward.CodeUnknownBatch)}},
		{name: "retired key", st: reward.CodeStatus{Code: "RETIRED", Reason: string(reward.CodeKeyRetired)}},
	}
}

// landingProducts and landingBrands are what the catalog and the brand's
// settings may hold, hostile ones included; nil is none.
var (
	landingProducts = []*reward.Product{
		nil,
		{SKU: "SKU-1"},
		{SKU: "SKU-1", Name: "有机全脂奶粉", Spec: "900g/罐", Description: "新西兰奶源", ImageURL: "https://img.example/p.jpg"},
		{SKU: "SKU-1", Name: "Milk " + hostile, Spec: hostile, Description: hostile, ImageURL: "/static/a b/名.png?x=1&y=%zz+%41#f"},
		{SKU: "SKU-1", Name: "x", ImageURL: "javascript:alert(1)"},
		{SKU: "SKU-1", Name: "x", ImageURL: "HTTPS://IMG.EXAMPLE/P.JPG"},
		{SKU: "SKU-1", Name: "x", ImageURL: "data:image/png;base64,AAAA"},
	}
	landingBrands = []*reward.Brand{
		nil,
		{},
		{Name: "一码乳业"},
		{Name: "Brand " + hostile, LogoURL: "/static/logo.png", Color: "#C8102E"},
		{LogoURL: "https://cdn.example/l o'go.png", Color: "red;}</style><script>"},
		{Name: "b", LogoURL: "jAvAsCrIpT:alert(1)", Color: "#12345"},
		{Name: "b", LogoURL: "mailto:a@b.example", Color: "#abcdef"},
	}
)

// TestLandingMatchesTemplate renders every state of the landing page, in
// every language, with each kind of product and brand, signed in and not,
// through the reference template and through the writer: the two must be
// the same page.
func TestLandingMatchesTemplate(t *testing.T) {
	ref := referenceTemplates(t)
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range locales {
		for _, tc := range landingCases() {
			for pi, p := range landingProducts {
				for bi, br := range landingBrands {
					for _, signedIn := range []bool{false, true} {
						name := fmt.Sprintf("%s/%s/product %d/brand %d/signed in %v", l.name, tc.name, pi, bi, signedIn)
						st := tc.st
						code := "A1/" + hostile
						want := renderReference(t, ref[l], l, zone, tc, &st, p, br, signedIn, code)
						got := renderWriter(l, zone, tc, &st, p, br, signedIn, code)
						if !bytes.Equal(got, want) {
							t.Errorf("%s: the writer's page differs from the template's at %s", name, firstDiff(got, want))
						}
						n++
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d pages compared", n)
	}
}

func renderReference(t *testing.T, tm *template.Template, l *locale, zone *time.Location, tc landingCase, st *reward.CodeStatus, p *reward.Product, br *reward.Brand, signedIn bool, code string) []byte {
	t.Helper()
	d := landingData{Zone: zone, L: l, Brand: br, S: st, CSRF: "tok" + hostile, Nav: &navView{SignedIn: signedIn, Next: "/C/" + code}}
	if st.Valid {
		d.Product = p
	}
	switch {
	case tc.result != nil:
		d.Result = tc.result
		d.Title, d.Class, d.Message = l.T("landing.claimed.title"), "ok", l.T("landing.claimed.message")
	case tc.refused != "":
		d.Title, d.Class, d.Message = l.T("landing.refused.title"), "warn", l.refusal(tc.refused)
	default:
		referenceCard(l, zone, st, tc.yours, &d)
	}
	var buf bytes.Buffer
	if err := tm.Execute(&buf, d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func renderWriter(l *locale, zone *time.Location, tc landingCase, st *reward.CodeStatus, p *reward.Product, br *reward.Brand, signedIn bool, code string) []byte {
	w := l.landing
	v := landingView{w: w, zone: zone, brand: br, st: st, signedIn: signedIn, code: code}
	if st.Valid {
		v.product = p
	}
	switch {
	case tc.result != nil:
		v.result = tc.result
		v.say(w.claimedTitle, "ok", w.claimedMessage)
	case tc.refused != "":
		v.say(w.refusedTitle, "warn", htmlText(l.refusal(tc.refused)))
	default:
		v.card(st, tc.yours)
	}
	if v.claim {
		v.csrf = "tok" + hostile
	}
	return appendLanding(nil, &v)
}

// firstDiff shows where got and want part.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(i-60, 0)
	return fmt.Sprintf("byte %d:\n got  …%q\n want …%q", i, got[from:min(i+60, len(got))], want[from:min(i+60, len(want))])
}

// escapeContexts are the places the writer puts a value, each with how
// html/template writes {{.}} there and the writer's own way.
var escapeContexts = []struct {
	name   string
	tmpl   string
	writer func([]byte, string) []byte
}{
	{"text", `<p>{{.}}</p>`, func(b []byte, s string) []byte {
		return append(appendHTML(append(b, "<p>"...), s), "</p>"...)
	}},
	{"title", `<title>{{.}}</title>`, func(b []byte, s string) []byte {
		return append(appendHTML(append(b, "<title>"...), s), "</title>"...)
	}},
	{"attribute", `<input value="{{.}}">`, func(b []byte, s string) []byte {
		return append(appendHTML(append(b, `<input value="`...), s), `">`...)
	}},
	{"whole URL", `<img src="{{.}}">`, func(b []byte, s string) []byte {
		return append(appendURL(append(b, `<img src="`...), s, urlWhole), `">`...)
	}},
	{"URL path", `<img src="/v1/coupons/{{.}}/qr.svg">`, func(b []byte, s string) []byte {
		return append(appendURL(append(b, `<img src="/v1/coupons/`...), s, urlPath), `/qr.svg">`...)
	}},
	{"URL query", `<a href="/signin?next={{.}}">`, func(b []byte, s string) []byte {
		return append(appendURL(append(b, `<a href="/signin?next=`...), s, urlQuery), `">`...)
	}},
	{"URL fragment", `<a href="/me#c-{{.}}">`, func(b []byte, s string) []byte {
		return append(appendURL(append(b, `<a href="/me#c-`...), s, urlQuery), `">`...)
	}},
}

// checkEscapes fails when the writer escapes s otherwise than
// html/template in any of escapeContexts.
func checkEscapes(t *testing.T, s string) {
	t.Helper()
	for _, c := range escapeContexts {
		var want bytes.Buffer
		if err := template.Must(template.New("").Parse(c.tmpl)).Execute(&want, s); err != nil {
			t.Fatal(err)
		}
		if got := c.writer(nil, s); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s of %q: %q, html/template %q", c.name, s, got, want.Bytes())
		}
	}
}

// TestLandingEscapesAsTemplates compares the writer's escaping with
// html/template's on random strings of the bytes that matter (the seed is
// printed to repeat a failure).
func TestLandingEscapesAsTemplates(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	alphabet := []string{"a", "Z", "0", "-", ".", "_", "~", "!", "#", "$", "&", "'", "(", ")", "*", "+", ",", "/", ":", ";", "=", "?",
		"@", "[", "]", "%", "%4", "%41", "%zz", "<", ">", `"`, " ", "\x00", "\x7f", "\xff", "\t", "\n", "名", "\uFDD0", "\uFFFE",
		"http:", "https:", "HTTP:", "mailto:", "javascript:", "data:", "//"}
	checkEscapes(t, hostile)
	for range 3000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		checkEscapes(t, b.String())
	}
}

func FuzzLandingEscapes(f *testing.F) {
	for _, s := range []string{hostile, "", "javascript:x", "/a b?c=d&e#f", "%41%", "https://x/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkEscapes(t, s) })
}

// TestLandingAmounts: the writer writes an amount as T does, with the
// language's separators from four digits on.
func TestLandingAmounts(t *testing.T) {
	for _, l := range locales {
		for _, n := range []int64{0, 1, -1, 999, -999, 1000, -1000, 9999, 1234567, math.MaxInt64, math.MinInt64} {
			if got, want := string(l.landing.balance.append(nil, num(n))), htmlText(l.T("landing.balance", n)); got != want {
				t.Errorf("%s: %d written %q, T writes %q", l.name, n, got, want)
			}
		}
	}
}
