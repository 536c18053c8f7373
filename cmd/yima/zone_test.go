package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFlagsInTheBrandsZone: with the brand in Shanghai, yima flags shows a
// flag's time in Shanghai beside its Shanghai day, through the server and
// on the data directory alike: the zone is the brand's stored setting.
func TestFlagsInTheBrandsZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	data := filepath.Join(t.TempDir(), "data")
	mustYima(t, "brand", "set", "--base-url", "HTTPS://YIMA.EXAMPLE", "--tz", "Asia/Shanghai", "--data", data)
	code := mintCodes(t, data, "--product", "SKU-Z", "--count", "1", "--activate", "--region", "east")[0]
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv, err := tryServeAs(t, addr, nil, "serve", "--data", data, "--addr", addr, "--log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	admin := adminToken(t, data)
	hc := &http.Client{Timeout: 10 * time.Second}
	before := time.Now()
	if status, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, map[string]string{"code": code, "member": "m1", "region": "west"}); err != nil || status != 200 {
		t.Fatalf("diverted scan: %d %s %v", status, body, err)
	}
	after := time.Now()
	hc.CloseIdleConnections()

	// The DAY and TIME columns of the flag's line.
	check := func(how string, out string) {
		t.Helper()
		for _, line := range strings.Split(out, "\n") {
			if !strings.Contains(line, code) {
				continue
			}
			f := strings.Fields(line)
			day, clock := f[0], f[1]
			okAt := func(at time.Time) bool {
				at = at.In(shanghai)
				return day == at.Format("20060102") && clock == at.Format("15:04")
			}
			if !okAt(before) && !okAt(after) {
				t.Errorf("%s: day %s, time %s; want Shanghai's, %s %s", how, day, clock, after.In(shanghai).Format("20060102"), after.In(shanghai).Format("15:04"))
			}
			return
		}
		t.Errorf("%s: no line for %s:\n%s", how, code, out)
	}
	check("flags --server", mustYima(t, "flags", "--server", srv.url, "--token", admin).stdout)
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	check("flags --data", mustYima(t, "flags", "--data", data).stdout)
}

// TestTablesInTheBrandsZone: batch list and token list printed their
// CREATED column in UTC, eight hours off a Shanghai brand's clock. Tables
// show times in the brand's zone and name it in the header; --json keeps
// the records' own times.
func TestTablesInTheBrandsZone(t *testing.T) {
	for _, zone := range []string{"", "America/New_York"} {
		want := zone
		if want == "" {
			want = "Asia/Shanghai" // the default
		}
		loc, err := time.LoadLocation(want)
		if err != nil {
			t.Skip("no time zone data:", err)
		}
		data := filepath.Join(t.TempDir(), "data")
		yimaOK(t, data, "brand", "set", "--base-url", "HTTPS://YIMA.BRAND.CN", "--time-zone", zone)
		yimaOK(t, data, "mint", "--product", "SKU-Z", "--count", "1", "--format", "txt")
		yimaRun(t, "", "--data", data, "token", "create", "--role", "app", "--name", "shop")
		for _, list := range [][]string{{"batch", "list"}, {"token", "list"}} {
			var recs []struct{ Created time.Time }
			decode(t, yimaOK(t, data, append(list, "--json")...), &recs)
			out := yimaOK(t, data, list...)
			if len(recs) != 1 || !strings.Contains(out, "CREATED ("+want+")") || !strings.Contains(out, recs[0].Created.In(loc).Format("2006-01-02 15:04")) {
				t.Errorf("zone %q, yima %s: %+v\n%s\nwant the time in %s and the header naming it", zone, strings.Join(list, " "), recs, out, want)
			}
		}
	}
}
