package scan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan"
)

// TestDashboardShowsTheBrandsDay: the dashboard mixed the brand's day with
// UTC times. With the brand in Shanghai, a campaign that starts at 17:00
// UTC on 1 March starts on 2 March, and a flag raised at 17:30 UTC is at
// 01:30 on 2 March, on the dashboard as on the pages.
func TestDashboardShowsTheBrandsDay(t *testing.T) {
	ts := startInShanghai(t, time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC))
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

// TestBrandTimeZoneOnEveryPage: the brand's time zone (PUT /v1/brand
// time_zone) is every page's, from the next request on and without a
// restart: a claim at 17:30 UTC on 1 March with a 30-day gift shows on
// 2 March, the gift expiring on 1 April, in the default Asia/Shanghai, and
// on 1 March, expiring 31 March, once the brand is in UTC. An unknown zone
// is refused and changes nothing.
func TestBrandTimeZoneOnEveryPage(t *testing.T) {
	now := time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC)
	ts := startClocked(t, &clock{t: now}, scan.Options{})
	rewardtest.MustApply(t, ts.App.Engine, `{"id":"spring","products":["SKU-TEST"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2100-01-01T00:00:00Z","points":10,
		"coupon":{"title":"Free sample","probability":1,"stock":10,"valid_days":30}}`)
	code := ts.MintActive(1, 0)[0]
	b := newBrowser(t, ts)
	claim(t, b, code)
	_, me := b.get("/me?lang=en")
	i := strings.Index(me, `id="c-`)
	if i < 0 {
		t.Fatalf("no coupon on /me:\n%s", me)
	}
	coupon := me[i+6 : i+6+strings.IndexByte(me[i+6:], '"')]

	pages := func() map[string]string {
		out := map[string]string{}
		for _, p := range []string{"/C/" + code, "/me", "/V/" + coupon} {
			_, out[p] = b.get(p + "?lang=en")
		}
		out["/admin"] = string(ts.Do("GET", "/admin?lang=en", ts.Admin, nil).Body)
		return out
	}
	check := func(zone string, want, not map[string][]string) {
		t.Helper()
		got := pages()
		for _, p := range []string{"/C/" + code, "/me", "/V/" + coupon, "/admin"} {
			page := p
			if strings.HasPrefix(p, "/V/") {
				page = "/V/"
			} else if strings.HasPrefix(p, "/C/") {
				page = "/C/"
			}
			for _, w := range want[page] {
				if !strings.Contains(got[p], w) {
					t.Errorf("in %s, %s lacks %q:\n%s", zone, p, w, got[p])
				}
			}
			for _, n := range not[page] {
				if strings.Contains(got[p], n) {
					t.Errorf("in %s, %s shows %q:\n%s", zone, p, n, got[p])
				}
			}
		}
	}
	check("Asia/Shanghai", map[string][]string{
		"/C/": {"2026-03-02"}, "/me": {"2026-03-02 01:30", "2026-04-01"}, "/V/": {"2026-04-01"}, "/admin": {"Day 20260302 (Asia/Shanghai)"},
	}, map[string][]string{
		"/C/": {"2026-03-01"}, "/me": {"2026-03-01", "2026-03-31"}, "/V/": {"2026-03-31"}, "/admin": {"20260301"},
	})
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, `{"time_zone":"UTC"}`); r.Status != 200 || !strings.Contains(string(r.Body), `"time_zone_in_use":"UTC"`) {
		t.Fatalf("PUT /v1/brand time_zone: %v", r)
	}
	utc := func() {
		t.Helper()
		check("UTC", map[string][]string{
			"/C/": {"2026-03-01"}, "/me": {"2026-03-01 17:30", "2026-03-31"}, "/V/": {"2026-03-31"}, "/admin": {"Day 20260301 (UTC)"},
		}, map[string][]string{
			"/C/": {"2026-03-02"}, "/me": {"2026-03-02", "2026-04-01"}, "/V/": {"2026-04-01"}, "/admin": {"Asia/Shanghai", "20260302"},
		})
	}
	utc()
	for _, bad := range []string{`{"time_zone":"Mars/Olympus"}`, `{"time_zone":"Local"}`, `{"time_zone":"+08:00"}`} {
		if r := ts.Do("PUT", "/v1/brand", ts.Admin, bad); r.Status != 400 || r.ErrCode() != "invalid_request" || !strings.Contains(string(r.Body), "IANA") {
			t.Errorf("PUT /v1/brand %s: %v, want 400 invalid_request", bad, r)
		}
	}
	if r := ts.Do("GET", "/v1/brand", ts.Admin, nil); !strings.Contains(string(r.Body), `"time_zone":"UTC"`) || !strings.Contains(string(r.Body), `"time_zone_in_use":"UTC"`) {
		t.Errorf("a refused zone changed the settings: %v", r)
	}
	utc()
}
