package scan_test

import (
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan/browsertest"
)

// TestMallInChromium is the points mall as a member uses it, in headless
// Chromium on a phone's screen with JavaScript off: signed in by SMS code,
// the mall in Chinese, a coupon redeemed with the page's button, goods
// ordered with an address; and the same mall in English.
func TestMallInChromium(t *testing.T) {
	b := browsertest.Start(t)
	ss, phone := mallFixture(t, "zh")

	p := b.NewPhone(browsertest.PhoneOptions{})
	p.Open(ss.URL + "/signin?next=/me/mall")
	ss.phoneSignIn(t, p, phone, "验证码已发送")
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "积分商城") || !strings.Contains(text, "您有 50 积分") {
		t.Fatalf("the mall after signing in: %d %q", p.Status, text)
	}
	p.Screenshot("mall-zh.png")

	p.Submit(`#r-cup form button`)
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "已兑换 保温杯 Cup ×1，用去 10 积分") || !strings.Contains(p.HTML(), "/qr.svg") {
		t.Fatalf("after redeeming the coupon: %d %q", p.Status, text)
	}
	p.Screenshot("mall-redeemed-zh.png")

	p.Fill(`#r-bowl input[name="name"]`, "李雷")
	p.Fill(`#r-bowl input[name="phone"]`, "13800000002")
	p.Fill(`#r-bowl input[name="address"]`, "上海市黄浦区 1 号")
	p.Submit(`#r-bowl form button`)
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "待发货") || !strings.Contains(text, "您有 10 积分") {
		t.Fatalf("after ordering goods: %d %q", p.Status, text)
	}

	en := b.NewPhone(browsertest.PhoneOptions{AcceptLanguage: "en-US,en;q=0.9"})
	en.Open(ss.URL + "/me/mall")
	if text := en.Text(); en.Status != 200 || !strings.Contains(text, "Points mall") || !strings.Contains(text, "Sign in to redeem") {
		t.Fatalf("the mall in English: %d %q", en.Status, text)
	}
	en.Screenshot("mall-en.png")
	mustCleanAudit(t, ss.testServer)
}
