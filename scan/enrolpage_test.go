package scan_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// enrolServer is a server with the brand's URL and store S1 (旗舰店, code
// 310104-01) whose manager is 13900000009, and S1's enrolment QR.
func enrolServer(t *testing.T, opts scan.Options) (*signinServer, *reward.EnrolQR) {
	t.Helper()
	ss := startSigninServer(t, opts)
	if r := ss.Do("PUT", "/v1/brand", ss.Admin, map[string]string{"base_url": "https://yima.brand.cn", "name": "一码乳业"}); r.Status != 200 {
		t.Fatal(r)
	}
	for _, st := range []struct {
		id   string
		body map[string]any
	}{{"S1", map[string]any{"name": "旗舰店", "code": "310104-01", "managers": []string{"13900000009"}}}, {"S2", map[string]any{"name": "静安店"}}} {
		if r := ss.Do("PUT", "/v1/stores/"+st.id, ss.Admin, st.body); r.Status != 201 {
			t.Fatal(r)
		}
	}
	q, err := ss.App.Engine.EnrolmentQR("S1", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ss, q
}

var enrolIDRE = regexp.MustCompile(`name="enrolment" value="([^"]+)"`)

// TestEnrolmentAndManagerPages: a person scans the store's enrolment QR,
// signs in with their phone and asks to be a guide; the store's manager,
// signed in with the phone the store names, sees the request and approves
// it on /store/S1; the person's page then shows their own binding QR, and
// /guide is theirs. Bad QR codes, a bad name, someone who is not the
// manager and a form from elsewhere are refused with kind pages, and
// nothing is stored for them.
func TestEnrolmentAndManagerPages(t *testing.T) {
	ss, q := enrolServer(t, scan.Options{Language: "zh"})
	page := "/E/" + q.Code

	p := newBrowser(t, ss.testServer)
	if status, body := p.get("/E/ABCDEFGHJKMNPQRS"); status != 404 || !strings.Contains(body, "无效的二维码") {
		t.Fatalf("an unknown code: %d\n%s", status, body)
	}
	status, body := p.get(page)
	if status != 200 || !strings.Contains(body, "加入旗舰店，成为导购") || !strings.Contains(body, `href="/signin?next=`+url.QueryEscape(page)+`"`) {
		t.Fatalf("the page before signing in: %d\n%s", status, body)
	}
	if status, body := p.get(page + "?lang=en"); status != 200 || !strings.Contains(body, "Join 旗舰店 as a guide") {
		t.Fatalf("the page in English: %d\n%s", status, body)
	}
	// A request before signing in (the form token from another page) gets
	// the sign-in again, and stores nothing.
	p.get("/signin")
	if status, body := p.post(page, url.Values{"name": {"王芳"}}); status != 200 || !strings.Contains(body, "请先用手机号登录") {
		t.Fatalf("a request before signing in: %d\n%s", status, body)
	}
	ss.signIn(t, p, "13800000001", page)
	if status, body := p.get(page); status != 200 || !strings.Contains(body, `name="name"`) || !strings.Contains(body, "手机号 138****0001") {
		t.Fatalf("the form after signing in: %d\n%s", status, body)
	}
	if status, body := p.post(page, url.Values{"name": {"  "}}); status != 400 || !strings.Contains(body, "请填写您的姓名") {
		t.Fatalf("an empty name: %d\n%s", status, body)
	}
	if en, _, err := ss.App.Engine.EnrolmentPage("S1", "", "", 0); err != nil || len(en) != 0 {
		t.Fatalf("refused requests stored: %v %v", en, err)
	}
	p.get(page)
	if status, body := p.post(page, url.Values{"name": {"王芳"}}); status != 200 || !strings.Contains(body, "等待店长审核") {
		t.Fatalf("the request: %d\n%s", status, body)
	}

	// Someone who is not the manager sees the sign-in, and cannot decide.
	if status, body := p.get("/store/S1"); status != 200 || !strings.Contains(body, "不是旗舰店的店长") || strings.Contains(body, "王芳") {
		t.Fatalf("the store page for a non-manager: %d\n%s", status, body)
	}
	en, _, err := ss.App.Engine.EnrolmentPage("S1", reward.EnrolmentPending, "", 0)
	if err != nil || len(en) != 1 {
		t.Fatal(en, err)
	}
	if status, _ := p.post("/store/S1", url.Values{"action": {"approve"}, "enrolment": {en[0].ID}}); status != 403 {
		t.Fatalf("a non-manager approving: %d", status)
	}

	// The manager signs in with the phone the store names.
	ss.clock.add(reward.OTPResend)
	m := newBrowser(t, ss.testServer)
	if status, body := m.get("/store/S1"); status != 200 || !strings.Contains(body, "店长登录") {
		t.Fatalf("the store page before signing in: %d\n%s", status, body)
	}
	ss.signIn(t, m, "13900000009", "/store/S1")
	status, body = m.get("/store/S1")
	if status != 200 || !strings.Contains(body, "王芳") || !strings.Contains(body, "310104-01") || !strings.Contains(body, `src="/store/S1/qr.svg?c=`+q.Code+`"`) {
		t.Fatalf("the manager's page: %d\n%s", status, body)
	}
	id := enrolIDRE.FindStringSubmatch(body)
	if id == nil || id[1] != en[0].ID {
		t.Fatalf("no approve form for %s:\n%s", en[0].ID, body)
	}
	if status, _ := m.do("POST", "/store/S1", url.Values{"action": {"approve"}, "enrolment": {id[1]}, "csrf": {"forged"}}, ss.URL); status != 403 {
		t.Fatalf("a decision with a forged form token: %d", status)
	}
	if status, body := m.get("/store/S1/qr.svg?c=" + q.Code); status != 200 || !strings.Contains(body, "<svg") {
		t.Fatalf("the enrolment QR: %d", status)
	}
	if status, _ := p.get("/store/S1/qr.svg"); status != 401 {
		t.Fatalf("the enrolment QR for a non-manager: %d", status)
	}
	m.get("/store/S1")
	status, body = m.post("/store/S1", url.Values{"action": {"approve"}, "enrolment": {id[1]}})
	if status != 200 || !strings.Contains(body, "已通过") || !strings.Contains(body, "暂无待审核的申请") || !strings.Contains(body, "本店导购") {
		t.Fatalf("approving: %d\n%s", status, body)
	}
	if status, body := m.post("/store/S1", url.Values{"action": {"approve"}, "enrolment": {id[1]}}); status != 200 || !strings.Contains(body, "已处理过") {
		t.Fatalf("approving again: %d\n%s", status, body)
	}
	g, err := ss.App.Engine.GuideOfMember("tel:+8613800000001")
	if err != nil || g == nil || g.Store != "S1" {
		t.Fatalf("the approved guide: %+v %v", g, err)
	}
	done, err := ss.App.Engine.MyEnrolment("tel:+8613800000001")
	if err != nil || done.DecidedBy != "tel:+8613900000009" {
		t.Fatalf("the decision: %+v %v", done, err)
	}

	// The person's page shows their binding QR at once, and /guide is theirs.
	status, body = p.get(page)
	if status != 200 || !strings.Contains(body, "申请已通过") || !strings.Contains(body, `src="/guide/qr.svg?g=`+g.ID+`"`) {
		t.Fatalf("the person's page after approval: %d\n%s", status, body)
	}
	if status, body := p.get("/guide/qr.svg?g=" + g.ID); status != 200 || !strings.Contains(body, "<svg") {
		t.Fatalf("the guide's binding QR: %d", status)
	}
	if status, body := p.get("/guide"); status != 200 || !strings.Contains(body, "导购工作台") || !strings.Contains(body, "王芳") {
		t.Fatalf("the guide's page: %d\n%s", status, body)
	}

	// The manager replaces the QR: the old one's page says so, and nothing
	// is stored for a person who scans it.
	status, body = m.post("/store/S1", url.Values{"action": {"rotate"}})
	if status != 200 || !strings.Contains(body, "二维码已更换") || strings.Contains(body, "qr.svg?c="+q.Code) {
		t.Fatalf("rotating: %d\n%s", status, body)
	}
	late := newBrowser(t, ss.testServer)
	if status, body := late.get(page); status != 410 || !strings.Contains(body, "旗舰店的导购申请二维码已经更换") {
		t.Fatalf("the rotated QR: %d\n%s", status, body)
	}
	short, err := ss.App.Engine.EnrolmentQR("S2", true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ss.clock.add(2 * time.Hour)
	if status, body := late.get("/E/" + short.Code); status != 410 || !strings.Contains(body, "已于") || !strings.Contains(body, "静安店") {
		t.Fatalf("an expired QR: %d\n%s", status, body)
	}
	if en, _, err := ss.App.Engine.EnrolmentPage("S2", "", "", 0); err != nil || len(en) != 0 {
		t.Fatalf("requests at S2: %v %v", en, err)
	}
	if rep, err := ss.App.Engine.Audit(); err != nil || len(rep.Violations) != 0 {
		t.Fatalf("audit: %v %v", rep, err)
	}
}

// TestStorePageWithAToken: a store's page signs in with a manager token
// of that store, or the admin token; another store's manager token is
// refused, and a browser signed in for one store manages no other.
func TestStorePageWithAToken(t *testing.T) {
	ss, q := enrolServer(t, scan.Options{Language: "zh"})
	s1, err := ss.App.Engine.CreateManagerToken("counter", "S1")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ss.App.Engine.CreateManagerToken("", "S2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.App.Engine.Enrol(q.Code, "tel:+8613800000002", "李雷"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, ss.testServer)
	b.get("/store/S1")
	if status, body := b.post("/store/S1", url.Values{"action": {"token"}, "token": {s2}}); status != 401 || !strings.Contains(body, "这个令牌不能管理旗舰店") {
		t.Fatalf("another store's token: %d\n%s", status, body)
	}
	if status, _ := b.post("/store/S1", url.Values{"action": {"token"}, "token": {s1}}); status != 303 {
		t.Fatalf("the store's token: %d", status)
	}
	if status, body := b.get("/store/S1?lang=en"); status != 200 || !strings.Contains(body, "李雷") || !strings.Contains(body, "Requests to be a guide") || !strings.Contains(body, "Sign out") {
		t.Fatalf("the page signed in with the token: %d\n%s", status, body)
	}
	if status, body := b.get("/store/S2"); status != 200 || !strings.Contains(body, "店长登录") {
		t.Fatalf("another store's page: %d\n%s", status, body)
	}
	b.get("/store/S1")
	if status, _ := b.post("/store/S1", url.Values{"action": {"signout"}}); status != 303 {
		t.Fatalf("signing out: %d", status)
	}
	if _, body := b.get("/store/S1"); !strings.Contains(body, "店长登录") {
		t.Fatalf("after signing out:\n%s", body)
	}
	admin := newBrowser(t, ss.testServer)
	admin.get("/store/S2")
	if status, _ := admin.post("/store/S2", url.Values{"action": {"token"}, "token": {ss.Admin}}); status != 303 {
		t.Fatalf("the admin token: %d", status)
	}
	if status, body := admin.get("/store/S2"); status != 200 || !strings.Contains(body, "暂无待审核的申请") {
		t.Fatalf("the admin on S2's page: %d\n%s", status, body)
	}
	if status, body := admin.get("/store/S9"); status != 404 || !strings.Contains(body, "抱歉") {
		t.Fatalf("a store that does not exist: %d\n%s", status, body)
	}
}
