package reward_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
)

// The points mall, adjustments and purchase orders: the rules in
// mall.go, voucher.go, exchange.go, adjust.go and order.go.

func rewardDoc(id, kind string, price, stock, limit int64) string {
	return fmt.Sprintf(`{"id":%q,"title":"%s item","kind":%q,"price":%d,"stock":%d,"limit_per_member":%d}`, id, id, kind, price, stock, limit)
}

var reqSeq int

func nextReq() string { reqSeq++; return fmt.Sprintf("req-%d", reqSeq) }

// mallFixture is a fixture whose codes pay nothing, with the mall rewards
// docs put.
func mallFixture(t *testing.T, docs ...string) *fixture {
	t.Helper()
	f := newFixture(t, 10, 0)
	for _, doc := range docs {
		mustPutReward(t, f, doc)
	}
	return f
}

func mustGrant(t *testing.T, f *fixture, member string, points int64) {
	t.Helper()
	if _, err := f.eng.Adjust(member, reward.AdjustRequest{Points: points, Reason: "welcome", RequestID: nextReq()}); err != nil {
		t.Fatal(err)
	}
}

func redeemOf(t *testing.T, raw json.RawMessage) reward.RedeemResult {
	t.Helper()
	var r reward.RedeemResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func balanceOf(t *testing.T, f *fixture, member string) int64 {
	t.Helper()
	return mustMember(t, f, member).Points
}

func TestMallRedeemsEachKind(t *testing.T) {
	f := mallFixture(t,
		rewardDoc("cup", reward.KindCoupon, 50, 10, 0),
		rewardDoc("coffee", reward.KindVoucher, 30, 10, 0),
		rewardDoc("bowl", reward.KindGoods, 100, 3, 0))
	if _, err := f.eng.AddVouchers("coffee", []string{"CF-1", "CF-2", "CF-3"}); err != nil {
		t.Fatal(err)
	}
	mustGrant(t, f, "m1", 1000)
	mustGuide(t, f, "G1", "")

	// A coupon, verified at the counter like a scan's gift.
	raw, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "cup", Quantity: 2, RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	res := redeemOf(t, raw)
	if res.Balance != 900 || len(res.Coupons) != 2 || res.Exchange.Points != 100 {
		t.Fatalf("coupon redeem: %+v", res)
	}
	if c, err := f.eng.VerifyCoupon(res.Coupons[0].ID, "G1"); err != nil || c.Status != reward.CouponUsed {
		t.Fatalf("verify: %v %+v", err, c)
	}
	if _, err := f.eng.VerifyCoupon(res.Coupons[0].ID, "G1"); code(err) != reward.CodeAlreadyUsed {
		t.Fatalf("second verify: %v", err)
	}

	// Vouchers: each code handed out once.
	got := map[string]bool{}
	for i := range 3 {
		raw, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "coffee", RequestID: fmt.Sprintf("v%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		r := redeemOf(t, raw)
		if len(r.Exchange.Vouchers) != 1 || got[r.Exchange.Vouchers[0]] {
			t.Fatalf("voucher redeem %d: %+v", i, r.Exchange)
		}
		got[r.Exchange.Vouchers[0]] = true
	}
	if _, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "coffee", RequestID: "v-none"}); code(err) != reward.CodeOutOfStock {
		t.Fatalf("voucher list empty: %v", err)
	}

	// Goods: shipped, or cancelled with one refund.
	addr := &reward.Address{Name: "李雷", Phone: "13800000000", Address: "上海市 1 号"}
	if _, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "bowl", RequestID: "g0"}); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("goods without address: %v", err)
	}
	raw, err = f.eng.Redeem("m1", reward.RedeemRequest{Reward: "bowl", RequestID: "g1", Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	g1 := redeemOf(t, raw).Exchange
	raw, err = f.eng.Redeem("m1", reward.RedeemRequest{Reward: "bowl", RequestID: "g2", Address: addr, Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	g2 := redeemOf(t, raw).Exchange
	if g1.Status != reward.ExchangePending || balanceOf(t, f, "m1") != 1000-100-90-300 {
		t.Fatalf("goods: %+v balance %d", g1, balanceOf(t, f, "m1"))
	}
	if x, err := f.eng.ShipExchange(g1.ID, "SF123"); err != nil || x.Status != reward.ExchangeShipped {
		t.Fatalf("ship: %v %+v", err, x)
	}
	if _, err := f.eng.ShipExchange(g1.ID, "SF123"); code(err) != reward.CodeAlreadyShipped {
		t.Fatalf("ship twice: %v", err)
	}
	before := balanceOf(t, f, "m1")
	if x, err := f.eng.CancelExchange(g2.ID, "out of colour"); err != nil || x.Refunded != 200 {
		t.Fatalf("cancel: %v %+v", err, x)
	}
	if _, err := f.eng.CancelExchange(g2.ID, "again"); code(err) != reward.CodeAlreadyCancelled {
		t.Fatalf("cancel twice: %v", err)
	}
	if _, err := f.eng.ShipExchange(g2.ID, "SF9"); code(err) != reward.CodeAlreadyCancelled {
		t.Fatalf("ship a cancelled order: %v", err)
	}
	if after := balanceOf(t, f, "m1"); after != before+200 {
		t.Fatalf("refund: balance %d, want %d", after, before+200)
	}
	if v, err := f.eng.RewardByID("bowl"); err != nil || v.Left != 2 {
		t.Fatalf("stock back: %v %+v", err, v)
	}
	if _, err := f.eng.CancelExchange(res.Exchange.ID, "no"); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("cancel a coupon exchange: %v", err)
	}
	page, err := f.eng.Exchanges("m1", "", "", 2)
	if err != nil || len(page.Exchanges) != 2 || page.Next == "" || page.Exchanges[0].ID != g2.ID {
		t.Fatalf("member's exchanges: %v %+v", err, page)
	}
	rest, err := f.eng.Exchanges("m1", "", page.Next, 50)
	if err != nil || len(rest.Exchanges) != 4 || rest.Next != "" {
		t.Fatalf("second page: %v %d %q", err, len(rest.Exchanges), rest.Next)
	}
	mustAudit(t, f)
}

func TestRedeemRefusalsStoreNothing(t *testing.T) {
	f := mallFixture(t, rewardDoc("cup", reward.KindCoupon, 50, 2, 1))
	soon := f.now.Add(time.Hour)
	mustPutReward(t, f, fmt.Sprintf(`{"id":"later","title":"later","kind":"coupon","price":1,"stock":5,"starts_at":%q}`, soon.Format(time.RFC3339)))
	mustPutReward(t, f, fmt.Sprintf(`{"id":"past","title":"past","kind":"coupon","price":1,"stock":5,"ends_at":%q}`, f.now.Add(-time.Hour).Format(time.RFC3339)))
	mustGrant(t, f, "rich", 1000)
	mustGrant(t, f, "poor", 40)
	for _, c := range []struct {
		name   string
		member string
		req    reward.RedeemRequest
		want   reward.Code
	}{
		{"unknown reward", "rich", reward.RedeemRequest{Reward: "nope"}, reward.CodeNotFound},
		{"negative quantity", "rich", reward.RedeemRequest{Reward: "cup", Quantity: -1}, reward.CodeInvalidRequest},
		{"huge quantity", "rich", reward.RedeemRequest{Reward: "cup", Quantity: 1 << 62}, reward.CodeInvalidRequest},
		{"no request id", "rich", reward.RedeemRequest{Reward: "cup"}, reward.CodeInvalidRequest},
		{"too poor", "poor", reward.RedeemRequest{Reward: "cup"}, reward.CodeInsufficientPoints},
		{"no account", "nobody", reward.RedeemRequest{Reward: "cup"}, reward.CodeInsufficientPoints},
		{"over the limit", "rich", reward.RedeemRequest{Reward: "cup", Quantity: 2}, reward.CodeLimitReached},
		{"more than the stock", "rich", reward.RedeemRequest{Reward: "cup", Quantity: 3}, reward.CodeOutOfStock},
		{"not started", "rich", reward.RedeemRequest{Reward: "later"}, reward.CodeRewardNotStarted},
		{"ended", "rich", reward.RedeemRequest{Reward: "past"}, reward.CodeRewardEnded},
		{"address for a coupon", "rich", reward.RedeemRequest{Reward: "cup", Address: &reward.Address{Name: "a", Phone: "1", Address: "x"}}, reward.CodeInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "no request id" {
				c.req.RequestID = nextReq()
			}
			if _, err := f.eng.Redeem(c.member, c.req); code(err) != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
		})
	}
	if balanceOf(t, f, "rich") != 1000 || balanceOf(t, f, "poor") != 40 {
		t.Fatal("a refused redemption moved a balance")
	}
	if v, _ := f.eng.RewardByID("cup"); v.Counters != (reward.RewardCounters{}) {
		t.Fatalf("a refused redemption moved the counters: %+v", v.Counters)
	}
	// The limit counts what the member holds: one, then no more.
	if _, err := f.eng.Redeem("rich", reward.RedeemRequest{Reward: "cup", RequestID: "ok"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Redeem("rich", reward.RedeemRequest{Reward: "cup", RequestID: "ok2"}); code(err) != reward.CodeLimitReached {
		t.Fatalf("second unit past a limit of one: %v", err)
	}
	mustAudit(t, f)
}

func TestRedeemRetryAnswersTheStoredResult(t *testing.T) {
	f := mallFixture(t, rewardDoc("cup", reward.KindCoupon, 50, 10, 0))
	mustGrant(t, f, "m1", 100)
	first, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "cup", RequestID: "same"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "cup", RequestID: "same"})
	if err != nil || string(again) != string(first) {
		t.Fatalf("retry: %v\n%s\n%s", err, first, again)
	}
	if b := balanceOf(t, f, "m1"); b != 50 {
		t.Fatalf("a retry took points again: balance %d", b)
	}
	if _, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "cup", Quantity: 2, RequestID: "same"}); code(err) != reward.CodeIdempotencyReused {
		t.Fatalf("same id, other request: %v", err)
	}
	mustAudit(t, f)
}

// TestConcurrentRedeemsNeverOversell: 50 members who can each afford one
// unit race for a stock of 5; exactly 5 win.
func TestConcurrentRedeemsNeverOversell(t *testing.T) {
	f := mallFixture(t, rewardDoc("hot", reward.KindGoods, 100, 5, 0))
	const n = 50
	for i := range n {
		mustGrant(t, f, fmt.Sprintf("m%d", i), 100)
	}
	addr := &reward.Address{Name: "n", Phone: "1", Address: "a"}
	wins, soldOut := race(t, n, reward.CodeOutOfStock, func(i int) error {
		_, err := f.eng.Redeem(fmt.Sprintf("m%d", i), reward.RedeemRequest{Reward: "hot", RequestID: fmt.Sprintf("x%d", i), Address: addr})
		return err
	})
	if wins != 5 || soldOut != n-5 {
		t.Fatalf("%d won and %d were sold out, want 5 and %d", wins, soldOut, n-5)
	}
	var spent int
	for i := range n {
		if balanceOf(t, f, fmt.Sprintf("m%d", i)) == 0 {
			spent++
		}
	}
	if spent != 5 {
		t.Fatalf("%d members paid, want 5", spent)
	}
	if v, _ := f.eng.RewardByID("hot"); v.Left != 0 || v.Counters.Redeemed != 5 {
		t.Fatalf("stock: %+v", v)
	}
	mustAudit(t, f)
}

// TestConcurrentRedeemsOfOneBalance: one member whose balance covers one
// unit asks for it many times at once; one wins.
func TestConcurrentRedeemsOfOneBalance(t *testing.T) {
	f := mallFixture(t, rewardDoc("cup", reward.KindCoupon, 100, 100, 0))
	mustGrant(t, f, "m1", 150)
	const n = 30
	wins, poor := race(t, n, reward.CodeInsufficientPoints, func(i int) error {
		_, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "cup", RequestID: fmt.Sprintf("r%d", i)})
		return err
	})
	if wins != 1 || poor != n-1 || balanceOf(t, f, "m1") != 50 {
		t.Fatalf("%d won, %d refused, balance %d", wins, poor, balanceOf(t, f, "m1"))
	}
	mustAudit(t, f)
}

func TestVoucherUploadsRefuseDuplicates(t *testing.T) {
	f := mallFixture(t, rewardDoc("coffee", reward.KindVoucher, 10, 100, 0), rewardDoc("cup", reward.KindCoupon, 10, 100, 0))
	if up, err := f.eng.AddVouchers("coffee", []string{"A", "B"}); err != nil || up.Uploaded != 2 {
		t.Fatalf("%v %+v", err, up)
	}
	for _, c := range []struct {
		name  string
		id    string
		codes []string
		want  reward.Code
	}{
		{"twice in the list", "coffee", []string{"C", "D", "C"}, reward.CodeVoucherDuplicate},
		{"uploaded before", "coffee", []string{"E", "A"}, reward.CodeVoucherDuplicate},
		{"empty code", "coffee", []string{"F", ""}, reward.CodeInvalidRequest},
		{"control character", "coffee", []string{"G\n"}, reward.CodeInvalidRequest},
		{"no codes", "coffee", nil, reward.CodeInvalidRequest},
		{"unknown reward", "tea", []string{"H"}, reward.CodeNotFound},
		{"not a voucher", "cup", []string{"I"}, reward.CodeInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.eng.AddVouchers(c.id, c.codes); code(err) != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
		})
	}
	if v, _ := f.eng.RewardByID("coffee"); v.VouchersLeft == nil || *v.VouchersLeft != 2 {
		t.Fatalf("a refused upload stored codes: %+v", v)
	}
	mustAudit(t, f)
}

func TestRewardDocuments(t *testing.T) {
	for _, c := range []struct{ name, doc string }{
		{"negative price", `{"id":"a","title":"t","kind":"coupon","price":-1,"stock":1}`},
		{"huge price", `{"id":"a","title":"t","kind":"coupon","price":1000000000000,"stock":1}`},
		{"negative stock", `{"id":"a","title":"t","kind":"coupon","price":1,"stock":-5}`},
		{"unknown kind", `{"id":"a","title":"t","kind":"cash","price":1,"stock":1}`},
		{"no title", `{"id":"a","kind":"coupon","price":1,"stock":1}`},
		{"unknown field", `{"id":"a","title":"t","kind":"coupon","price":1,"stock":1,"prize":2}`},
		{"window backwards", `{"id":"a","title":"t","kind":"coupon","price":1,"stock":1,"starts_at":"2026-02-01T00:00:00Z","ends_at":"2026-01-01T00:00:00Z"}`},
		{"script picture", `{"id":"a","title":"t","kind":"coupon","price":1,"stock":1,"picture":"javascript:alert(1)"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := reward.ParseReward([]byte(c.doc), ""); code(err) != reward.CodeInvalidRequest {
				t.Fatalf("got %v, want invalid_request", err)
			}
		})
	}
	// Stock may not drop below what was redeemed.
	f := mallFixture(t, rewardDoc("cup", reward.KindCoupon, 10, 5, 0))
	mustGrant(t, f, "m1", 100)
	if _, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "cup", Quantity: 3, RequestID: "a"}); err != nil {
		t.Fatal(err)
	}
	r, _ := reward.ParseReward([]byte(rewardDoc("cup", reward.KindCoupon, 10, 2, 0)), "")
	if _, err := f.eng.PutReward(r); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("stock below redeemed: %v", err)
	}
	// Cheapest first in the mall.
	mustPutReward(t, f, rewardDoc("big", reward.KindCoupon, 500, 5, 0))
	mustPutReward(t, f, rewardDoc("small", reward.KindCoupon, 1, 5, 0))
	list, err := f.eng.Rewards(false)
	if err != nil || len(list) != 3 || list[0].ID != "small" || list[1].ID != "cup" || list[2].ID != "big" {
		t.Fatalf("mall order: %v %v", err, list)
	}
	mustAudit(t, f)
}

// TestExampleRewardParses: every reward example in docs/examples is a
// valid document.
func TestExampleRewardParses(t *testing.T) {
	files, _ := filepath.Glob("../docs/examples/*reward*.json")
	if len(files) == 0 {
		t.Fatal("no reward example in docs/examples")
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := reward.ParseReward(raw, "")
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var doc map[string]any
		json.Unmarshal(raw, &doc)
		if _, ok := doc["stock"]; !ok || r.Stock <= 0 {
			t.Fatalf("%s has no stock under \"stock\"", p)
		}
	}
}

func TestAdjust(t *testing.T) {
	f := newFixture(t, 10, 0)
	if _, err := f.eng.Adjust("m1", reward.AdjustRequest{Points: 100, Growth: 20, Reason: "store opening", RequestID: "a1"}); err != nil {
		t.Fatal(err)
	}
	again, err := f.eng.Adjust("m1", reward.AdjustRequest{Points: 100, Growth: 20, Reason: "store opening", RequestID: "a1"})
	if err != nil || !strings.Contains(string(again), `"adjusted"`) {
		t.Fatalf("retry: %v %s", err, again)
	}
	for _, c := range []struct {
		name string
		req  reward.AdjustRequest
		want reward.Code
	}{
		{"below zero", reward.AdjustRequest{Points: -101, Reason: "fix"}, reward.CodeInsufficientPoints},
		{"growth below zero", reward.AdjustRequest{Growth: -21, Reason: "fix"}, reward.CodeInsufficientGrowth},
		{"nothing", reward.AdjustRequest{Reason: "fix"}, reward.CodeInvalidRequest},
		{"huge", reward.AdjustRequest{Points: 1 << 62, Reason: "fix"}, reward.CodeInvalidRequest},
		{"huge negative", reward.AdjustRequest{Points: -1 << 62, Reason: "fix"}, reward.CodeInvalidRequest},
		{"no reason", reward.AdjustRequest{Points: 1}, reward.CodeInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.RequestID = nextReq()
			if _, err := f.eng.Adjust("m1", c.req); code(err) != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
		})
	}
	if _, err := f.eng.Adjust("m1", reward.AdjustRequest{Points: -100, Growth: -20, Reason: "mistake", RequestID: "a2"}); err != nil {
		t.Fatal(err)
	}
	v := mustMember(t, f, "m1")
	if v.Points != 0 || v.Growth != 0 {
		t.Fatalf("after the correction: %d points, %d growth", v.Points, v.Growth)
	}
	mustAudit(t, f)
}

func setRate(t *testing.T, f *fixture, rate float64) {
	t.Helper()
	if _, err := f.eng.SetBrand(reward.BrandChange{OrderPointsPerYuan: &rate}); err != nil {
		t.Fatal(err)
	}
}

func TestOrdersEarnOnceAndRefundOnce(t *testing.T) {
	f := newFixture(t, 10, 0)
	o := reward.OrderRequest{OrderID: "T1001", Member: "m1", Amount: 12345, Channel: "tmall"}
	if _, err := f.eng.RecordOrder(o); code(err) != reward.CodeOrderRateUnset {
		t.Fatalf("no rate: %v", err)
	}
	setRate(t, f, 0.5) // a point per 2 yuan
	res, err := f.eng.RecordOrder(o)
	if err != nil || res.Order.Points != 61 || res.Balance != 61 {
		t.Fatalf("earn: %v %+v", err, res)
	}
	res, err = f.eng.RecordOrder(o)
	if err != nil || res.Result != "already_recorded" || res.Balance != 61 {
		t.Fatalf("same order again: %v %+v", err, res)
	}
	other := o
	other.Amount++
	if _, err := f.eng.RecordOrder(other); code(err) != reward.CodeOrderExists {
		t.Fatalf("same id, other amount: %v", err)
	}
	for _, c := range []struct {
		name string
		req  reward.OrderRequest
	}{
		{"zero amount", reward.OrderRequest{OrderID: "x1", Member: "m1", Amount: 0, Channel: "c"}},
		{"negative amount", reward.OrderRequest{OrderID: "x2", Member: "m1", Amount: -100, Channel: "c"}},
		{"huge amount", reward.OrderRequest{OrderID: "x3", Member: "m1", Amount: 1 << 62, Channel: "c"}},
		{"no channel", reward.OrderRequest{OrderID: "x4", Member: "m1", Amount: 100}},
		{"slash in id", reward.OrderRequest{OrderID: "a/b", Member: "m1", Amount: 100, Channel: "c"}},
		{"no member", reward.OrderRequest{OrderID: "x5", Amount: 100, Channel: "c"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.eng.RecordOrder(c.req); code(err) != reward.CodeInvalidRequest {
				t.Fatalf("got %v, want invalid_request", err)
			}
		})
	}
	if _, err := f.eng.RefundOrder("nope", ""); code(err) != reward.CodeNotFound {
		t.Fatalf("refund of an unknown order: %v", err)
	}
	// Spend most of it, then refund: the balance goes to zero, the rest
	// is the shortfall.
	if _, err := f.eng.Spend("m1", reward.SpendRequest{Points: 50, Reason: "gift", RequestID: "s1"}); err != nil {
		t.Fatal(err)
	}
	res, err = f.eng.RefundOrder("T1001", "returned")
	if err != nil || res.Order.Refund.Taken != 11 || res.Order.Refund.Shortfall != 50 || res.Balance != 0 {
		t.Fatalf("refund: %v %+v", err, res)
	}
	if _, err := f.eng.RefundOrder("T1001", "again"); code(err) != reward.CodeAlreadyRefunded {
		t.Fatalf("second refund: %v", err)
	}
	if _, err := f.eng.RecordOrder(o); err != nil { // still once
		t.Fatal(err)
	}
	if b := balanceOf(t, f, "m1"); b != 0 {
		t.Fatalf("balance %d after the refund", b)
	}
	mustAudit(t, f)
}

// TestOrdersEarnByTheMembersTier: a purchase order's points are the
// brand's rate times the multiplier of the member's tier on the brand's
// ladder, and its refund takes back exactly what it earned.
func TestOrdersEarnByTheMembersTier(t *testing.T) {
	f := newFixture(t, 10, 0)
	setRate(t, f, 1)
	ladder := []reward.Tier{{Name: "gold", MinGrowth: 1000, Multiplier: 1.5}}
	if _, err := f.eng.SetBrand(reward.BrandChange{Tiers: &ladder}); err != nil {
		t.Fatal(err)
	}
	res, err := f.eng.RecordOrder(reward.OrderRequest{OrderID: "T1", Member: "m1", Amount: 10000, Channel: "tmall"})
	if err != nil || res.Order.Points != 100 || res.Order.Multiplier != 1 {
		t.Fatalf("an order below every tier: %v %+v", err, res)
	}
	if _, err := f.eng.Adjust("m1", reward.AdjustRequest{Growth: 1000, Reason: "migrated growth", RequestID: "a1"}); err != nil {
		t.Fatal(err)
	}
	res, err = f.eng.RecordOrder(reward.OrderRequest{OrderID: "T2", Member: "m1", Amount: 10000, Channel: "tmall"})
	if err != nil || res.Order.Points != 150 || res.Order.Multiplier != 1.5 || res.Balance != 250 {
		t.Fatalf("a gold member's order of 100 yuan: %v %+v, want 150 points (1.5 x 100)", err, res)
	}
	res, err = f.eng.RefundOrder("T2", "returned")
	if err != nil || res.Order.Refund.Taken != 150 || res.Balance != 100 {
		t.Fatalf("refund of the gold order: %v %+v", err, res)
	}
	mustAudit(t, f)
}

// TestConcurrentOrdersAndRefunds: orders, their refunds (twice each) and
// spends race; each order earns once and is refunded once, and no balance
// goes below zero.
func TestConcurrentOrdersAndRefunds(t *testing.T) {
	f := newFixture(t, 10, 0)
	setRate(t, f, 1)
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	refunds := map[string]int{}
	for i := range n {
		id := fmt.Sprintf("O%d", i)
		member := fmt.Sprintf("m%d", i%4)
		for k := range 3 {
			wg.Go(func() {
				switch k {
				case 0:
					if _, err := f.eng.RecordOrder(reward.OrderRequest{OrderID: id, Member: member, Amount: 1000, Channel: "shop"}); err != nil {
						t.Errorf("order %s: %v", id, err)
					}
				default:
					_, err := f.eng.RefundOrder(id, "")
					mu.Lock()
					defer mu.Unlock()
					switch code(err) {
					case "":
						refunds[id]++
					case reward.CodeNotFound, reward.CodeAlreadyRefunded:
					default:
						t.Errorf("refund %s: %v", id, err)
					}
				}
			})
		}
		wg.Go(func() {
			_, err := f.eng.Spend(member, reward.SpendRequest{Points: 7, Reason: "x", RequestID: "s" + id})
			if c := code(err); c != "" && c != reward.CodeInsufficientPoints && c != reward.CodeNotFound {
				t.Errorf("spend: %v", err)
			}
		})
	}
	wg.Wait()
	for id, k := range refunds {
		if k != 1 {
			t.Errorf("order %s refunded %d times", id, k)
		}
	}
	for i := range 4 {
		if b := balanceOf(t, f, fmt.Sprintf("m%d", i)); b < 0 {
			t.Errorf("member m%d balance %d", i, b)
		}
	}
	mustAudit(t, f)
}

// TestMallAuditCatchesForgedRecords: a record written behind the rules'
// back is named by the audit.
func TestMallAuditCatchesForgedRecords(t *testing.T) {
	for _, c := range []struct {
		name, key, value, want string
	}{
		{"stock counter lowered", "rwc/cup", `{"redeemed":0,"redemptions":1}`, "reward cup counters"},
		{"overstocked", "rw/cup", `{"id":"cup","title":"c","kind":"coupon","price":50,"stock":0}`, "units redeemed from a stock of 0"},
		{"voucher handed out twice", "vch/coffee\x00V2", `{"reward":"coffee","code":"V2","seq":2,"exchange":"FORGED","member":"m1"}`, "voucher V2 of reward coffee"},
		{"order inflated", "ord/O1", `{"order_id":"O1","member":"m1","amount":100,"channel":"c","points":1000,"ledger":[]}`, "order O1 earned 1000"},
		{"adjustment without entries", "adj/A1", `{"id":"A1","member":"m1","points":500,"reason":"gift","ledger":[]}`, "adjustment A1 of 500 points"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := mallFixture(t, rewardDoc("cup", reward.KindCoupon, 50, 10, 0), rewardDoc("coffee", reward.KindVoucher, 10, 10, 0))
			setRate(t, f, 1)
			if _, err := f.eng.AddVouchers("coffee", []string{"V1", "V2"}); err != nil {
				t.Fatal(err)
			}
			mustGrant(t, f, "m1", 1000)
			for _, r := range []string{"cup", "coffee"} {
				if _, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: r, RequestID: "f" + r}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.eng.RecordOrder(reward.OrderRequest{OrderID: "O1", Member: "m1", Amount: 100, Channel: "c"}); err != nil {
				t.Fatal(err)
			}
			mustAudit(t, f)
			if err := f.db.Update(func(tx reward.Tx) error { tx.Put([]byte(c.key), []byte(c.value)); return nil }); err != nil {
				t.Fatal(err)
			}
			mustAuditSay(t, f.eng, c.want)
		})
	}
}

// TestMallMessagesTellTheBrandsTime: the messages of refused mall and
// order actions said their times in UTC (a goods order shipped at 18:00 in
// Shanghai read "10:00:00Z"); they are in the brand's time zone, as every
// other message is.
func TestMallMessagesTellTheBrandsTime(t *testing.T) {
	f := newFixture(t, 1, 0)               // the brand's zone is the default, Asia/Shanghai
	const at = "2026-05-01T18:00:00+08:00" // the fixture's clock, 10:00 UTC
	mustGrant(t, f, "m1", 1000)
	mustPutReward(t, f, rewardDoc("bowl", "goods", 100, 10, 0))
	mustPutReward(t, f, `{"id":"later","title":"later item","kind":"goods","price":1,"stock":1,"starts_at":"2026-06-01T00:00:00Z"}`)
	addr := &reward.Address{Name: "李雷", Phone: "13800000000", Address: "上海市 1 号"}
	wantMessage := func(what string, err error, want reward.Code, text string) {
		t.Helper()
		if code(err) != want || !strings.Contains(err.Error(), text) {
			t.Errorf("%s: %v, want %s saying %s", what, err, want, text)
		}
	}
	_, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "later", RequestID: "l1", Address: addr})
	wantMessage("an item not on sale yet", err, reward.CodeRewardNotStarted, "2026-06-01T08:00:00+08:00")
	var ids []string
	for _, id := range []string{"g1", "g2"} {
		raw, err := f.eng.Redeem("m1", reward.RedeemRequest{Reward: "bowl", RequestID: id, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, redeemOf(t, raw).Exchange.ID)
	}
	if _, err := f.eng.ShipExchange(ids[0], "SF1"); err != nil {
		t.Fatal(err)
	}
	_, err = f.eng.ShipExchange(ids[0], "SF1")
	wantMessage("shipping twice", err, reward.CodeAlreadyShipped, "shipped on "+at)
	if _, err := f.eng.CancelExchange(ids[1], "gone"); err != nil {
		t.Fatal(err)
	}
	_, err = f.eng.CancelExchange(ids[1], "again")
	wantMessage("cancelling twice", err, reward.CodeAlreadyCancelled, "cancelled on "+at)
	setRate(t, f, 1)
	if _, err := f.eng.RecordOrder(reward.OrderRequest{OrderID: "T1", Member: "m1", Amount: 100, Channel: "tmall"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.RefundOrder("T1", "returned"); err != nil {
		t.Fatal(err)
	}
	_, err = f.eng.RefundOrder("T1", "again")
	wantMessage("refunding twice", err, reward.CodeAlreadyRefunded, "refunded on "+at)
}
