package scan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/browsertest"
)

// TestSignInInChromium is a consumer's sign-in as a person goes through
// it, in headless Chromium on a phone's screen with JavaScript off: a
// phone opens a code's page, claims, signs in by SMS code and finds its
// claim again; a second, fresh phone signs in with the same number and
// sees the same balance and coupon; a guide verifies the coupon at the
// counter in a third; and a session past its time is simply signed out.
func TestSignInInChromium(t *testing.T) {
	b := browsertest.Start(t)
	ss := startSigninServer(t, scan.Options{Language: "zh"})
	codes := ss.MintActive(2, 0)
	const phone = "13812345678"

	// Phone A claims the reward of a code.
	a := b.NewPhone(browsertest.PhoneOptions{})
	a.Open(ss.URL + "/C/" + codes[0])
	a.Submit("form button")
	if text := a.Text(); a.Status != 200 || !strings.Contains(text, "您获得了 10 积分") {
		t.Fatalf("after the claim: %d %q", a.Status, text)
	}
	coupon := pageCoupon(t, "the page after the claim", a.HTML())

	// It follows the page's sign-in link and signs in by SMS code, and
	// lands back on the code's page, which now knows it.
	a.Submit(`p.nav a[href^="/signin"]`)
	if text := a.Text(); !strings.Contains(text, "手机号") {
		t.Fatalf("the sign-in page: %d %q", a.Status, text)
	}
	a.Screenshot("signin-zh.png")
	ss.phoneSignIn(t, a, phone, "验证码已发送至 138****5678")
	if text := a.Text(); a.Status != 200 || !strings.Contains(text, "您已领取过") || !strings.Contains(text, "10 积分") {
		t.Fatalf("the code's page after signing in: %d %q", a.Status, text)
	}
	if !strings.Contains(a.HTML(), "/v1/coupons/"+coupon+"/qr.svg") {
		t.Fatal("the code's page after signing in does not show the coupon again")
	}

	// A second phone, fresh, signs in with the same number.
	ss.clock.add(reward.OTPResend)
	p2 := b.NewPhone(browsertest.PhoneOptions{})
	p2.Open(ss.URL + "/signin?next=/me")
	ss.phoneSignIn(t, p2, phone, "验证码已发送至 138****5678")
	text := p2.Text()
	if p2.Status != 200 || !strings.Contains(text, "会员中心") || !strings.Contains(text, "积分余额：10") || !strings.Contains(text, "手机号 138****5678") {
		t.Fatalf("the second phone's member centre: %d %q", p2.Status, text)
	}
	if !strings.Contains(p2.HTML(), "/v1/coupons/"+coupon+"/qr.svg") {
		t.Fatal("the second phone's member centre does not show the coupon's QR")
	}
	p2.Screenshot("me-zh.png")

	// A guide verifies the coupon at the counter in a third browser.
	ss.MustStore("旗舰店")
	_, tok, err := ss.App.Engine.AddGuide(reward.Guide{ID: "G1", Store: "旗舰店"})
	if err != nil {
		t.Fatal(err)
	}
	g := b.NewPhone(browsertest.PhoneOptions{})
	g.Open(ss.URL + "/V/" + coupon)
	g.Fill(`input[name="token"]`, tok)
	g.Submit("form button")
	if text := g.Text(); g.Status != 200 || !strings.Contains(text, "已核销") {
		t.Fatalf("verifying at the counter: %d %q", g.Status, text)
	}
	p2.Open(ss.URL + "/me")
	if text := p2.Text(); !strings.Contains(text, "已于") || !strings.Contains(text, "使用") || strings.Contains(p2.HTML(), "/v1/coupons/"+coupon+"/qr.svg") {
		t.Fatalf("the member centre after the gift was handed over: %q", text)
	}

	// A month later the session has expired: the page signs the phone
	// out, without an error, and asks it to sign in again, showing no
	// member's data.
	ss.clock.add(31 * 24 * time.Hour)
	p2.Open(ss.URL + "/me")
	if text := p2.Text(); p2.Status != 200 || !strings.Contains(text, "登录已过期") || !strings.Contains(text, "登录") || strings.Contains(text, "积分余额") || strings.Contains(text, "我的礼券") {
		t.Fatalf("an expired session: %d %q", p2.Status, text)
	}
	if !strings.Contains(p2.HTML(), `href="/signin?next=/me"`) {
		t.Fatal("an expired session's page has no way to sign in again")
	}
	rep, err := ss.App.Engine.Audit()
	if err != nil || len(rep.Violations) > 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}
