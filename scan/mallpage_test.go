package scan_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// mallFixture is a sign-in server with a coupon (10 points), goods (30
// points, one per person) and 50 points for the phone 13800000002.
func mallFixture(t *testing.T, lang string) (*signinServer, string) {
	t.Helper()
	ss := startSigninServer(t, scan.Options{Language: lang})
	for id, doc := range map[string]string{
		"cup":  `{"title":"保温杯 Cup","kind":"coupon","price":10,"stock":5}`,
		"bowl": `{"title":"瓷碗 Bowl","kind":"goods","price":30,"stock":5,"limit_per_member":1}`,
		"big":  `{"title":"自行车 Bike","kind":"goods","price":5000,"stock":1}`,
	} {
		if r := ss.Do("PUT", "/v1/rewards/"+id, ss.Admin, doc); r.Status != 200 {
			t.Fatalf("PUT %s: %s", id, r)
		}
	}
	me := "tel:+8613800000002"
	if r := ss.Do("POST", "/v1/members/"+url.PathEscape(me)+"/adjust", ss.Admin, map[string]any{"points": 50, "reason": "gift", "request_id": "a"}); r.Status != 200 {
		t.Fatalf("adjust: %s", r)
	}
	return ss, "13800000002"
}

// requestIDOf is the request_id of the mall page's form for reward id.
func requestIDOf(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`name="reward" value="` + id + `"><input type="hidden" name="request_id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the mall page has no form for %s:\n%s", id, page)
	}
	return m[1]
}

func TestMallPage(t *testing.T) {
	ss, phone := mallFixture(t, "en")
	b := newBrowser(t, ss.testServer)

	// Before sign-in: the catalog, cheapest first, and no form.
	status, page := b.get("/me/mall")
	if status != 200 || !strings.Contains(page, "Sign in to redeem") || strings.Contains(page, `name="reward"`) {
		t.Fatalf("signed out: %d\n%s", status, page)
	}
	if c, w, k := strings.Index(page, "Cup"), strings.Index(page, "Bowl"), strings.Index(page, "Bike"); c < 0 || c > w || w > k {
		t.Fatalf("not cheapest first:\n%s", page)
	}
	if len(page) > 30<<10 || strings.Contains(page, "<script") {
		t.Fatalf("the page is %d bytes or has a script", len(page))
	}
	b.get("/signin") // a page with this browser's form token
	if status, _ := b.post("/me/mall", url.Values{"reward": {"cup"}, "request_id": {"x"}}); status != 401 {
		t.Fatalf("a redeem before sign-in: %d", status)
	}

	ss.signIn(t, b, phone, "/me/mall")
	_, page = b.get("/me/mall")
	if !strings.Contains(page, "You have 50 points") || !strings.Contains(page, "Needs 5,000 points") {
		t.Fatalf("signed in:\n%s", page)
	}
	cup := requestIDOf(t, page, "cup")
	form := url.Values{"reward": {"cup"}, "request_id": {cup}, "quantity": {"1"}}
	status, page = b.post("/me/mall", form)
	if status != 200 || !strings.Contains(page, "Redeemed 保温杯 Cup ×1 for 10 points") || !strings.Contains(page, "/qr.svg") || !strings.Contains(page, "You have 40 points") {
		t.Fatalf("redeem: %d\n%s", status, page)
	}
	// The same form again (a double tap, a reload) redeems once.
	if status, page = b.post("/me/mall", form); status != 200 || !strings.Contains(page, "You have 40 points") {
		t.Fatalf("the same form again: %d\n%s", status, page)
	}
	if m, _ := ss.Member("tel:+8613800000002"); m.Points != 40 {
		t.Fatalf("balance %d after one redeem sent twice", m.Points)
	}

	// Goods: the address is required, one per person.
	bowl := requestIDOf(t, page, "bowl")
	if status, page = b.post("/me/mall", url.Values{"reward": {"bowl"}, "request_id": {bowl}}); status != 400 {
		t.Fatalf("goods without an address: %d\n%s", status, page)
	}
	addr := url.Values{"reward": {"bowl"}, "request_id": {bowl}, "name": {"李雷"}, "phone": {"13800000002"}, "address": {"上海市 1 号"}}
	if status, page = b.post("/me/mall", addr); status != 200 || !strings.Contains(page, "We will ship it to you soon") || !strings.Contains(page, "to be shipped") {
		t.Fatalf("goods: %d\n%s", status, page)
	}
	addr.Set("request_id", bowl+"-again") // the form is gone: 10 points left
	if status, page = b.post("/me/mall", addr); status != 409 || !strings.Contains(page, "limit per person") || !strings.Contains(page, "You have 10 points") {
		t.Fatalf("past the limit: %d\n%s", status, page)
	}
	// Another site's form is refused, and so is a missing token.
	if status, _ := b.do("POST", "/me/mall", url.Values{"reward": {"cup"}, "request_id": {"z"}, "csrf": {b.csrf()}}, "https://evil.example"); status != 403 {
		t.Fatalf("cross-site: %d", status)
	}
	if status, _ := b.post("/me/mall", url.Values{"reward": {"cup"}, "request_id": {"z2"}, "csrf": {"forged"}}); status != 403 {
		t.Fatalf("a forged token: %d", status)
	}
	// The member centre links the mall and names the redemption.
	if _, page = b.get("/me"); !strings.Contains(page, `href="/me/mall"`) || !strings.Contains(page, "Points mall") {
		t.Fatalf("/me:\n%s", page)
	}
	mustCleanAudit(t, ss.testServer)
}

func TestMallPageSpeaksChinese(t *testing.T) {
	ss, _ := mallFixture(t, "zh")
	b := newBrowser(t, ss.testServer)
	if _, page := b.get("/me/mall"); !strings.Contains(page, "积分商城") || !strings.Contains(page, "登录后兑换") {
		t.Fatalf("zh:\n%s", page)
	}
	if _, page := b.get("/me/mall?lang=en"); !strings.Contains(page, "Points mall") {
		t.Fatalf("?lang=en:\n%s", page)
	}
}
