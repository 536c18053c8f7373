package scan_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan"
)

// TestStatsBySourceAndStoreAPI: GET /v1/stats counts by the scans' source
// and by store (redemptions, gifts verified, new members, commission),
// refuses an unknown dimension by naming the known ones, and the
// dashboard shows today by source and by store.
func TestStatsBySourceAndStoreAPI(t *testing.T) {
	ts := startServer(t, scan.Options{})
	eng := ts.App.Engine
	rewardtest.MustApply(t, eng, rewardtest.CampaignDoc(t, map[string]any{
		"products":         []string{"SKU-ST"},
		"guide_commission": map[string]any{"per_scan": 3, "per_coupon": 5},
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 10, "valid_days": 30},
	}))
	rewardtest.MustStore(t, eng, "S1")
	if _, _, err := eng.AddGuide(reward.Guide{ID: "G1", Store: "S1"}); err != nil {
		t.Fatal(err)
	}
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-ST", Count: 3, Activate: true})
	var gift string
	for i, req := range []reward.ScanRequest{
		{Code: codes[0], Member: "m1", Guide: "G1", Source: "douyin"},
		{Code: codes[1], Member: "m2", Source: "douyin"},
		{Code: codes[2], Member: "m3"},
	} {
		r := ts.Do("POST", "/v1/scans", ts.Admin, req)
		var res reward.ScanResult
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &res) != nil {
			t.Fatalf("scan %d: %v", i, r)
		}
		if i == 1 {
			gift = res.Coupon.ID
		}
	}
	// G1 verifies at S1 the gift of a sale no store made.
	if _, err := eng.VerifyCoupon(gift, "G1"); err != nil {
		t.Fatal(err)
	}
	var page reward.StatsPage
	if r := ts.Do("GET", "/v1/stats?by=store", ts.Admin, nil); r.Status != http.StatusOK || json.Unmarshal(r.Body, &page) != nil {
		t.Fatalf("GET /v1/stats?by=store: %v", r)
	}
	want := []reward.Stat{
		{Dimension: "store", Value: "(none)", Redeemed: 2, Points: 20, Coupons: 2, NewMembers: 2},
		{Dimension: "store", Value: "S1", Redeemed: 1, Points: 10, Coupons: 1, Commission: 3 + 5, Verified: 1, NewMembers: 1},
	}
	if page.By != "store" || len(page.Stats) != 2 || page.Stats[0] != want[0] || page.Stats[1] != want[1] {
		t.Errorf("by store: %+v\nwant %+v", page.Stats, want)
	}
	if r := ts.Do("GET", "/v1/stats?by=source&daily=true", ts.Admin, nil); r.Status != http.StatusOK || json.Unmarshal(r.Body, &page) != nil {
		t.Fatalf("GET /v1/stats?by=source: %v", r)
	}
	if len(page.Stats) != 2 || page.Stats[1].Value != "douyin" || page.Stats[1].Redeemed != 2 || page.Stats[1].Verified != 1 || page.Stats[1].Day != eng.Today() {
		t.Errorf("by source, daily: %+v", page.Stats)
	}
	r := ts.Do("GET", "/v1/stats?by=nonsense", ts.Admin, nil)
	if r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_request" || !strings.Contains(string(r.Body), "source store") {
		t.Errorf("GET /v1/stats?by=nonsense: %v", r)
	}

	body := ts.Do("GET", "/admin?lang=en", ts.Admin, nil).Body
	text := strings.Join(strings.Fields(stripTags(string(body))), " ")
	for _, want := range []string{
		"gifts verified 1", "new members 3",
		"Today by source source redemptions new members points gifts verified commission",
		"douyin 2 2 20 1 8", "(no source: direct) 1 1 10 0 0",
		"Today by store store redemptions new members points gifts verified commission",
		"(no store) 2 2 20 0 0", "S1 1 1 10 1 8",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dashboard lacks %q:\n%s", want, text)
		}
	}
}
