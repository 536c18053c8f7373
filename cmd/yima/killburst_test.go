package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// attempt is one scan a client sent during a burst.
type attempt struct {
	code, member string
	status       int // 0: no answer (the server died first)
	errCode      string
	points       int64
	at           time.Time // when the answer came
}

// TestKillDuringBurst SIGKILLs the server in the middle of a burst of
// concurrent scans, restarts it, and checks that everything the clients were
// told survived: every 200 is redeemed, for the member who got it, with
// their points; every 409 rests on a redemption; no code has two winners;
// and the only payouts no client heard of are those whose request got no
// answer at all.
func TestKillDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a server process; skipped in -short")
	}
	data := newData(t)
	codes, points := mintTwoBatches(t, data, 1500)
	admin := adminToken(t, data)
	const members = 16

	var all []attempt
	// Kill after these many acknowledged scans: early, middle, late.
	killAfter := []int{30, 300, 700}
	next := 0
	for round, after := range killAfter {
		n := 1000
		roundCodes := codes[next : next+n]
		next += n
		srv := startServe(t, data)
		got := burst(t, srv, admin, roundCodes, members, round, after)
		all = append(all, got...)
		acked := 0
		for _, a := range got {
			if a.status == 200 {
				acked++
			}
		}
		t.Logf("round %d: killed after %d acknowledged scans of %d attempts", round, acked, len(got))
		if acked < after {
			t.Fatalf("round %d: only %d scans acknowledged before the kill; the burst did not run", round, acked)
		}
		srv2 := startServe(t, data)
		checkAfterKill(t, srv2, admin, all, len(all)-len(got), points, members)
		srv2.kill() // the next round starts from a kill too
	}
}

// mintTwoBatches mints two active batches of SKU-K, n codes each, paying
// 10 and 3 points (so that a balance shows which codes it was paid for),
// with the extra flags given (--db), and returns their codes interleaved
// and each code's points.
func mintTwoBatches(t *testing.T, data string, n int, extra ...string) ([]string, map[string]int64) {
	t.Helper()
	outDir := t.TempDir()
	var codes []string
	points := map[string]int64{}
	for i, p := range []int64{10, 3} {
		f := filepath.Join(outDir, fmt.Sprintf("b%d.csv", i))
		mustYima(t, append([]string{"mint", "--data", data, "--product", "SKU-K", "--count", fmt.Sprint(n), "--activate", "--points", fmt.Sprint(p), "--out", f}, extra...)...)
		for _, line := range readLines(t, f)[1:] {
			c := strings.Split(line, ",")[1]
			codes = append(codes, c)
			points[c] = p
		}
	}
	mixed := make([]string, 0, len(codes))
	for i := 0; i < len(codes)/2; i++ {
		mixed = append(mixed, codes[i], codes[len(codes)/2+i])
	}
	return mixed, points
}

// scanJob is one scan of a burst: a code and the member who scans it.
type scanJob struct{ code, member string }

// burstJobs queues the scans of a burst's round: every code by one of
// members, and one code in four by a second member as well (contested).
func burstJobs(codes []string, members, round int) <-chan scanJob {
	jobs := make(chan scanJob, 2*len(codes))
	for i, c := range codes {
		jobs <- scanJob{c, fmt.Sprintf("m%02d", (i+round)%members)}
		if i%4 == 0 { // contested: a second member scans the same code
			jobs <- scanJob{c, fmt.Sprintf("m%02d", (i+round+7)%members)}
		}
	}
	close(jobs)
	return jobs
}

// sendScan sends j to the server at base and returns what its client
// heard, and the error of a request that got no answer. A 200 that is not
// a redemption of the code fails the test.
func sendScan(t *testing.T, hc *http.Client, base, admin string, j scanJob) (attempt, error) {
	status, body, err := call(hc, "POST", base+"/v1/scans", admin, map[string]string{"code": j.code, "member": j.member})
	a := attempt{code: j.code, member: j.member, status: status, at: time.Now()}
	if err == nil {
		a.errCode = errCode(body)
		if status == 200 {
			var res struct {
				Result string `json:"result"`
				Code   string `json:"code"`
				Points int64  `json:"points"`
			}
			if json.Unmarshal(body, &res) != nil || res.Result != "redeemed" || res.Code != j.code {
				t.Errorf("a 200 that is not a redemption of %s: %s", j.code, body)
			}
			a.points = res.Points
		}
	}
	return a, err
}

// burstLog collects the attempts of a burst's clients and, once killAfter
// scans were acknowledged, SIGKILLs the victim, once.
type burstLog struct {
	killFn    func() // kills the victim (a node, a database)
	killAfter int
	killed    chan struct{} // closed once the victim is dead
	killedAt  time.Time     // when killFn was called; read once killed is closed
	killing   sync.Once
	mu        sync.Mutex
	out       []attempt
	acked     int
}

func newBurstLog(killFn func(), killAfter int) *burstLog {
	return &burstLog{killFn: killFn, killAfter: killAfter, killed: make(chan struct{})}
}

// add records what a client heard, and kills the victim when this was the
// killAfter-th acknowledged scan (or later).
func (b *burstLog) add(a attempt) {
	b.mu.Lock()
	b.out = append(b.out, a)
	if a.status == 200 {
		b.acked++
	}
	n := b.acked
	b.mu.Unlock()
	if n >= b.killAfter {
		go b.kill() // not on this goroutine: the others keep scanning into the kill
	}
}

func (b *burstLog) kill() {
	b.killing.Do(func() {
		b.killedAt = time.Now()
		b.killFn()
		close(b.killed)
	})
}

// burst scans codes from 32 goroutines, some codes by two members at once,
// and SIGKILLs srv once killAfter scans were acknowledged. It returns every
// attempt made.
func burst(t *testing.T, srv *server, admin string, codes []string, members, round, killAfter int) []attempt {
	jobs := burstJobs(codes, members, round)
	hc := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}
	defer hc.CloseIdleConnections()
	b := newBurstLog(srv.kill, killAfter)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for j := range jobs {
				select {
				case <-b.killed:
					return
				default:
				}
				a, _ := sendScan(t, hc, srv.url, admin, j)
				b.add(a)
			}
		})
	}
	wg.Wait()
	b.kill() // in case the burst ended first
	return b.out
}

// checkAfterKill compares what the restarted server says with what the
// clients heard: every ledger against all attempts, and the public status
// of the codes of all[recent:] (those of earlier rounds were asked before,
// and their ledgers are checked again).
func checkAfterKill(t *testing.T, srv *server, admin string, all []attempt, recent int, points map[string]int64, members int) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()

	winners := map[string]string{}     // code → member that got the 200
	unanswered := map[[2]string]bool{} // (code, member) sent with no answer
	conflicted := map[string]bool{}    // codes a client got 409 for
	paid := map[string]int64{}         // member → points of their 200s
	for _, a := range all {
		switch {
		case a.status == 200:
			if w, ok := winners[a.code]; ok {
				t.Errorf("code %s acknowledged to two members: %s and %s", a.code, w, a.member)
			}
			winners[a.code] = a.member
			paid[a.member] += a.points
			if a.points != points[a.code] {
				t.Errorf("code %s paid %d, its batch pays %d", a.code, a.points, points[a.code])
			}
		case a.status == 0:
			unanswered[[2]string{a.code, a.member}] = true
		case a.status == 409 && a.errCode == "already_redeemed":
			conflicted[a.code] = true
		default:
			t.Errorf("unexpected answer to a scan of %s: %d %s", a.code, a.status, a.errCode)
		}
	}

	// Every member's whole ledger, page by page.
	ledgerOwner := map[string]string{} // code → member whose ledger pays it
	landed := 0                        // unanswered scans that were paid
	defer func() {
		t.Logf("after the kill: %d acknowledged, %d conflicts, %d unanswered of which %d landed",
			len(winners), len(conflicted), len(unanswered), landed)
	}()
	for i := range members {
		member := fmt.Sprintf("m%02d", i)
		var balance, sum, mayAdd int64
		cursor := ""
		for page := 0; ; page++ {
			u := srv.url + "/v1/members/" + member + "?limit=200"
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			status, body, err := call(hc, "GET", u, admin, nil)
			if status == 404 && page == 0 {
				break // no account: nothing was paid to them
			}
			if err != nil || status != 200 {
				t.Fatalf("GET member %s: %d %s %v", member, status, body, err)
			}
			var v struct {
				Points int64 `json:"points"`
				Ledger []struct {
					Account string `json:"account"`
					Delta   int64  `json:"delta"`
					Reason  string `json:"reason"`
					Code    string `json:"code"`
				} `json:"ledger"`
				Next string `json:"next"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if page == 0 {
				balance = v.Points
			}
			for _, e := range v.Ledger {
				if e.Account != "points" {
					continue
				}
				sum += e.Delta
				if e.Reason != "scan" {
					t.Errorf("%s: unexpected ledger entry %+v", member, e)
					continue
				}
				if prev, ok := ledgerOwner[e.Code]; ok {
					t.Errorf("code %s paid twice: to %s and %s", e.Code, prev, member)
				}
				ledgerOwner[e.Code] = member
				if e.Delta != points[e.Code] {
					t.Errorf("%s: code %s paid %d, want %d", member, e.Code, e.Delta, points[e.Code])
				}
				switch {
				case winners[e.Code] == member:
				case unanswered[[2]string{e.Code, member}]:
					mayAdd += e.Delta // in flight at the kill: it may land
					landed++
				default:
					t.Errorf("%s was paid for %s, but their scan of it was not acknowledged (winner %q)", member, e.Code, winners[e.Code])
				}
			}
			if v.Next == "" {
				break
			}
			cursor = v.Next
		}
		if balance != sum {
			t.Errorf("%s: balance %d, ledger sums to %d", member, balance, sum)
		}
		if balance != paid[member]+mayAdd {
			t.Errorf("%s: balance %d, acknowledged %d (+%d in flight at a kill)", member, balance, paid[member], mayAdd)
		}
	}
	for code, member := range winners {
		if ledgerOwner[code] != member {
			t.Errorf("acknowledged scan of %s by %s lost after SIGKILL (ledger says %q)", code, member, ledgerOwner[code])
		}
	}
	// The public status agrees, for every code a client heard about.
	check := map[string]bool{}
	for _, a := range all[recent:] {
		if winners[a.code] != "" || conflicted[a.code] {
			check[a.code] = true
		}
	}
	for code := range check {
		status, body, err := call(hc, "GET", srv.url+"/v1/codes/"+code, "", nil)
		var st struct {
			Redeemed bool `json:"redeemed"`
		}
		if err != nil || status != 200 || json.Unmarshal(body, &st) != nil {
			t.Fatalf("GET code %s: %d %s %v", code, status, body, err)
		}
		if !st.Redeemed {
			t.Errorf("code %s: a client was told it is redeemed (200 or 409), the restarted server says not", code)
		}
	}
}
