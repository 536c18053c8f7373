package scan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/browsertest"
)

// phoneSignIn signs phone p in on the sign-in form it shows, with the SMS
// code ss sent to number; the page that asks for the code must say sent.
func (ss *signinServer) phoneSignIn(t *testing.T, p *browsertest.Phone, number, sent string) {
	t.Helper()
	p.Fill(`input[name="phone"]`, number)
	p.Submit("form button")
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, sent) {
		t.Fatalf("after asking for a code: %d %q", p.Status, text)
	}
	p.Fill(`input[name="code"]`, ss.sms.code("+86"+number))
	p.Submit("form button")
}

// TestPagesInChromium opens the consumer's and the guide's pages in
// headless Chromium on a phone's screen, with JavaScript off: a code's
// page in Chinese, the same in English by the browser's preference and by
// ?lang=en, a forged code, a claim that issues a gift coupon, and the
// counter page where a guide verifies it.
func TestPagesInChromium(t *testing.T) {
	b := browsertest.Start(t)
	ts := startServer(t, scan.Options{Language: "zh"})
	camp := `{"id":"c1","name":"C","products":["SKU-B"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z",
		"points":10,"points_budget":1000,"coupon":{"title":"Gift","probability":1,"stock":5,"valid_days":30}}`
	if r := ts.Do("PUT", "/v1/campaigns/c1", ts.Admin, camp); r.Status != 200 {
		t.Fatalf("campaign: %v", r)
	}
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-B", Count: 3, Activate: true, Produced: "2026-11-01"})
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, map[string]string{"name": "一码乳业", "color": "#c8102e"}); r.Status != 200 {
		t.Fatalf("brand: %v", r)
	}
	if r := ts.Do("PUT", "/v1/products/SKU-B", ts.Admin, map[string]string{"name": "有机全脂奶粉", "spec": "900g/罐"}); r.Status != 201 {
		t.Fatalf("product: %v", r)
	}

	// A phone set to Chinese opens a code's page.
	zh := b.NewPhone(browsertest.PhoneOptions{})
	zh.Open(ts.URL + "/C/" + codes[0])
	if text := zh.Text(); zh.Status != 200 || !strings.Contains(text, "首次查询，正品") || !strings.Contains(text, "领取奖励") || !strings.Contains(text, "一码乳业") ||
		!strings.Contains(text, "有机全脂奶粉") || !strings.Contains(text, "生产日期：2026-11-01") || strings.Contains(text, "Genuine") {
		t.Fatalf("the Chinese landing page: %d %q", zh.Status, text)
	}
	if !strings.Contains(zh.HTML(), `lang="zh-CN"`) {
		t.Errorf("the Chinese page's lang attribute:\n%.300s", zh.HTML())
	}
	zh.Screenshot("landing-zh.png")

	// It claims the reward: the button works without JavaScript.
	zh.Submit("form button")
	text := zh.Text()
	if zh.Status != 200 || !strings.Contains(text, "奖励已领取") || !strings.Contains(text, "您获得了 10 积分") {
		t.Fatalf("after the claim: %d %q", zh.Status, text)
	}
	coupon := pageCoupon(t, "the claim's page", zh.HTML())
	zh.Screenshot("claimed-zh.png")

	// English by the browser's preference, and by ?lang=en on a Chinese
	// phone.
	en := b.NewPhone(browsertest.PhoneOptions{AcceptLanguage: "en-US,en;q=0.9"})
	en.Open(ts.URL + "/C/" + codes[1])
	if text := en.Text(); en.Status != 200 || !strings.Contains(text, "Genuine product") || strings.Contains(text, "正品") {
		t.Fatalf("the English landing page: %d %q", en.Status, text)
	}
	en.Screenshot("landing-en.png")
	zh2 := b.NewPhone(browsertest.PhoneOptions{})
	zh2.Open(ts.URL + "/C/" + codes[1] + "?lang=en")
	if text := zh2.Text(); !strings.Contains(text, "Genuine product") || strings.Contains(text, "正品") {
		t.Fatalf("?lang=en on a Chinese phone: %q", text)
	}

	// A forged code: its last characters changed.
	forged := codes[2][:len(codes[2])-3] + "AAA"
	if forged == codes[2] {
		forged = codes[2][:len(codes[2])-3] + "BBB"
	}
	zh.Open(ts.URL + "/C/" + forged)
	if text := zh.Text(); !strings.Contains(text, "不是正品防伪码") || strings.Contains(text, "领取奖励") {
		t.Fatalf("the forged code's page: %d %q", zh.Status, text)
	}
	zh.Screenshot("forged-zh.png")

	// A guide verifies the coupon at the counter, in a browser of their
	// own.
	ts.MustStore("旗舰店")
	r := ts.Do("POST", "/v1/guides", ts.Admin, map[string]string{"id": "G1", "store": "旗舰店"})
	var g struct{ Token string }
	if r.Status != 201 || json.Unmarshal(r.Body, &g) != nil {
		t.Fatalf("guide: %v", r)
	}
	guide := b.NewPhone(browsertest.PhoneOptions{})
	guide.Open(ts.URL + "/V/" + coupon)
	if text := guide.Text(); guide.Status != 200 || !strings.Contains(text, "状态：未使用") || !strings.Contains(text, "核销并交付礼品") {
		t.Fatalf("the counter page: %d %q", guide.Status, text)
	}
	guide.Fill(`input[name="token"]`, g.Token)
	guide.Screenshot("counter-zh.png")
	guide.Submit("form button")
	if text := guide.Text(); guide.Status != 200 || !strings.Contains(text, "已核销") || !strings.Contains(text, "状态：已使用") {
		t.Fatalf("after verifying: %d %q", guide.Status, text)
	}
	// Verified once only: reopening says it is spent.
	guide.Open(ts.URL + "/V/" + coupon)
	if text := guide.Text(); !strings.Contains(text, "这张礼券不能再次使用") {
		t.Fatalf("the spent coupon's counter page: %q", text)
	}
}
