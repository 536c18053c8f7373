package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// sealedCluster makes a key-encryption key for the database dsn and
// returns the flags a command on it needs, and the cluster's first admin
// token, made as docs/cluster.md says (token create --role admin).
func sealedCluster(t *testing.T, dsn string) (db []string, admin string) {
	t.Helper()
	db = []string{"--db", dsn, "--key-file", kekFile(t)}
	r := mustYima(t, append([]string{"token", "create", "--role", "admin", "--name", "ops", "--data", t.TempDir()}, db...)...)
	return db, strings.TrimSpace(r.stdout)
}

// serveStore starts `yima serve` with db (sealedCluster's flags) on the
// data directory data.
func serveStore(t *testing.T, data string, db []string) *server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		s, err := tryServeAs(t, addr, nil, append([]string{"serve", "--data", data, "--addr", addr, "--log-level", "warn", "--no-limits"}, db...)...)
		if err == nil {
			return s
		}
		if attempt == 2 {
			t.Fatal(err)
		}
		t.Logf("retrying: %v", err)
	}
}

// TestKillNodeDuringBurst runs three yima processes on one PostgreSQL
// database and SIGKILLs one of them in the middle of a burst of scans
// spread over the three, twenty times (a different node each time, after
// a different number of acknowledged scans). The clients of the dead node
// carry on through the next one, as behind a load balancer. After each
// kill, what the clients were told is checked through a surviving node:
// every 200 is redeemed for its member with its points, no code has two
// winners, every 409 rests on a redemption, and the only payouts no client
// heard of are scans that got no answer.
func TestKillNodeDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("kills yima processes; skipped in -short")
	}
	const killRounds, perRound = 20, 200
	start := time.Now()
	dsn := pgtest.Migrated(t)
	data := filepath.Join(t.TempDir(), "data")
	db, admin := sealedCluster(t, dsn)
	mustYima(t, append([]string{"brand", "set", "--data", data, "--base-url", testBaseURL}, db...)...)
	codes, points := mintTwoBatches(t, data, killRounds*perRound/2, db...)
	const members = 16
	nodes := make([]*server, 3)
	for i := range nodes {
		nodes[i] = serveStore(t, data, db)
	}
	t.Logf("%s: minted, three nodes up", time.Since(start).Round(time.Millisecond))
	var all []attempt
	for round := range killRounds {
		roundCodes := codes[round*perRound : (round+1)*perRound]
		victim := round % len(nodes)
		after := 10 + round*17%50 // early in one burst, later in another
		got, _, afterKill := clusterBurst(t, nodes, victim, nodes[victim].kill, admin, roundCodes, members, round, after)
		all = append(all, got...)
		acked := 0
		for _, a := range got {
			if a.status == 200 {
				acked++
			}
		}
		t.Logf("%s: round %d: node %d killed after %d acknowledged scans, %d acknowledged of %d attempts, %d attempts after the kill",
			time.Since(start).Round(time.Millisecond), round, victim, after, acked, len(got), afterKill)
		if acked < after {
			t.Fatalf("round %d: only %d scans acknowledged before the kill; the burst did not run", round, acked)
		}
		if afterKill == 0 {
			t.Fatalf("round %d: the burst was over before the kill", round)
		}
		checkAfterKill(t, nodes[(victim+1)%len(nodes)], admin, all, len(all)-len(got), points, members)
		if t.Failed() {
			t.FailNow() // one round's failure is enough to read
		}
		nodes[victim] = serveStore(t, data, db)
	}
	if r := yima(t, append([]string{"audit", "--data", data}, db...)...); r.code != 0 || !strings.Contains(r.stdout, "audit: clean") {
		t.Errorf("audit after the kills: %v", r)
	}
}

// clusterBurst scans codes from 30 goroutines spread over nodes, some codes
// by two members at once, and calls killFn once killAfter scans were
// acknowledged. When that kills nodes[victim], its clients then go on
// through the next node (victim -1: no node dies). It returns every
// attempt, when killFn was called, and how many were sent after it
// returned.
func clusterBurst(t *testing.T, nodes []*server, victim int, killFn func(), admin string, codes []string, members, round, killAfter int) ([]attempt, time.Time, int) {
	jobs := burstJobs(codes, members, round)
	// A node waits out a database failover before it answers.
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	defer hc.CloseIdleConnections()
	b := newBurstLog(killFn, killAfter)
	var (
		wg sync.WaitGroup
		// sentAfter counts the scans sent once the kill was done.
		sentAfter atomic.Int64
	)
	for g := range 30 {
		wg.Go(func() {
			for j := range jobs {
				n := g % len(nodes)
				select {
				case <-b.killed:
					if n == victim {
						n = (n + 1) % len(nodes)
					}
					sentAfter.Add(1)
				default:
				}
				a, err := sendScan(t, hc, nodes[n].url, admin, j)
				if err != nil {
					// A dead node: wait until the balancer would know,
					// rather than spend the burst on refused connections.
					select {
					case <-b.killed:
					case <-time.After(5 * time.Second):
					}
				}
				b.add(a)
			}
		})
	}
	wg.Wait()
	b.kill()
	return b.out, b.killedAt, int(sentAfter.Load())
}

// TestDatabaseFailover is the database failover drill: three `yima serve
// --db` processes on a pg_auto_failover formation (a monitor, a primary and
// a synchronous secondary on loopback), given both nodes in one connection
// string with target_session_attrs=read-write. During a burst of scans
// spread over the three, the primary's machine is lost (its keeper and its
// postgres SIGKILLed); the monitor promotes the secondary, the yima nodes
// reconnect to it and serve again without restarting. Then the lost node's
// keeper runs again and it rejoins as the new secondary, for the next
// round. After each round: every scan got an answer (200 or 409), every
// acknowledged scan is in its member's ledger, no code is paid twice, and
// the time without service (the longest gap between acknowledgements around
// the kill) is logged; the audit is clean at the end.
//
// One round in `make test`; ten with YIMA_DRILLS=1 (`make test-drills`).
func TestDatabaseFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a pg_auto_failover formation; skipped in -short")
	}
	rounds := 1
	if os.Getenv("YIMA_DRILLS") == "1" {
		rounds = 10
	}
	const perRound, members = 300, 16
	start := time.Now()
	f := pgtest.StartFormation(t)
	dsn := f.DSN()
	mustYima(t, "migrate-schema", "--db", dsn)
	// A real standby is refused, with what to do.
	primary, err := f.WaitHealthy(3 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	standby := f.NodeDSN(1 - primary)
	if r := yima(t, "serve", "--data", filepath.Join(t.TempDir(), "d"), "--db", standby, "--key-file", kekFile(t), "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))); r.code != exitFailed ||
		!strings.Contains(r.stderr, "point --db at the primary, e.g. with target_session_attrs=read-write") {
		t.Errorf("yima serve on the standby alone: %v\nwant exit %d saying to point --db at the primary", r, exitFailed)
	}
	data := filepath.Join(t.TempDir(), "data")
	db, admin := sealedCluster(t, dsn)
	mustYima(t, append([]string{"brand", "set", "--data", data, "--base-url", testBaseURL}, db...)...)
	codes, points := mintTwoBatches(t, data, rounds*perRound/2, db...)
	nodes := make([]*server, 3)
	for i := range nodes {
		nodes[i] = serveStore(t, data, db)
	}
	t.Logf("%s: minted, three nodes up", time.Since(start).Round(time.Millisecond))

	var all []attempt
	var gaps []time.Duration
	for round := range rounds {
		primary, err := f.WaitHealthy(3 * time.Minute)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		after := 20 + round*13%60
		roundCodes := codes[round*perRound : (round+1)*perRound]
		got, killedAt, afterKill := clusterBurst(t, nodes, -1, func() { f.Kill(primary) }, admin, roundCodes, members, round, after)
		all = append(all, got...)
		acked, answered := 0, 0
		var ackTimes []time.Time
		for _, a := range got {
			if a.status == 200 {
				acked++
				ackTimes = append(ackTimes, a.at)
			}
			if a.status == 200 || a.status == 409 {
				answered++
			}
		}
		gap, stopped, resumed := outage(ackTimes, killedAt)
		gaps = append(gaps, gap)
		t.Logf("%s: round %d: %s (the primary) killed after %d acknowledged scans; %d acknowledged of %d attempts, %d sent after the kill; no service for %s (no acknowledgement from kill%+.3fs to kill%+.3fs)",
			time.Since(start).Round(time.Millisecond), round, f.Nodes[primary].Name, after, acked, len(got), afterKill,
			gap.Round(time.Millisecond), stopped.Round(time.Millisecond).Seconds(), resumed.Round(time.Millisecond).Seconds())
		if answered != len(got) {
			t.Errorf("round %d: %d of %d scans got no 200 or 409: the nodes did not ride out the failover", round, len(got)-answered, len(got))
		}
		if afterKill == 0 || resumed <= 0 {
			t.Fatalf("round %d: no scan was acknowledged after the kill; the burst ended before it", round)
		}
		for i, n := range nodes {
			select {
			case <-n.exited:
				t.Fatalf("round %d: yima node %d exited during the failover:\n%s", round, i, n.stderr)
			default:
			}
		}
		checkAfterKill(t, nodes[round%len(nodes)], admin, all, len(all)-len(got), points, members)
		if t.Failed() {
			t.FailNow()
		}
		f.Restart(primary)
	}
	if _, err := f.WaitHealthy(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if r := yima(t, append([]string{"audit", "--data", data}, db...)...); r.code != 0 || !strings.Contains(r.stdout, "audit: clean") {
		t.Errorf("audit after the failovers: %v", r)
	}
	sorted := slices.Clone(gaps)
	slices.Sort(sorted)
	t.Logf("time without service over %d failovers: median %s, max %s (all: %v); %s in all",
		len(gaps), sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond), roundAll(gaps), time.Since(start).Round(time.Second))
}

// outage is the time without service around a kill: the longest gap
// between two consecutive acknowledgements from a second before the kill
// on, and when it began and ended, counted from the kill.
func outage(acks []time.Time, killedAt time.Time) (gap, from, to time.Duration) {
	acks = slices.Clone(acks)
	slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(acks); i++ {
		if acks[i].Before(killedAt.Add(-time.Second)) {
			continue
		}
		if d := acks[i].Sub(acks[i-1]); d > gap {
			gap, from, to = d, acks[i-1].Sub(killedAt), acks[i].Sub(killedAt)
		}
	}
	return gap, from, to
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Millisecond)
	}
	return out
}

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
