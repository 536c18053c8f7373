package scan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node"
)

// TestDashboardShowsTheBrandsDay: the dashboard mixed the brand's day with
// UTC times. With the brand in Shanghai, a campaign that starts at 17:00
// UTC on 1 March starts on 2 March, and a flag raised at 17:30 UTC is at
// 01:30 on 2 March, on the dashboard as on the pages.
func TestDashboardShowsTheBrandsDay(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	now := time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC)
	ts := startServerApp(t, node.Options{StatsZone: shanghai, Now: func() time.Time { return now }}, scan.Options{})
	if r := ts.Do("PUT", "/v1/campaigns/spring", ts.Admin, `{"products":["SKU-Z"],"starts_at":"2026-03-01T17:00:00Z","ends_at":"2026-12-31T18:00:00Z","points":10}`); r.Status != 200 {
		t.Fatal(r)
	}
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-Z", Count: 1, Region: "east", Activate: true})
	if r := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: codes[0], Member: "m1", Region: "west"}); r.Status != 200 {
		t.Fatal(r)
	}
	r := ts.Do("GET", "/admin?lang=en", ts.Admin, nil)
	body := string(r.Body)
	if r.Status != 200 {
		t.Fatalf("GET /admin: %v", r)
	}
	for _, want := range []string{"2026-03-02", "2027-01-01", "03-02 01:30", "Asia/Shanghai"} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks the brand's %q:\n%s", want, body)
		}
	}
	for _, utc := range []string{"2026-03-01", "2026-12-31", "03-01 17:30"} {
		if strings.Contains(body, utc) {
			t.Errorf("the dashboard shows the UTC %q:\n%s", utc, body)
		}
	}
}
