package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// outageAnswer is what a scanner heard for one scan.
type outageAnswer struct {
	status     int // 0: no answer
	errCode    string
	retryAfter string
}

// scanOnce posts one scan and reads its status, error code and Retry-After.
func scanOnce(hc *http.Client, base, token, code, member string) outageAnswer {
	body, _ := json.Marshal(map[string]string{"code": code, "member": member})
	req, _ := http.NewRequest("POST", base+"/v1/scans", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return outageAnswer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return outageAnswer{status: resp.StatusCode, errCode: errCode(raw), retryAfter: resp.Header.Get("Retry-After")}
}

// TestNodeWaitsOutOutage stops a node's database for longer than a node
// once waited (30 s) before it exited: the node stays up, scans meanwhile
// get 503 with a JSON error and Retry-After, /healthz says it is not
// ready, and once the database is back the node serves again by itself.
// No scan is answered twice: every scan refused with 503 is made again
// after the outage and pays then (a 503 did nothing), every code is paid
// once, and the audit is clean.
//
// It takes about a minute: with YIMA_DRILLS=1 (`make test-drills`).
func TestNodeWaitsOutOutage(t *testing.T) {
	if os.Getenv("YIMA_DRILLS") != "1" {
		t.Skip("stops the database for 37 s: YIMA_DRILLS=1 (make test-drills)")
	}
	const outage = 37 * time.Second
	pg := pgtest.StartStoppable(t)
	db, admin := sealedCluster(t, pg.DSN())
	data := filepath.Join(t.TempDir(), "data")
	mustYima(t, append([]string{"brand", "set", "--data", data, "--base-url", testBaseURL}, db...)...)
	codes, _ := mintTwoBatches(t, data, 200, db...)
	n := serveStore(t, data, db)

	type job struct{ code, member string }
	jobs := make(chan job, len(codes))
	for i, c := range codes {
		jobs <- job{c, fmt.Sprintf("m%d", i%8)}
	}
	close(jobs)
	var (
		mu      sync.Mutex
		paid    = map[string]int{} // code: 200s heard
		refused []job              // 503s, made again after the outage
		stopped = make(chan struct{})
		wg      sync.WaitGroup
	)
	// A scanner waits longer than the node makes a scan wait.
	hc := &http.Client{Timeout: 90 * time.Second}
	for range 4 {
		wg.Go(func() {
			for j := range jobs {
				select {
				case <-stopped:
					return
				default:
				}
				a := scanOnce(hc, n.url, admin, j.code, j.member)
				mu.Lock()
				switch {
				case a.status == 200:
					paid[j.code]++
				case a.status == 503 && a.errCode == "unavailable" && a.retryAfter != "":
					refused = append(refused, j)
				default:
					t.Errorf("scan of %s during the outage drill: %+v; want 200, or 503 unavailable with Retry-After", j.code, a)
				}
				mu.Unlock()
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	time.Sleep(2 * time.Second)
	pg.Stop()
	down := time.Now()
	t.Logf("database stopped")
	time.Sleep(32 * time.Second)
	status, body, err := call(&http.Client{Timeout: 10 * time.Second}, "GET", n.url+"/healthz", "", nil)
	if err != nil || status != 503 || errCode(body) != "unavailable" || !strings.Contains(string(body), "does not answer") {
		t.Errorf("/healthz 32 s into the outage: %d %s %v; want 503 saying the database does not answer", status, body, err)
	}
	time.Sleep(time.Until(down.Add(outage)))
	select {
	case <-n.exited:
		t.Fatalf("the node exited during the outage:\n%s", n.stderr)
	default:
	}
	pg.Start()
	t.Logf("database started after %s", time.Since(down).Round(time.Second))
	hc1 := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if status, _, err := call(hc1, "GET", n.url+"/healthz", "", nil); err == nil && status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not ready 30 s after the database came back:\n%s", n.stderr)
		}
	}
	t.Logf("serving again %s after the database came back", time.Since(down.Add(outage)).Round(time.Millisecond))
	close(stopped)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(refused) == 0 {
		t.Fatal("no scan was refused with 503 during the outage: the drill did not reach the node")
	}
	for _, j := range refused {
		if a := scanOnce(hc, n.url, admin, j.code, j.member); a.status != 200 {
			t.Errorf("a scan refused with 503 during the outage, made again after: %+v; want 200 (the 503 did nothing)", a)
		} else {
			paid[j.code]++
		}
	}
	for c, k := range paid {
		if k != 1 {
			t.Errorf("code %s was answered 200 %d times", c, k)
		}
	}
	if r := yima(t, append([]string{"audit", "--data", data}, db...)...); r.code != 0 || !strings.Contains(r.stdout, "audit: clean") {
		t.Errorf("audit after the outage: %v", r)
	}
	if logs := n.stderr.String(); strings.Count(logs, "\n") > 40 {
		t.Errorf("the node logged %d lines for one outage; want a few:\n%s", strings.Count(logs, "\n"), logs)
	}
	t.Logf("%d scans paid, %d refused with 503 during the outage and paid after", len(paid), len(refused))
}
