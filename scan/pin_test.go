package scan_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// TestPINClaimOverHTTP: a batch minted with claim pin prints each code's
// PIN (a column of the CSV, or a file of its own), pays a scan only with
// the PIN, answers wrong PINs 403 wrong_pin and then 429 pin_locked with
// Retry-After, and flags the code; the landing page asks for the PIN.
func TestPINClaimOverHTTP(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "HTTPS://YIMA.BRAND.CN"})
	r := ts.Do("POST", "/v1/batches", ts.Admin, map[string]any{"product": "SKU-PIN", "count": 3, "points": 10, "activate": true, "claim": "pin", "pin_digits": 6})
	var b scan.BatchView
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &b) != nil || b.Claim != "pin" || b.PINDigits != 6 {
		t.Fatalf("a PIN batch: %v", r)
	}
	csv := ts.Do("GET", fmt.Sprintf("/v1/batches/%d/codes", b.ID), ts.Admin, nil)
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if csv.Status != 200 || lines[0] != "serial,code,url,pin" || len(lines) != 4 {
		t.Fatalf("the CSV of a PIN batch: %v", csv)
	}
	row := strings.Split(lines[1], ",")
	code, pin := row[1], row[3]
	pins := ts.Do("GET", fmt.Sprintf("/v1/batches/%d/codes?format=pins", b.ID), ts.Admin, nil)
	if pl := strings.Split(strings.TrimSpace(string(pins.Body)), "\n"); pins.Status != 200 || pl[0] != "serial,pin" || pl[1] != "1,"+pin || strings.Contains(string(pins.Body), code) {
		t.Fatalf("the PIN file: %v", pins)
	}
	app := ts.Token("app")
	scanPIN := func(pin string) response {
		return ts.Do("POST", "/v1/scans", app, map[string]string{"code": code, "member": "m1", "pin": pin})
	}
	if r := ts.Do("POST", "/v1/scans", app, map[string]string{"code": code, "member": "m1"}); r.Status != 403 || r.ErrCode() != "pin_required" {
		t.Fatalf("no PIN: %v", r)
	}
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, pin)+1)%1_000_000)
	for i := 0; i < 5; i++ {
		if r := scanPIN(wrong); r.Status != 403 || r.ErrCode() != "wrong_pin" {
			t.Fatalf("wrong PIN %d: %v", i+1, r)
		}
	}
	r = scanPIN(pin)
	if r.Status != http.StatusTooManyRequests || r.ErrCode() != "pin_locked" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right PIN while locked: %v %v", r, r.Header)
	}
	if st := ts.CodeStatus(code); st.Redeemed || st.Claim != "pin" {
		t.Fatalf("a locked code: %+v", st)
	}
	if r := ts.Do("GET", "/v1/flags?kind=pin_guessing", ts.Admin, nil); r.Status != 200 || !strings.Contains(string(r.Body), code) {
		t.Fatalf("the flag of the burst: %v", r)
	}
	// Another code of the batch claims with its PIN.
	row2 := strings.Split(lines[2], ",")
	if r := ts.Do("POST", "/v1/scans", app, map[string]string{"code": row2[1], "member": "m2", "pin": row2[3]}); r.Status != 200 {
		t.Fatalf("the right PIN: %v", r)
	}
	// The landing page of a PIN code asks for the PIN.
	page := ts.Do("GET", "/C/"+lines[3][strings.Index(lines[3], ",")+1:strings.Index(lines[3], ",HTTPS")], "", nil)
	if page.Status != 200 || !strings.Contains(string(page.Body), `name="pin"`) {
		t.Fatalf("the landing page of a PIN code: %v", page)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}
