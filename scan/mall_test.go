package scan_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// The points mall, adjustments and purchase orders over HTTP.

// TestExampleRewardIsAcceptedAsWritten PUTs docs/examples' reward file,
// byte for byte, and finds it in the public mall.
func TestExampleRewardIsAcceptedAsWritten(t *testing.T) {
	ts := startServer(t, scan.Options{})
	raw, err := os.ReadFile("../docs/examples/reward-mug.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ID    string `json:"id"`
		Stock int64  `json:"stock"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Stock <= 0 {
		t.Fatalf("the example has no stock under \"stock\": %v", err)
	}
	if r := ts.Do("PUT", "/v1/rewards/"+doc.ID, ts.Admin, raw); r.Status != 200 {
		t.Fatalf("PUT the example: %s", r)
	}
	r := ts.Do("GET", "/v1/rewards", "", nil)
	var list struct {
		Rewards []reward.RewardView `json:"rewards"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Rewards) != 1 || list.Rewards[0].Left != doc.Stock {
		t.Fatalf("public list: %s", r)
	}
}

func TestMallOverHTTP(t *testing.T) {
	ts := startServer(t, scan.Options{})
	app, guide := ts.Token(reward.RoleApp), ""
	ts.MustStore("S1")
	if r := ts.Do("POST", "/v1/guides", ts.Admin, map[string]string{"id": "G1", "store": "S1"}); r.Status != 201 {
		t.Fatalf("guide: %s", r)
	} else {
		var g struct{ Token string }
		json.Unmarshal(r.Body, &g)
		guide = g.Token
	}
	for _, doc := range []string{
		`{"title":"杯子","kind":"coupon","price":50,"stock":10,"limit_per_member":5}`,
		`{"title":"Coffee","kind":"voucher","price":20,"stock":10}`,
	} {
		id := map[bool]string{true: "cup", false: "coffee"}[strings.Contains(doc, "coupon")]
		if r := ts.Do("PUT", "/v1/rewards/"+id, ts.Admin, doc); r.Status != 200 {
			t.Fatalf("PUT %s: %s", id, r)
		}
	}
	if r := ts.Do("PUT", "/v1/rewards/cup", app, `{"title":"x","kind":"coupon","price":1,"stock":1}`); r.Status != 403 {
		t.Fatalf("an app token applied a reward: %s", r)
	}
	// Voucher lists: duplicates refused whole.
	if r := ts.Do("POST", "/v1/rewards/coffee/vouchers", ts.Admin, map[string][]string{"codes": {"C1", "C2", "C1"}}); r.Status != 409 || r.ErrCode() != "voucher_duplicate" {
		t.Fatalf("duplicate in the list: %s", r)
	}
	if r := ts.Do("POST", "/v1/rewards/coffee/vouchers", ts.Admin, map[string][]string{"codes": {"C1", "C2"}}); r.Status != 200 {
		t.Fatalf("upload: %s", r)
	}
	if r := ts.Do("POST", "/v1/rewards/coffee/vouchers", ts.Admin, map[string][]string{"codes": {"C3", "C2"}}); r.Status != 409 || r.ErrCode() != "voucher_duplicate" {
		t.Fatalf("uploaded before: %s", r)
	}
	// Adjust is the admin's.
	if r := ts.Do("POST", "/v1/members/m1/adjust", app, map[string]any{"points": 500, "reason": "x", "request_id": "a"}); r.Status != 403 {
		t.Fatalf("an app token adjusted: %s", r)
	}
	if r := ts.Do("POST", "/v1/members/m1/adjust", ts.Admin, map[string]any{"points": 500, "growth": 5, "reason": "welcome", "request_id": "a"}); r.Status != 200 {
		t.Fatalf("adjust: %s", r)
	}
	if r := ts.Do("POST", "/v1/members/m1/adjust", ts.Admin, map[string]any{"points": -501, "reason": "fix", "request_id": "b"}); r.Status != 409 || r.ErrCode() != "insufficient_points" {
		t.Fatalf("below zero: %s", r)
	}
	// Redeem: guides may not; the app may; a retry is the same answer.
	body := map[string]any{"reward": "cup", "quantity": 2, "request_id": "r1"}
	if r := ts.Do("POST", "/v1/members/m1/redeem", guide, body); r.Status != 403 {
		t.Fatalf("a guide redeemed: %s", r)
	}
	if r := ts.Do("POST", "/v1/members/m1/redeem", "", body); r.Status != 401 {
		t.Fatalf("no token, no session: %s", r)
	}
	first := ts.Do("POST", "/v1/members/m1/redeem", app, body)
	if first.Status != 200 {
		t.Fatalf("redeem: %s", first)
	}
	if again := ts.Do("POST", "/v1/members/m1/redeem", app, body); !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("retry: %s\nfirst: %s", again, first)
	}
	var res reward.RedeemResult
	json.Unmarshal(first.Body, &res)
	if res.Balance != 400 || len(res.Coupons) != 2 {
		t.Fatalf("redeem result: %s", first)
	}
	// The mall's coupon is verified at the counter like any gift.
	if r := ts.Do("POST", "/v1/coupons/"+res.Coupons[0].ID+"/verify", guide, nil); r.Status != 200 {
		t.Fatalf("verify: %s", r)
	}
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unknown reward", map[string]any{"reward": "nope", "request_id": "x1"}, 404, "not_found"},
		{"negative quantity", map[string]any{"reward": "cup", "quantity": -3, "request_id": "x2"}, 400, "invalid_request"},
		{"huge quantity", map[string]any{"reward": "cup", "quantity": 1 << 40, "request_id": "x3"}, 400, "invalid_request"},
		{"over the limit", map[string]any{"reward": "cup", "quantity": 4, "request_id": "x4"}, 409, "limit_reached"},
		{"too poor", map[string]any{"reward": "cup", "quantity": 3, "request_id": "x5"}, 409, "insufficient_points"},
		{"unknown field", map[string]any{"reward": "cup", "request_id": "x6", "points": 1}, 400, "invalid_json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "too poor" {
				ts.Do("POST", "/v1/members/m1/adjust", ts.Admin, map[string]any{"points": -300, "reason": "fix", "request_id": "poor"})
			}
			r := ts.Do("POST", "/v1/members/m1/redeem", app, c.body)
			if r.Status != c.status || r.ErrCode() != c.code {
				t.Fatalf("got %s, want %d %s", r, c.status, c.code)
			}
		})
	}
	if m, _ := ts.Member("m1"); m.Points != 100 {
		t.Fatalf("refusals moved the balance: %d", m.Points)
	}
	// Vouchers over HTTP, then none left.
	ts.Do("POST", "/v1/members/m1/adjust", ts.Admin, map[string]any{"points": 100, "reason": "more", "request_id": "more"})
	r := ts.Do("POST", "/v1/members/m1/redeem", app, map[string]any{"reward": "coffee", "quantity": 2, "request_id": "v1"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"vouchers":["C1","C2"]`) {
		t.Fatalf("vouchers: %s", r)
	}
	if r := ts.Do("POST", "/v1/members/m1/redeem", app, map[string]any{"reward": "coffee", "request_id": "v2"}); r.Status != 409 || r.ErrCode() != "out_of_stock" {
		t.Fatalf("no codes left: %s", r)
	}
	if r := ts.Do("GET", "/v1/exchanges?member=m1", ts.Admin, nil); r.Status != 200 || strings.Count(string(r.Body), `"reward":`) != 2 {
		t.Fatalf("exchanges: %s", r)
	}
	mustCleanAudit(t, ts)
}

func TestGoodsOrdersOverHTTP(t *testing.T) {
	ts := startServer(t, scan.Options{})
	ts.Do("PUT", "/v1/rewards/bowl", ts.Admin, `{"title":"Bowl","kind":"goods","price":100,"stock":1}`)
	ts.Do("POST", "/v1/members/m1/adjust", ts.Admin, map[string]any{"points": 100, "reason": "gift", "request_id": "a"})
	addr := map[string]string{"name": "韩梅梅", "phone": "13900000000", "address": "北京市 2 号"}
	if r := ts.Do("POST", "/v1/members/m1/redeem", ts.Admin, map[string]any{"reward": "bowl", "request_id": "g0"}); r.Status != 400 {
		t.Fatalf("goods without an address: %s", r)
	}
	r := ts.Do("POST", "/v1/members/m1/redeem", ts.Admin, map[string]any{"reward": "bowl", "request_id": "g1", "address": addr})
	if r.Status != 200 {
		t.Fatalf("redeem: %s", r)
	}
	var res reward.RedeemResult
	json.Unmarshal(r.Body, &res)
	id := res.Exchange.ID
	if r := ts.Do("GET", "/v1/exchanges?status=pending", ts.Admin, nil); !strings.Contains(string(r.Body), id) {
		t.Fatalf("pending orders: %s", r)
	}
	if r := ts.Do("POST", "/v1/exchanges/"+id+"/ship", ts.Admin, map[string]string{"tracking": "SF1"}); r.Status != 200 {
		t.Fatalf("ship: %s", r)
	}
	if r := ts.Do("POST", "/v1/exchanges/"+id+"/cancel", ts.Admin, map[string]string{"reason": "returned"}); r.Status != 200 {
		t.Fatalf("cancel: %s", r)
	}
	if r := ts.Do("POST", "/v1/exchanges/"+id+"/cancel", ts.Admin, map[string]string{"reason": "again"}); r.Status != 409 || r.ErrCode() != "already_cancelled" {
		t.Fatalf("second cancel: %s", r)
	}
	if m, _ := ts.Member("m1"); m.Points != 100 {
		t.Fatalf("refunded once: balance %d", m.Points)
	}
	if r := ts.Do("GET", "/v1/exchanges/"+id, ts.Token(reward.RoleApp), nil); r.Status != 200 || !strings.Contains(string(r.Body), `"refunded":100`) {
		t.Fatalf("get: %s", r)
	}
	mustCleanAudit(t, ts)
}

func TestOrdersOverHTTP(t *testing.T) {
	ts := startServer(t, scan.Options{})
	app := ts.Token(reward.RoleApp)
	order := map[string]any{"order_id": "JD-1", "member": "m1", "amount": 9900, "channel": "jd"}
	if r := ts.Do("POST", "/v1/orders", app, order); r.Status != 409 || r.ErrCode() != "order_rate_unset" {
		t.Fatalf("no rate: %s", r)
	}
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, map[string]any{"order_points_per_yuan": 1}); r.Status != 200 {
		t.Fatalf("rate: %s", r)
	}
	if r := ts.Do("POST", "/v1/orders", app, order); r.Status != 200 || !strings.Contains(string(r.Body), `"points":99`) {
		t.Fatalf("order: %s", r)
	}
	if r := ts.Do("POST", "/v1/orders", app, order); r.Status != 200 || !strings.Contains(string(r.Body), `"already_recorded"`) {
		t.Fatalf("order again: %s", r)
	}
	order["amount"] = 1
	if r := ts.Do("POST", "/v1/orders", app, order); r.Status != 409 || r.ErrCode() != "order_exists" {
		t.Fatalf("same id, other amount: %s", r)
	}
	for _, c := range []struct {
		name string
		body any
	}{
		{"negative amount", map[string]any{"order_id": "X", "member": "m1", "amount": -5, "channel": "jd"}},
		{"huge amount", map[string]any{"order_id": "X", "member": "m1", "amount": int64(1) << 60, "channel": "jd"}},
		{"no channel", map[string]any{"order_id": "X", "member": "m1", "amount": 5}},
	} {
		if r := ts.Do("POST", "/v1/orders", app, c.body); r.Status != 400 {
			t.Errorf("%s: %s", c.name, r)
		}
	}
	if r := ts.Do("POST", "/v1/orders/NOPE/refund", app, nil); r.Status != 404 || r.ErrCode() != "not_found" {
		t.Fatalf("refund of an unknown order: %s", r)
	}
	if r := ts.Do("POST", "/v1/orders/JD-1/refund", app, map[string]string{"reason": "returned"}); r.Status != 200 || !strings.Contains(string(r.Body), `"taken":99`) {
		t.Fatalf("refund: %s", r)
	}
	if r := ts.Do("POST", "/v1/orders/JD-1/refund", app, nil); r.Status != 409 || r.ErrCode() != "already_refunded" {
		t.Fatalf("second refund: %s", r)
	}
	if r := ts.Do("GET", "/v1/orders/JD-1", app, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"shortfall":0`) {
		t.Fatalf("get: %s", r)
	}
	mustCleanAudit(t, ts)
}

// TestSignedInMemberRedeemsForThemselvesOnly: the member centre's session
// may redeem for its own member, never another's, and not from another
// site.
func TestSignedInMemberRedeemsForThemselvesOnly(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	b := newBrowser(t, ss.testServer)
	ss.signIn(t, b, "13800000001", "/me")
	_, c := b.me(t)
	me := "tel:+8613800000001"
	ss.Do("PUT", "/v1/rewards/cup", ss.Admin, `{"title":"Cup","kind":"coupon","price":10,"stock":5}`)
	if r := ss.Do("POST", "/v1/members/"+url.PathEscape(me)+"/adjust", ss.Admin, map[string]any{"points": 50, "reason": "gift", "request_id": "a"}); r.Status != 200 {
		t.Fatalf("adjust: %s", r)
	}
	post := func(member, origin string) (int, string) {
		req, _ := http.NewRequest("POST", ss.URL+"/v1/members/"+url.PathEscape(member)+"/redeem", strings.NewReader(fmt.Sprintf(`{"reward":"cup","request_id":"s-%s"}`, origin)))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if status, body := post(me, ss.URL); status != 200 {
		t.Fatalf("own redeem: %d %s (centre %+v)", status, body, c)
	}
	if status, body := post("someone-else", ss.URL); status != 403 {
		t.Fatalf("another member's redeem: %d %s", status, body)
	}
	if status, body := post(me, "https://evil.example"); status != 403 {
		t.Fatalf("a cross-site redeem: %d %s", status, body)
	}
	mustCleanAudit(t, ss.testServer)
}

func mustCleanAudit(t *testing.T, ts *testServer) {
	t.Helper()
	r := ts.Do("GET", "/v1/audit", ts.Admin, nil)
	var rep reward.AuditReport
	if err := json.Unmarshal(r.Body, &rep); err != nil || len(rep.Violations) != 0 {
		t.Fatalf("audit: %s", r)
	}
}
