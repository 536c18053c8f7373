package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

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
