package scan_test

import (
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/browsertest"
)

// TestGuideDeskInChromium is a guide's day on /guide, in headless Chromium
// on a phone's screen with JavaScript off: signing in with the token,
// the desk with a member and a commission, a gift typed at the counter
// and verified; and the same desk in English. The page, its script and
// its poster's QR stay light.
func TestGuideDeskInChromium(t *testing.T) {
	b := browsertest.Start(t)
	ss, tok, codes := deskServer(t, scan.Options{Language: "zh"})
	if r := ss.Do("PUT", "/v1/brand", ss.Admin, map[string]string{"name": "一码乳业", "color": "#c8102e", "base_url": "https://yima.brand.cn"}); r.Status != 200 {
		t.Fatal(r)
	}
	r := ss.Do("POST", "/v1/scans", ss.Admin, map[string]string{"code": codes[0], "member": "tel:+8613812345678", "guide": "G1"})
	m := couponIDRE.FindStringSubmatch(string(r.Body))
	if r.Status != 200 || m == nil {
		t.Fatal(r)
	}
	gift := m[1]

	p := b.NewPhone(browsertest.PhoneOptions{})
	p.Open(ss.URL + "/guide")
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "导购登录") || !strings.Contains(text, "用手机号登录") {
		t.Fatalf("the sign-in: %d %q", p.Status, text)
	}
	p.Fill(`input[name="token"]`, tok)
	p.Submit(`form button`)
	text := p.Text()
	for _, want := range []string{"导购工作台", "王芳 · 旗舰店", "核销台", "本月新增：1", "138****5678", "扫码加入我", "一码乳业 · 旗舰店 · 王芳"} {
		if !strings.Contains(text, want) {
			t.Errorf("the desk lacks %q", want)
		}
	}
	if p.Status != 200 || t.Failed() {
		t.Fatalf("the desk: %d %q", p.Status, text)
	}
	p.Screenshot("guide-zh.png")

	// The counter, typed: the gift is found, then verified.
	p.Fill(`#coupon`, gift)
	p.Submit(`#counter button`)
	if text := p.Text(); !strings.Contains(text, "Free sample") || !strings.Contains(text, "核销并交付礼品") {
		t.Fatalf("the gift looked up: %q", text)
	}
	p.Submit(`input[value="verify"] ~ button`)
	if text := p.Text(); !strings.Contains(text, "已核销") || !strings.Contains(text, "已核销礼品 1") {
		t.Fatalf("after verifying: %q", text)
	}
	p.Screenshot("guide-verified-zh.png")

	// The same guide's desk in English, on a phone that prefers it.
	en := b.NewPhone(browsertest.PhoneOptions{AcceptLanguage: "en-US,en;q=0.9"})
	en.Open(ss.URL + "/guide")
	en.Fill(`input[name="token"]`, tok)
	en.Submit(`form button`)
	if text := en.Text(); en.Status != 200 || !strings.Contains(text, "My counter") || !strings.Contains(text, "Scan to join me") || strings.Contains(text, "导购工作台") {
		t.Fatalf("the English desk: %d %q", en.Status, text)
	}
	en.Screenshot("guide-en.png")

	// With scripts on, /guide.js runs under the page's policy: it shows
	// the print button. (Headless Chromium on Linux has no BarcodeDetector,
	// so the camera button stays hidden and the typed counter serves.)
	js := b.NewPhone(browsertest.PhoneOptions{JavaScript: true})
	js.Open(ss.URL + "/guide")
	js.Fill(`input[name="token"]`, tok)
	js.Submit(`form button`)
	if html := js.HTML(); !strings.Contains(html, `<button type="button" id="print" class="noprint">`) || !strings.Contains(html, `id="scan" hidden`) {
		t.Fatalf("the desk with scripts on:\n%s", html)
	}

	// Light: the page and its script together.
	total := len(p.HTML())
	for _, path := range []string{"/guide.js"} {
		r := ss.Do("GET", path, "", nil)
		total += len(r.Body)
	}
	if total > 30<<10 {
		t.Errorf("the guide's page weighs %d bytes with its script, over 30 KB", total)
	}
}
