package scan_test

import (
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/browsertest"
)

// TestEnrolmentInChromium is a new guide's first day, in headless
// Chromium on a phone's screen with JavaScript off: a person scans the
// store's enrolment QR, signs in with an SMS code and asks to join; the
// store's manager signs in on their own phone and approves on the store's
// page; the person's page then shows their own binding QR, and /guide is
// theirs. The enrolment page in English, and a replaced QR's page, too.
func TestEnrolmentInChromium(t *testing.T) {
	b := browsertest.Start(t)
	ss, q := enrolServer(t, scan.Options{Language: "zh"})
	page := ss.URL + "/E/" + q.Code
	// The person scans the QR, signs in and asks.
	p := b.NewPhone(browsertest.PhoneOptions{})
	p.Open(page)
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "加入旗舰店，成为导购") || !strings.Contains(text, "用手机号登录") {
		t.Fatalf("the enrolment page: %d %q", p.Status, text)
	}
	p.Screenshot("enrol-zh.png")
	p.Submit(`a.button`)
	ss.phoneSignIn(t, p, "13800000001", "验证码已发送")
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "您已用手机号 138****0001登录") || !strings.Contains(text, "提交申请") {
		t.Fatalf("back on the enrolment page: %d %q", p.Status, text)
	}
	p.Fill(`input[name="name"]`, "王芳")
	p.Screenshot("enrol-form-zh.png")
	p.Submit("form button")
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "等待店长审核") || !strings.Contains(text, "王芳") {
		t.Fatalf("after asking: %d %q", p.Status, text)
	}
	p.Screenshot("enrol-pending-zh.png")

	// The manager approves on the store's page.
	m := b.NewPhone(browsertest.PhoneOptions{})
	m.Open(ss.URL + "/store/S1")
	if text := m.Text(); m.Status != 200 || !strings.Contains(text, "店长登录") {
		t.Fatalf("the store's page signed out: %d %q", m.Status, text)
	}
	m.Submit(`a[href^="/signin"]`)
	ss.phoneSignIn(t, m, "13900000009", "验证码已发送")
	text := m.Text()
	for _, want := range []string{"旗舰店 · 店长", "310104-01", "待审核的导购申请", "王芳", "手机号 138****0001", "通过", "拒绝", "导购申请二维码"} {
		if !strings.Contains(text, want) {
			t.Errorf("the store's page lacks %q", want)
		}
	}
	if m.Status != 200 || t.Failed() {
		t.Fatalf("the store's page: %d %q", m.Status, text)
	}
	m.Screenshot("store-zh.png")
	m.Submit(`input[value="approve"] ~ button`)
	if text := m.Text(); m.Status != 200 || !strings.Contains(text, "已通过") || !strings.Contains(text, "暂无待审核的申请") || !strings.Contains(text, "本店导购 王芳") {
		t.Fatalf("after approving: %d %q", m.Status, text)
	}
	m.Screenshot("store-approved-zh.png")

	// The new guide's page shows their QR at once; /guide is theirs, and
	// names their store as people know it, not by its id.
	p.Open(page)
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "申请已通过") || !strings.Contains(text, "打开导购工作台") {
		t.Fatalf("the person's page after approval: %d %q", p.Status, text)
	}
	if html := p.HTML(); !strings.Contains(html, `src="/guide/qr.svg?g=G`) {
		t.Fatalf("no binding QR after approval:\n%s", html)
	}
	p.Screenshot("enrol-approved-zh.png")
	p.Submit(`a[href="/guide"]`)
	if text := p.Text(); p.Status != 200 || !strings.Contains(text, "导购工作台") || !strings.Contains(text, "王芳 · 旗舰店") || !strings.Contains(text, "一码乳业 · 旗舰店 · 王芳") || !strings.Contains(text, "扫码加入我") {
		t.Fatalf("the new guide's page: %d %q", p.Status, text)
	}
	p.Screenshot("guide-enrolled-zh.png")

	// In English, on a phone that asks for it.
	en := b.NewPhone(browsertest.PhoneOptions{AcceptLanguage: "en-US,en;q=0.9"})
	en.Open(page)
	if text := en.Text(); en.Status != 200 || !strings.Contains(text, "Join 旗舰店 as a guide") || !strings.Contains(text, "Sign in with your phone") {
		t.Fatalf("the English enrolment page: %d %q", en.Status, text)
	}
	en.Screenshot("enrol-en.png")

	// The manager replaces the QR; the old one's page says so.
	m.Submit(`input[value="rotate"] ~ button`)
	if text := m.Text(); !strings.Contains(text, "二维码已更换") {
		t.Fatalf("after replacing the QR: %q", text)
	}
	late := b.NewPhone(browsertest.PhoneOptions{})
	late.Open(page)
	if text := late.Text(); late.Status != 410 || !strings.Contains(text, "二维码已更换") || !strings.Contains(text, "向店长索取") {
		t.Fatalf("the replaced QR's page: %d %q", late.Status, text)
	}
	late.Screenshot("enrol-replaced-zh.png")
}
