package main

// Nodes on one PostgreSQL database, as docs/cluster.md sets them up: the
// signing keys sealed under a key-encryption key, a node killed during a
// burst, a failover of the database and an outage of it.

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

// kekFile writes a new key-encryption key (yima keys kek) into a file of
// mode 0600 and returns its path.
func kekFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(f, []byte(yimaOK(t, t.TempDir(), "keys", "kek")), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// sealedCodes sets a cluster up through the directory dir with db's flags
// (--db and the key-encryption key), as docs/cluster.md says: the brand's
// base URL, n active codes minted, and the first admin token, made with
// token create --role admin.
func sealedCodes(t *testing.T, dir string, db []string, n int) (codes []string, admin string) {
	t.Helper()
	yimaOK(t, dir, append(db, "brand", "set", "--base-url", testBaseURL)...)
	for _, u := range strings.Fields(yimaOK(t, dir, append(db, "mint", "--product", "SKU-A", "--count", fmt.Sprint(n), "--activate", "--format", "txt")...)) {
		codes = append(codes, u[strings.LastIndex(u, "/")+1:])
	}
	return codes, strings.TrimSpace(yimaOK(t, dir, append(db, "token", "create", "--role", "admin", "--name", "ops")...))
}

// TestClusterWithKEK sets a cluster up as docs/cluster.md says: the first
// admin token is made with token create --role admin on an empty
// directory, and a node given only --db and the key-encryption key serves
// with it; keys rotated through one directory are the database's. A node
// without the key, with another, or with two refuses and says what to do.
func TestClusterWithKEK(t *testing.T) {
	dsn := pgtest.Migrated(t)
	kf := kekFile(t)
	one := filepath.Join(t.TempDir(), "one")
	db := []string{"--db", dsn, "--key-file", kf}
	codes, tok := sealedCodes(t, one, db, 2)
	for _, f := range []string{"keys.json", "admin.token"} {
		if _, err := os.Stat(filepath.Join(one, f)); err == nil {
			t.Errorf("with a key-encryption key the data directory got %s", f)
		}
	}
	if out := yimaOK(t, one, append(db, "keys", "rotate")...); !strings.Contains(out, "key 2 is now the primary") {
		t.Errorf("keys rotate --db: %s", out)
	}

	// A second node: an empty directory, the URL and the key's file.
	two := filepath.Join(t.TempDir(), "two")
	s := startServeWith(t, two, []string{"YIMA_DB=" + dsn, "YIMA_KEY_FILE=" + kf})
	hc := &http.Client{Timeout: 20 * time.Second}
	if status, body, err := call(hc, "GET", s.url+"/v1/tokens", tok, nil); err != nil || status != 200 || !strings.Contains(string(body), `"role":"admin"`) {
		t.Fatalf("the admin token made with token create --role admin, on another node: %d %s %v", status, body, err)
	}
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", tok, map[string]string{"code": codes[0], "member": "m1"}); err != nil || status != 200 {
		t.Fatalf("a code minted through the first directory, scanned on the second node: %d %s %v", status, body, err)
	}
	var keys []struct {
		ID      int
		Primary bool
	}
	decode(t, yimaOK(t, filepath.Join(t.TempDir(), "three"), append(db, "keys", "list")...), &keys)
	if len(keys) != 2 || !keys[1].Primary {
		t.Errorf("keys list from another directory after the rotation: %+v", keys)
	}
	if err := s.stop(); err != nil {
		t.Errorf("stopping the node: %v", err)
	}

	four := filepath.Join(t.TempDir(), "four")
	wantExit(t, four, exitFailed, "YIMA_KEY_FILE", "--db", dsn, "batch", "list")
	other := kekFile(t)
	wantExit(t, four, exitFailed, "the key-encryption key does not open the keys in the database", "--db", dsn, "--key-file", other, "batch", "list")
	t.Setenv("YIMA_KEK", "not a key")
	wantExit(t, four, exitUsage, "give the key-encryption key one way", append(db, "batch", "list")...)
	wantExit(t, four, exitFailed, "yima keys kek", "--db", dsn, "batch", "list")
	r := yimaEnv(t, []string{"YIMA_KEK=" + strings.TrimSpace(readFile(t, other))}, "serve", "--data", four, "--db", dsn, "--addr", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "does not open the keys in the database") {
		t.Errorf("serve with another key-encryption key: %v", r)
	}
}

// TestMigrateWithKEK moves a single machine onto PostgreSQL with a
// key-encryption key: the records are copied and the keys sealed, so a
// node needs no file of the old directory; its admin.token still works,
// as a token record, on a node serving the database.
func TestMigrateWithKEK(t *testing.T) {
	data, codes := brandedData(t)
	dsn := pgtest.Migrated(t)
	kf := kekFile(t)
	var out struct {
		Records int
		Keys    struct {
			Keys       int    `json:"keys"`
			AdminToken string `json:"admin_token"`
		}
	}
	decode(t, yimaOK(t, data, "migrate", "--from", data, "--to", dsn, "--key-file", kf), &out)
	if out.Records == 0 || out.Keys.Keys != 1 || out.Keys.AdminToken == "" {
		t.Fatalf("migrate with a key-encryption key: %+v", out)
	}
	node := t.TempDir()
	var d description
	decode(t, yimaOK(t, node, "--db", dsn, "--key-file", kf, "verify", codes[0]), &d)
	if !d.Genuine || !d.Active {
		t.Errorf("verify on an empty directory with the key: %+v", d)
	}
	wantExit(t, node, exitFailed, "holds signing keys already", "--db", dsn, "--key-file", kf, "keys", "upload", "--from", data)
	s := startServeWith(t, node, []string{"YIMA_KEY_FILE=" + kf}, "--db", dsn)
	hc := &http.Client{Timeout: 20 * time.Second}
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", adminToken(t, data), map[string]string{"code": codes[1], "member": "m1"}); err != nil || status != 200 {
		t.Errorf("the old admin.token on a node of the database: %d %s %v", status, body, err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestResealCommand rotates a cluster's key-encryption key with yima keys
// reseal: every command and node given the new key works, with the same
// signing keys and admin token; one given the old key is refused, naming
// both keys' ids and the re-seal; a node still running with the old key
// keeps serving with the keys it opened and logs why it cannot read them
// again. Bad invocations are refused and change nothing.
func TestResealCommand(t *testing.T) {
	dsn := pgtest.Migrated(t)
	kf1, kf2 := kekFile(t), kekFile(t)
	one := filepath.Join(t.TempDir(), "one")
	db1 := []string{"--db", dsn, "--key-file", kf1}
	codes, tok := sealedCodes(t, one, db1, 3)
	old := startServeWith(t, filepath.Join(t.TempDir(), "old"), []string{"YIMA_DB=" + dsn, "YIMA_KEY_FILE=" + kf1})

	wantExit(t, one, exitUsage, "--new-key-file", append(db1, "keys", "reseal")...)
	wantExit(t, one, exitUsage, "needs --db", "--key-file", kf1, "keys", "reseal", "--new-key-file", kf2)
	wantExit(t, one, exitFailed, "the new key-encryption key is the one in use", append(db1, "keys", "reseal", "--new-key-file", kf1)...)
	wantExit(t, one, exitFailed, "does not open the keys", "--db", dsn, "--key-file", kf2, "keys", "reseal", "--new-key-file", kekFile(t))
	wantExit(t, one, exitFailed, "yima keys kek", "--db", dsn, "keys", "reseal", "--new-key-file", kf2)

	out, errOut, err := yimaRun(t, "", append([]string{"--data", one}, append(db1, "keys", "reseal", "--new-key-file", kf2)...)...)
	if err != nil {
		t.Fatalf("keys reseal: %v\n%s", err, errOut)
	}
	var re struct {
		Records  int
		From, To string
	}
	decode(t, out, &re)
	if re.Records != 2 || re.From == "" || re.To == "" || re.From == re.To {
		t.Fatalf("keys reseal printed %s", out)
	}
	if !strings.Contains(errOut, "restart every node") {
		t.Errorf("keys reseal does not say to restart the nodes: %s", errOut)
	}

	// The node still holding the old key serves with the keys it opened,
	// and says why it cannot read them again.
	hc := &http.Client{Timeout: 20 * time.Second}
	if status, body, err := call(hc, "POST", old.url+"/v1/scans", tok, map[string]string{"code": codes[0], "member": "m1"}); err != nil || status != 200 {
		t.Errorf("a scan on the node still running with the old key: %d %s %v", status, body, err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(old.stderr.String(), "sealed under key-encryption key "+re.To); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the node with the old key does not log that the keys are sealed under %s:\n%s", re.To, old.stderr)
			break
		}
	}
	// A process started with the old key is refused, and says what to do.
	for _, want := range []string{"does not open the keys in the database", re.From, re.To, "yima keys reseal"} {
		wantExit(t, t.TempDir(), exitFailed, want, append(db1, "batch", "list")...)
	}
	// With the new key: the same keys, the same admin token.
	db2 := []string{"--db", dsn, "--key-file", kf2}
	var d description
	decode(t, yimaOK(t, t.TempDir(), append(db2, "verify", codes[1])...), &d)
	if !d.Genuine {
		t.Errorf("a code minted before the re-seal, verified with the new key: %+v", d)
	}
	s := startServeWith(t, filepath.Join(t.TempDir(), "new"), []string{"YIMA_DB=" + dsn, "YIMA_KEY_FILE=" + kf2})
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", tok, map[string]string{"code": codes[1], "member": "m1"}); err != nil || status != 200 {
		t.Errorf("a scan on a node started with the new key: %d %s %v", status, body, err)
	}
	if status, body, err := call(hc, "POST", s.url+"/v1/scans", tok, map[string]string{"code": codes[0], "member": "m2"}); err != nil || status != 409 {
		t.Errorf("the code paid on the old key's node, scanned on the new key's: %d %s %v; want 409", status, body, err)
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
		nodes[i] = startServeWith(t, data, nil, db...)
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
		nodes[victim] = startServeWith(t, data, nil, db...)
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
		nodes[i] = startServeWith(t, data, nil, db...)
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
	n := startServeWith(t, data, nil, db...)

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
