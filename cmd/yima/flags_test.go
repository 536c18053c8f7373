package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFlagsCommand: goods redeemed outside their region are listed for
// review, through the server and on the data directory alike.
func TestFlagsCommand(t *testing.T) {
	data := newData(t)
	codes := mintCodes(t, data, "--product", "SKU-E", "--count", "3", "--activate", "--region", "east")
	code := codes[1]
	admin := adminToken(t, data)
	srv := startServe(t, data)
	hc := &http.Client{Timeout: 10 * time.Second}
	if status, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, map[string]string{"code": code, "member": "m1", "region": "west"}); err != nil || status != 200 {
		t.Fatalf("diverted scan: %d %s %v", status, body, err)
	}
	// The pallet with serial 3 ships north: a scan of it in the east,
	// where the batch was meant to go, is diverted all the same.
	mustYima(t, "batch", "activate", "1", "--from", "3", "--to", "3", "--region", "north", "--server", srv.url, "--token", admin)
	third := codes[2]
	if status, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, map[string]string{"code": third, "member": "m2", "region": "east"}); err != nil || status != 200 {
		t.Fatalf("scan of the northern pallet: %d %s %v", status, body, err)
	}
	hc.CloseIdleConnections()
	want := code + "      1         2  SKU-E            scanned in west, meant for east, by m1"
	r := mustYima(t, "flags", "--kind", "diverted", "--server", srv.url, "--token", admin)
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, third+"      1         3  SKU-E            scanned in east, meant for north, by m2") {
		t.Errorf("flags --server:\n%s\nwant a line with %q and one for %s", r.stdout, want, third)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if r := mustYima(t, "flags", "--data", data, "--kind", "many_scanners"); strings.Contains(r.stdout, code) {
		t.Errorf("flags --kind many_scanners listed the diverted code:\n%s", r.stdout)
	}
	if r := mustYima(t, "flags", "--data", data); !strings.Contains(r.stdout, want) {
		t.Errorf("flags on the data directory:\n%s", r.stdout)
	}
}

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
