package main

import (
	"fmt"
	"net/http"
	"path/filepath"
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
