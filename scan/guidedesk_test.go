package scan_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// deskServer is a sign-in server whose campaign pays guides 2 a scan and
// 5 a gift, with guide G1 (王芳 at 旗舰店, whose own phone is
// 13800001111) and G2 at another store; it returns G1's token and the
// codes of an active batch.
func deskServer(t *testing.T, opts scan.Options) (*signinServer, string, []string) {
	t.Helper()
	ss := startSigninServer(t, opts)
	camp := `{"id":"spring","products":["SKU-TEST"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2100-01-01T00:00:00Z","points":10,
		"coupon":{"title":"Free sample","probability":1,"stock":1000,"valid_days":30},"guide_commission":{"per_scan":2,"per_coupon":5}}`
	if r := ss.Do("PUT", "/v1/campaigns/spring", ss.Admin, camp); r.Status != 200 {
		t.Fatal(r)
	}
	for _, st := range []string{"旗舰店", "Other"} {
		if r := ss.Do("PUT", "/v1/stores/"+url.PathEscape(st), ss.Admin, map[string]string{"name": st}); r.Status != 201 {
			t.Fatal(r)
		}
	}
	var tok string
	for _, g := range []map[string]string{{"id": "G1", "store": "旗舰店", "name": "王芳", "member": "tel:+8613800001111"}, {"id": "G2", "store": "Other"}} {
		r := ss.Do("POST", "/v1/guides", ss.Admin, g)
		var out struct{ Token string }
		if r.Status != 201 || json.Unmarshal(r.Body, &out) != nil {
			t.Fatal(r)
		}
		if g["id"] == "G1" {
			tok = out.Token
		}
	}
	return ss, tok, ss.MintActive(6, 10)
}

var couponIDRE = regexp.MustCompile(`"coupon":\{"id":"([^"]+)"`)

// TestGuideDesk signs a guide in on /guide with their token, and checks
// what the page shows: members with masked phones, commission this month
// and last, gifts verified, and the counter, where a typed coupon (its id
// or its QR's URL) is looked up and verified once.
func TestGuideDesk(t *testing.T) {
	ss, tok, codes := deskServer(t, scan.Options{})
	if r := ss.Do("PUT", "/v1/brand", ss.Admin, map[string]string{"base_url": "https://yima.brand.cn"}); r.Status != 200 {
		t.Fatal(r)
	}
	// Months are the brand's (Asia/Shanghai by default), not UTC's: late
	// on the last day of a month in UTC is already the next month there.
	zone, err := time.LoadLocation(reward.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	now := ss.clock.now().In(zone)
	// Last month: 138****5678 joins G1 and scans; 2 for G1.
	ss.clock.add(-time.Duration(now.Day()) * 24 * time.Hour)
	if r := ss.Do("POST", "/v1/scans", ss.Admin, map[string]string{"code": codes[0], "member": "tel:+8613812345678", "guide": "G1"}); r.Status != 200 {
		t.Fatal(r)
	}
	ss.clock.add(time.Duration(now.Day()) * 24 * time.Hour)
	// This month: a second member joins with no phone, and both scan.
	if r := ss.Do("POST", "/v1/members/web:x/guide", ss.Admin, map[string]string{"guide": "G1"}); r.Status != 200 {
		t.Fatal(r)
	}
	var gifts []string
	for i, m := range []string{"tel:+8613812345678", "web:x", "web:x"} {
		r := ss.Do("POST", "/v1/scans", ss.Admin, map[string]string{"code": codes[i+1], "member": m})
		g := couponIDRE.FindStringSubmatch(string(r.Body))
		if r.Status != 200 || g == nil {
			t.Fatalf("scan %d: %v", i, r)
		}
		gifts = append(gifts, g[1])
	}

	b := newBrowser(t, ss.testServer)
	// Signed out: the sign-in page, in Chinese by default.
	status, body := b.get("/guide?lang=zh")
	if status != 200 || !strings.Contains(body, "导购登录") || !strings.Contains(body, `href="/signin?next=%2fguide%3flang%3dzh"`) || !strings.Contains(body, `name="token"`) {
		t.Fatalf("/guide signed out: %d\n%s", status, body)
	}
	if status, body := b.post("/guide?lang=en", url.Values{"action": {"token"}, "token": {"not-a-token"}}); status != 401 || !strings.Contains(body, "Enter a valid guide token") {
		t.Fatalf("a wrong token: %d\n%s", status, body)
	}
	if status, _ := b.get("/guide/qr.svg?g=G1"); status != 401 {
		t.Fatalf("the poster signed out: %d", status)
	}
	if status, _ := b.post("/guide?lang=en", url.Values{"action": {"token"}, "token": {tok}}); status != 303 {
		t.Fatalf("signing in with the token: %d", status)
	}
	status, body = b.get("/guide?lang=en")
	if status != 200 {
		t.Fatalf("the desk after signing in with the token: %d", status)
	}
	for _, want := range []string{"王芳 · 旗舰店", "Members bound to me<b>2</b>", "New this month: 1", "138****5678", "(no phone number)",
		"This month (" + now.Format("2006-01") + ")<b>6</b>", "Gifts verified<b>0</b>", `src="/guide/qr.svg?g=G1"`, `<script src="/guide.js"></script>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the desk lacks %q", want)
		}
	}
	last := now.AddDate(0, 0, -now.Day()).Format("2006-01")
	if !strings.Contains(body, "Last month ("+last+")<b>2</b>") || strings.Contains(body, "13812345678") {
		t.Errorf("last month's commission, or an unmasked phone:\n%s", body)
	}
	if t.Failed() {
		t.Fatalf("the desk:\n%s", body)
	}
	if status, svg := b.get("/guide/qr.svg?g=G1"); status != 200 || !strings.Contains(svg, "<svg") {
		t.Fatalf("the poster's QR: %d", status)
	}
	if status, _ := b.get("/guide/qr.svg?g=G2"); status != 401 {
		t.Fatalf("another guide's poster: %d", status)
	}

	// The counter: the coupon's QR URL typed (or scanned) finds the gift.
	status, body = b.get("/guide?lang=en&coupon=" + url.QueryEscape("https://yima.brand.cn/V/"+gifts[0]))
	if status != 200 || !strings.Contains(body, "Free sample") || !strings.Contains(body, `name="coupon" value="`+gifts[0]+`"`) || !strings.Contains(body, "Verify and hand over the gift") {
		t.Fatalf("looking a coupon up: %d\n%s", status, body)
	}
	status, body = b.post("/guide?lang=en", url.Values{"action": {"verify"}, "coupon": {gifts[0]}})
	if status != 200 || !strings.Contains(body, "Hand over the gift") || !strings.Contains(body, "Gifts verified<b>1</b>") || !strings.Contains(body, ")<b>11</b>") {
		t.Fatalf("verifying: %d\n%s", status, body)
	}
	if status, body = b.post("/guide?lang=en", url.Values{"action": {"verify"}, "coupon": {gifts[0]}}); status != 200 || !strings.Contains(body, "already been used") {
		t.Fatalf("verifying again: %d\n%s", status, body)
	}
	if status, body = b.get("/guide?lang=en&coupon=NOSUCHCOUPON"); status != 200 || !strings.Contains(body, "No coupon has the code NOSUCHCOUPON") {
		t.Fatalf("an unknown coupon: %d\n%s", status, body)
	}
	// Signed in here, the guide verifies on /V/ with one tap.
	b.get("/V/" + gifts[1] + "?lang=en")
	if strings.Contains(b.last, `name="token"`) {
		t.Fatalf("the counter page asks a signed-in guide for the token:\n%s", b.last)
	}
	if status, body = b.post("/V/"+gifts[1]+"?lang=en", nil); status != 200 || !strings.Contains(body, "Hand over the gift") {
		t.Fatalf("verifying on /V/: %d\n%s", status, body)
	}
	// Signing out ends it.
	b.get("/guide?lang=en")
	if status, _ := b.post("/guide?lang=en", url.Values{"action": {"signout"}}); status != 303 {
		t.Fatalf("signing out: %d", status)
	}
	if status, body = b.get("/guide?lang=en"); !strings.Contains(body, "Guide sign-in") {
		t.Fatalf("after signing out: %d\n%s", status, body)
	}
}

// TestGuideSignsInWithTheirPhone: a phone that is a guide's own identity
// signs in by SMS code and is that guide on /guide; another phone is told
// it is no guide's.
func TestGuideSignsInWithTheirPhone(t *testing.T) {
	ss, _, _ := deskServer(t, scan.Options{})
	other := newBrowser(t, ss.testServer)
	ss.signIn(t, other, "13812345678", "/guide")
	if status, body := other.get("/guide?lang=en"); status != 200 || !strings.Contains(body, "138****5678, which is no guide") || strings.Contains(body, "My counter") {
		t.Fatalf("a phone that is no guide's: %d\n%s", status, body)
	}
	ss.clock.add(2 * time.Minute)
	b := newBrowser(t, ss.testServer)
	ss.signIn(t, b, "13800001111", "/guide")
	status, body := b.get("/guide?lang=en")
	if status != 200 || !strings.Contains(body, "王芳 · 旗舰店") || strings.Contains(body, "Sign out</button>") {
		t.Fatalf("the guide's phone: %d\n%s", status, body)
	}
	// Without a base URL, no poster: it would print an address that may
	// not be the brand's.
	if !strings.Contains(body, "has not set its web address") {
		t.Fatalf("the poster without a base URL:\n%s", body)
	}
	if status, _ := b.get("/guide/qr.svg?g=G1"); status != 409 {
		t.Fatalf("the poster's QR without a base URL: %d", status)
	}
}
