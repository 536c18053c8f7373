package scan

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The landing page (/C/{code}) is the page a promotion brings everyone to
// at once, so it is written by hand rather than by the template engine,
// which spent half of the page's time in reflective calls of its text
// functions: its texts are looked up once per language at start, already
// escaped, and a view appends the page into a pooled buffer, formatting
// only what differs per request (counts, dates, the code, the product).
// It renders byte for byte what the template it replaced rendered;
// TestLandingMatchesTemplate keeps that template as the reference and
// fails when the two drift apart (a change of the shared "top", "nav" or
// brand templates must be made here too; the style sheet itself is one
// copy, pageStyle and pageStyleEnd, which both write).
//
// Every value that comes from data is escaped as html/template would
// escape it in its place: htmlText in text and attributes, the URL
// filters in src and href (see appendURL).

// landingWords are the landing page's texts in one language, HTML-escaped.
type landingWords struct {
	l    *locale
	lang string
	// Titles and messages of the page's states.
	genuineTitle, forgedTitle, unknownBatchTitle, retiredTitle, redeemedTitle, revokedTitle,
	claimedTitle, refusedTitle, yoursTitle string
	forgedMessage, unknownBatchMessage, retiredMessage, revokedMessage, inactiveMessage, heldMessage,
	endedMessage, scheduledMessage, exhaustedMessage, openMessage, claimedMessage, manyNote string
	redeemedMessage, yoursMessage msg
	// The page's body.
	product, firstCheck, couponAlt, claim, pin, yoursCoupon, navMe, navSignin                 string
	spec, produced, batch, checked, earned, bonus, balance, couponShow, pinAsk, counterStatus msg
	// couponStates are the words of a coupon's states, as l.status
	// writes them (not escaped: they go through a msg).
	couponStates map[string]string
}

func newLandingWords(l *locale) *landingWords {
	return &landingWords{
		l:                   l,
		lang:                htmlText(l.Lang()),
		genuineTitle:        htmlText(l.T("landing.genuine.title")),
		forgedTitle:         htmlText(l.T("landing.forged.title")),
		unknownBatchTitle:   htmlText(l.T("landing.unknownbatch.title")),
		retiredTitle:        htmlText(l.T("landing.retired.title")),
		redeemedTitle:       htmlText(l.T("landing.redeemed.title")),
		revokedTitle:        htmlText(l.T("landing.revoked.title")),
		claimedTitle:        htmlText(l.T("landing.claimed.title")),
		refusedTitle:        htmlText(l.T("landing.refused.title")),
		yoursTitle:          htmlText(l.T("landing.yours.title")),
		forgedMessage:       htmlText(l.T("landing.forged.message")),
		unknownBatchMessage: htmlText(l.T("landing.unknownbatch.message")),
		retiredMessage:      htmlText(l.T("landing.retired.message")),
		revokedMessage:      htmlText(l.T("landing.revoked.message")),
		inactiveMessage:     htmlText(l.T("landing.inactive.message")),
		heldMessage:         htmlText(l.T("landing.held.message")),
		endedMessage:        htmlText(l.T("landing.ended.message")),
		scheduledMessage:    htmlText(l.T("landing.scheduled.message")),
		exhaustedMessage:    htmlText(l.T("landing.exhausted.message")),
		openMessage:         htmlText(l.T("landing.open.message")),
		claimedMessage:      htmlText(l.T("landing.claimed.message")),
		manyNote:            htmlText(l.T("landing.many.note")),
		redeemedMessage:     l.msg("landing.redeemed.message"),
		yoursMessage:        l.msg("landing.yours.message"),
		product:             htmlText(l.T("landing.product")),
		firstCheck:          htmlText(l.T("landing.firstcheck")),
		couponAlt:           htmlText(l.T("landing.coupon.alt")),
		claim:               htmlText(l.T("landing.claim")),
		pin:                 htmlText(l.T("landing.pin")),
		yoursCoupon:         htmlText(l.T("landing.yours.coupon")),
		navMe:               htmlText(l.T("nav.me")),
		navSignin:           htmlText(l.T("nav.signin")),
		spec:                l.msg("landing.spec"),
		produced:            l.msg("landing.produced"),
		batch:               l.msg("landing.batch"),
		checked:             l.msg("landing.checked"),
		earned:              l.msg("landing.earned"),
		bonus:               l.msg("landing.bonus"),
		balance:             l.msg("landing.balance"),
		couponShow:          l.msg("landing.coupon.show"),
		pinAsk:              l.msg("landing.pin.ask"),
		counterStatus:       l.msg("counter.status"),
		couponStates: map[string]string{
			reward.CouponIssued: l.status(reward.CouponIssued),
			reward.CouponUsed:   l.status(reward.CouponUsed),
			reward.CouponVoid:   l.status(reward.CouponVoid),
		},
	}
}

// msg is a catalog text with verbs, split at them once: its literal parts
// HTML-escaped, and which argument each verb writes.
type msg struct {
	l     *locale
	lits  []string // len(verbs)+1
	verbs []msgVerb
}

type msgVerb struct {
	arg  int
	kind byte // 'd' or 's'
}

// msgArg is one argument of a msg: a string (%s), an amount (%d, written
// with the language's separators) or an id (%s of a batch or serial
// number: digits only, as id writes them).
type msgArg struct {
	s    string
	n    int64
	isID bool
}

func str(s string) msgArg   { return msgArg{s: s} }
func num(n int64) msgArg    { return msgArg{n: n} }
func ident(n uint32) msgArg { return msgArg{n: int64(n), isID: true} }

// msg splits the text of key in this language at its verbs. It accepts
// what the catalogs use, %d and %s, optionally with an explicit argument
// index (%[2]s), and %%; anything else panics at start, so that a page
// never shows a verb it cannot write.
func (l *locale) msg(key string) msg {
	format, ok := l.keys[key]
	if !ok {
		panic(fmt.Sprintf("locales/%s.json has no %q", l.name, key))
	}
	m := msg{l: l}
	var lit strings.Builder
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			lit.WriteByte('%')
			continue
		}
		if i < len(format) && format[i] == '[' {
			end := strings.IndexByte(format[i:], ']')
			n, err := strconv.Atoi(format[i+1 : i+max(end, 1)])
			if end < 0 || err != nil || n < 1 {
				panic(fmt.Sprintf("locales/%s.json %q: a bad argument index", l.name, key))
			}
			next = n - 1
			i += end + 1
		}
		if i >= len(format) || (format[i] != 'd' && format[i] != 's') {
			panic(fmt.Sprintf("locales/%s.json %q: the landing page writes only %%d and %%s", l.name, key))
		}
		m.lits = append(m.lits, htmlText(lit.String()))
		lit.Reset()
		m.verbs = append(m.verbs, msgVerb{arg: next, kind: format[i]})
		next++
	}
	m.lits = append(m.lits, htmlText(lit.String()))
	return m
}

// append writes the text with args, escaped for HTML.
func (m *msg) append(b []byte, args ...msgArg) []byte {
	for i, v := range m.verbs {
		b = append(b, m.lits[i]...)
		a := args[v.arg]
		switch {
		case v.kind == 'd':
			b = m.l.appendAmount(b, a.n)
		case a.isID:
			b = strconv.AppendInt(b, a.n, 10)
		default:
			b = appendHTML(b, a.s)
		}
	}
	return append(b, m.lits[len(m.lits)-1]...)
}

// appendAmount writes n as T writes a %d: with the language's thousands
// separators, which only an amount of four digits or more has.
func (l *locale) appendAmount(b []byte, n int64) []byte {
	if -1000 < n && n < 1000 {
		return strconv.AppendInt(b, n, 10)
	}
	return append(b, l.p.Sprintf("%d", n)...)
}

// htmlText is s escaped as html/template escapes a value in text, in a
// quoted attribute or in the title.
func htmlText(s string) string { return string(appendHTML(nil, s)) }

// appendHTML appends s escaped as html/template does (its htmlReplacementTable,
// which it applies in text, RCDATA and attribute values alike): NUL becomes
// U+FFFD, and " & ' + < > character references. Every other byte, invalid
// UTF-8 included, stays.
func appendHTML(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case 0:
			r = "\uFFFD"
		case '"':
			r = "&#34;"
		case '&':
			r = "&amp;"
		case '\'':
			r = "&#39;"
		case '+':
			r = "&#43;"
		case '<':
			r = "&lt;"
		case '>':
			r = "&gt;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, r...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// Where a value goes in a URL attribute, as html/template tells them apart.
const (
	urlWhole = iota // the whole attribute: filtered, then normalized
	urlPath         // inside the path: normalized
	urlQuery        // in the query or the fragment: escaped
)

// appendURL appends s as html/template writes a value in a quoted URL
// attribute at part: a whole URL whose scheme is not http, https or
// mailto becomes "#ZgotmplZ"; a URL or a path is normalized (bytes a URL
// cannot hold percent-encoded, its valid escapes and reserved characters
// kept); a query or fragment value has all but the unreserved characters
// percent-encoded. The result is then escaped for the attribute.
func appendURL(b []byte, s string, part int) []byte {
	if part == urlWhole && !safeURL(s) {
		return append(b, "#ZgotmplZ"...)
	}
	norm := part != urlQuery
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b = append(b, c)
		case norm && strings.IndexByte("!#$*,/:;=?@[]", c) >= 0:
			b = append(b, c)
		case norm && c == '&':
			b = append(b, "&amp;"...)
		case norm && c == '+':
			b = append(b, "&#43;"...)
		case norm && c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, c)
		default:
			const hex = "0123456789abcdef"
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// safeURL is html/template's isSafeURL: a URL without a scheme, or with
// http, https or mailto.
func safeURL(s string) bool {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") {
		return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "mailto")
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// landingView is what one landing page shows.
type landingView struct {
	w       *landingWords
	zone    *time.Location
	brand   *reward.Brand
	product *reward.Product
	st      *reward.CodeStatus
	result  *reward.ScanResult
	claimed *reward.Claim
	// title and message are HTML, class the card's (ok, warn, bad); a
	// message with values is format with args instead. note adds that
	// several people checked the code.
	title, class, message string
	format                *msg
	args                  []msgArg
	note                  bool
	// claim offers the claim form, with the browser's form token.
	claim bool
	csrf  string
	// signedIn leaves out the sign-in link; code is the page's code as
	// its address has it, where sign-in returns.
	signedIn bool
	code     string
}

// say sets the page's card: title and message are HTML.
func (v *landingView) say(title, class, message string) {
	v.title, v.class, v.message = title, class, message
}

// sayf sets the card's message to format with args.
func (v *landingView) sayf(format *msg, args ...msgArg) {
	v.format, v.args = format, args
}

// card says what the code is: the page's title, message and class, and
// whether it offers the claim form. yours is the claim of a redeemed code
// by this browser's member, nil when someone else claimed it.
func (v *landingView) card(st *reward.CodeStatus, yours *reward.Claim) {
	w := v.w
	switch {
	case !st.Valid && st.Reason == string(reward.CodeUnknownBatch):
		v.say(w.unknownBatchTitle, "warn", w.unknownBatchMessage)
	case !st.Valid && st.Reason == string(reward.CodeKeyRetired):
		v.say(w.retiredTitle, "warn", w.retiredMessage)
	case !st.Valid:
		v.say(w.forgedTitle, "bad", w.forgedMessage)
	case st.Redeemed && yours != nil:
		v.title, v.class, v.claimed = w.yoursTitle, "ok", yours
		v.sayf(&w.yoursMessage, str(dateIn(v.zone, yours.At)), num(yours.Points))
	case st.Redeemed:
		v.title, v.class = w.redeemedTitle, "warn"
		v.sayf(&w.redeemedMessage, str(dateIn(v.zone, *st.RedeemedAt)))
	case st.State == string(reward.Revoked):
		// A withdrawn range is often a leaked one: its codes may be on
		// copies, so the page does not vouch for the product.
		v.say(w.revokedTitle, "warn", w.revokedMessage)
	case st.State != "active":
		v.say(w.genuineTitle, "ok", w.inactiveMessage)
	case st.PayoutHeld:
		// A factory's batch the brand has not released: a claim would
		// be refused with payout_held.
		v.say(w.genuineTitle, "ok", w.heldMessage)
	case st.Promotion == "ended":
		// A claim would only be refused: say so instead of offering it.
		v.say(w.genuineTitle, "ok", w.endedMessage)
	case st.Promotion == "scheduled":
		v.say(w.genuineTitle, "ok", w.scheduledMessage)
	case st.Promotion == "exhausted":
		v.say(w.genuineTitle, "ok", w.exhaustedMessage)
	default:
		v.say(w.genuineTitle, "ok", w.openMessage)
		v.claim = true
	}
	if st.Valid && st.Scanners > 1 && !st.Redeemed {
		v.class, v.note = "warn", true
	}
}

// landingBufs are the buffers pages are written into, with room for a
// page of products with long descriptions.
var landingBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// renderLanding answers with v's page, never cached: it shows live state.
func renderLanding(ctx *fasthttp.RequestCtx, v *landingView) {
	bp := landingBufs.Get().(*[]byte)
	*bp = appendLanding((*bp)[:0], v)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	securityHeaders(ctx)
	ctx.SetBody(*bp)
	if cap(*bp) <= 64<<10 {
		landingBufs.Put(bp)
	}
}

// appendLanding writes the page; it follows the template it replaced
// ("top", "landing", "nav", "bottom") line by line.
func appendLanding(b []byte, v *landingView) []byte {
	w := v.w
	b = appendLandingTop(b, v)
	b = append(b, '\n')
	if st := v.st; st != nil && st.Valid {
		if p := v.product; p != nil && p.ImageURL != "" {
			b = append(b, `<img class="product" src="`...)
			b = appendURL(b, p.ImageURL, urlWhole)
			b = append(b, `" alt="">`...)
		}
		b = append(b, "\n<p>"...)
		b = append(b, w.product...)
		b = append(b, " <b>"...)
		if p := v.product; p != nil && p.Name != "" {
			b = appendHTML(b, p.Name)
		} else {
			b = appendHTML(b, st.Product)
		}
		b = append(b, "</b>"...)
		if p := v.product; p != nil && p.Spec != "" {
			b = append(b, "<br>"...)
			b = w.spec.append(b, str(p.Spec))
		}
		b = append(b, '\n')
		if st.Produced != "" {
			b = append(b, "<br>"...)
			b = w.produced.append(b, str(st.Produced))
		}
		b = append(b, "<br>"...)
		b = w.batch.append(b, ident(st.Batch), ident(st.Serial))
		b = append(b, "</p>\n"...)
		if p := v.product; p != nil && p.Description != "" {
			b = append(b, "<p>"...)
			b = appendHTML(b, p.Description)
			b = append(b, "</p>"...)
		}
		b = append(b, '\n')
		if st.FirstScan != nil {
			b = append(b, "<p><b>"...)
			if st.Scanners <= 1 {
				b = append(b, w.firstCheck...)
			} else {
				b = w.checked.append(b, num(int64(st.Scanners)), str(dateIn(v.zone, *st.FirstScan)))
			}
			b = append(b, "</b></p>"...)
		}
	}
	b = append(b, '\n')
	if r := v.result; r != nil {
		b = append(b, "<p>"...)
		b = w.earned.append(b, num(r.Points))
		if r.Bonus != 0 {
			b = append(b, ' ')
			b = w.bonus.append(b, num(r.Bonus))
		}
		b = append(b, " <b>"...)
		b = w.balance.append(b, num(r.Balance))
		b = append(b, "</b></p>\n"...)
		if c := r.Coupon; c != nil {
			b = append(b, `<div class="card ok"><h1>🎁 `...)
			b = appendHTML(b, c.Title)
			b = append(b, "</h1><p>"...)
			b = w.couponShow.append(b, str(dateIn(v.zone, c.ExpiresAt)))
			b = append(b, "</p>\n"...)
			b = appendCouponQR(b, w, c.ID)
			b = append(b, "<p><code>"...)
			b = appendHTML(b, c.ID)
			b = append(b, "</code></p></div>"...)
		}
	}
	b = append(b, '\n')
	if cl := v.claimed; cl != nil && cl.Coupon != nil {
		c := cl.Coupon
		b = append(b, `<div class="card ok"><h1>🎁 `...)
		b = appendHTML(b, c.Title)
		b = append(b, "</h1>"...)
		if c.Status == reward.CouponIssued {
			b = append(b, "<p>"...)
			b = w.couponShow.append(b, str(dateIn(v.zone, c.Expires)))
			b = append(b, "</p>\n"...)
			b = appendCouponQR(b, w, c.ID)
		} else {
			b = append(b, "<p>"...)
			state, ok := w.couponStates[c.Status]
			if !ok {
				state = c.Status // as l.status shows a state it has no word for
			}
			b = w.counterStatus.append(b, str(state))
			b = append(b, "</p>"...)
		}
		b = append(b, `<p><a href="/me#c-`...)
		b = appendURL(b, c.ID, urlQuery)
		b = append(b, `">`...)
		b = append(b, w.yoursCoupon...)
		b = append(b, "</a></p></div>"...)
	}
	b = append(b, '\n')
	if v.claim {
		b = append(b, `<form method="post"><input type="hidden" name="csrf" value="`...)
		b = appendHTML(b, v.csrf)
		b = append(b, `">`...)
		if v.st.Claim == "pin" {
			b = append(b, "<p>"...)
			b = w.pinAsk.append(b, num(int64(v.st.PINDigits)))
			b = append(b, "</p>\n<label>"...)
			b = append(b, w.pin...)
			b = append(b, ` <input name="pin" inputmode="numeric" autocomplete="off" pattern="[0-9]*" minlength="`...)
			b = strconv.AppendUint(b, uint64(v.st.PINDigits), 10)
			b = append(b, `" maxlength="`...)
			b = strconv.AppendUint(b, uint64(v.st.PINDigits), 10)
			b = append(b, "\" required></label>\n"...)
		}
		b = append(b, "<button>"...)
		b = append(b, w.claim...)
		b = append(b, "</button></form>"...)
	}
	b = append(b, '\n')
	if v.st != nil {
		b = append(b, "<p><code>"...)
		b = appendHTML(b, v.st.Code)
		b = append(b, "</code></p>"...)
	}
	b = append(b, "\n"...)
	// "nav": the member centre, and sign-in returning to this page.
	b = append(b, `<p class="nav"><a href="/me">`...)
	b = append(b, w.navMe...)
	b = append(b, "</a>"...)
	if !v.signedIn {
		b = append(b, ` · <a href="/signin?next=`...)
		b = appendURL(b, "/C/", urlQuery)
		b = appendURL(b, v.code, urlQuery)
		b = append(b, `">`...)
		b = append(b, w.navSignin...)
		b = append(b, "</a>"...)
	}
	b = append(b, "</p>\n"...)
	return append(b, "</body></html>"...)
}

// appendCouponQR writes a coupon's QR symbol, as the counter scans it.
func appendCouponQR(b []byte, w *landingWords, id string) []byte {
	b = append(b, `<img class="qr" src="/v1/coupons/`...)
	b = appendURL(b, id, urlPath)
	b = append(b, `/qr.svg" alt="`...)
	b = append(b, w.couponAlt...)
	return append(b, `">`...)
}

// appendLandingTop writes the "top" template: the head, its style sheet
// in the brand's colour, the brand's header ("brandstyle",
// "brandheader") and the card that says what the code is.
func appendLandingTop(b []byte, v *landingView) []byte {
	color := string(brandColor(v.brand))
	b = append(b, "<!doctype html>\n<html lang=\""...)
	b = append(b, v.w.lang...)
	b = append(b, "\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>"...)
	b = append(b, v.title...)
	b = append(b, "</title>\n<style>\n"+pageStyle...)
	b = append(b, color...)
	b = append(b, ";color:#fff}\nheader{display:flex;align-items:center;gap:.6rem;padding-bottom:.6rem;border-bottom:3px solid "...)
	b = append(b, color...)
	b = append(b, "}\nheader img{height:2.5rem;max-width:8rem;object-fit:contain}\n.brand{font-weight:600;color:#555;margin:0}\n"+pageStyleEnd...)
	if br := v.brand; br != nil && (br.Name != "" || br.LogoURL != "") {
		b = append(b, "<header>"...)
		if br.LogoURL != "" {
			b = append(b, `<img src="`...)
			b = appendURL(b, br.LogoURL, urlWhole)
			b = append(b, `" alt="">`...)
		}
		b = append(b, `<p class="brand">`...)
		b = appendHTML(b, br.Name)
		b = append(b, "</p></header>"...)
	}
	b = append(b, "\n<div class=\"card "...)
	b = append(b, v.class...)
	b = append(b, "\"><h1>"...)
	b = append(b, v.title...)
	b = append(b, "</h1><p>"...)
	if v.format != nil {
		b = v.format.append(b, v.args...)
	} else {
		b = append(b, v.message...)
	}
	if v.note {
		b = append(b, ' ')
		b = append(b, v.w.manyNote...)
	}
	return append(b, "</p></div>"...)
}
