package scan_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/scan"
)

// forgedBurst sends n forged scans of member with an app token from 8
// workers and counts the answers by status.
func forgedBurst(ts *testServer, tok, member string, forged []string, n int) (map[int]int, time.Duration) {
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				r, err := ts.TryDo("POST", "/v1/scans", tok, map[string]string{"code": forged[i%len(forged)], "member": member, "device": "phone-" + member})
				mu.Lock()
				if err != nil {
					counts[0]++
				} else {
					counts[r.Status]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return counts, time.Since(start)
}

// forgeries returns n codes of the right form that are not genuine: the
// genuine codes with their last symbol changed.
func forgeries(codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c[:len(c)-1] + flip(c[len(c)-1])
	}
	return out
}

// TestForgedBurstIsLockedOut: 30,015 forged scans by one member, device
// and address went through in 20 s, none throttled, and the same member
// then redeemed a real code. A run of forged codes now locks the member
// and device out (429 locked_out with Retry-After), genuine codes
// included, while other members scan on. The figures it logs are those in
// docs/security.md.
func TestForgedBurstIsLockedOut(t *testing.T) {
	const n = 500
	for _, limits := range []struct {
		name string
		opts scan.Limits
	}{{"without limits", scan.Limits{Off: true}}, {"with the default limits", scan.Limits{}}} {
		ts := startServer(t, scan.Options{Limits: limits.opts})
		codes := ts.MintActive(50, 10)
		app := ts.Token("app")
		counts, took := forgedBurst(ts, app, "mallory", forgeries(codes[:40]), n)
		t.Logf("%s: %d forged scans by one member and device in %v: %d checked (400 invalid_code), %d refused (429)",
			limits.name, n, took.Round(time.Millisecond), counts[http.StatusBadRequest], counts[http.StatusTooManyRequests])
		genuine := ts.Do("POST", "/v1/scans", app, map[string]string{"code": codes[40], "member": "mallory", "device": "phone-mallory"})
		if limits.opts.Off {
			if counts[http.StatusBadRequest] != n || genuine.Status != http.StatusOK {
				t.Fatalf("without limits: %v, then a genuine scan %v", counts, genuine)
			}
			continue
		}
		if got := counts[http.StatusBadRequest]; got > 21+8 {
			t.Errorf("%d forged codes were checked for one member, want the run of 20 and no more", got)
		}
		if genuine.Status != http.StatusTooManyRequests || genuine.ErrCode() != "locked_out" || genuine.Header.Get("Retry-After") == "" {
			t.Errorf("the member's genuine scan after the burst: %v (Retry-After %q), want 429 locked_out", genuine, genuine.Header.Get("Retry-After"))
		}
		if r := ts.Do("POST", "/v1/scans", app, map[string]string{"code": codes[41], "member": "alice", "device": "phone-alice"}); r.Status != http.StatusOK {
			t.Errorf("another member during the lockout: %v", r)
		}
		// The admin token is the brand's and never limited.
		if r := ts.Do("POST", "/v1/scans", ts.Admin, map[string]string{"code": codes[42], "member": "mallory"}); r.Status != http.StatusOK {
			t.Errorf("the admin scanning for the locked-out member: %v", r)
		}
	}
}

// TestForgedPageLookupsAreLockedOut: 83,464 forged /C/ lookups in 8 s
// went through. A run of forged codes from one address locks it out of the
// pages and public lookups, with a page that says so; other addresses are
// not affected (the test cannot send from another, so it checks that the
// lockout is the address's: a fresh server answers).
func TestForgedPageLookupsAreLockedOut(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(30, 10)
	forged := forgeries(codes)
	refused := 0
	for i := range 60 {
		r := ts.Do("GET", "/C/"+forged[i%len(forged)], "", nil)
		if r.Status == http.StatusTooManyRequests {
			refused++
			if r.Header.Get("Retry-After") == "" || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("a locked-out page: %v %v", r.Header, r)
			}
		}
	}
	if refused < 60-21 {
		t.Errorf("%d of 60 forged page lookups refused, want all after the run of 20", refused)
	}
	if r := ts.Do("GET", "/v1/codes/"+codes[0], "", nil); r.Status != http.StatusTooManyRequests || r.ErrCode() != "locked_out" {
		t.Errorf("a genuine lookup from the locked-out address: %v", r)
	}
}

// TestAddressRate: one address is held to its rate on the public routes.
func TestAddressRate(t *testing.T) {
	ts := startServer(t, scan.Options{Limits: scan.Limits{PerAddress: 1, AddressBurst: 5}})
	code := ts.MintActive(1, 10)[0]
	got := map[int]int{}
	for range 10 {
		got[ts.Do("GET", "/v1/codes/"+code, "", nil).Status]++
	}
	if got[http.StatusOK] < 5 || got[http.StatusOK] > 6 || got[http.StatusTooManyRequests] < 4 {
		t.Errorf("10 lookups at a burst of 5: %v", got)
	}
	r := ts.Do("GET", "/v1/codes/"+code, "", nil)
	if r.Status == http.StatusTooManyRequests && (r.ErrCode() != "rate_limited" || r.Header.Get("Retry-After") == "") {
		t.Errorf("a rate-limited answer: %v %v", r, r.Header)
	}
}
