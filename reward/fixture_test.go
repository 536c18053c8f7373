package reward_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/memstore"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
	"github.com/yima-dev/yima/store/pgstore"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// This file chooses the store the package's tests run on and adapts the
// shared fixtures of package rewardtest to the names the tests use.

// backends open the stores the rules are tested on, by the name that
// YIMA_TEST_STORE gives (pebble when unset). Every rule test runs on any of
// them unchanged: "memory" is the in-memory backend running each decision
// twice, as an optimistic backend retries, so a rule that changes engine
// memory before its commit counts twice there.
var backends = map[string]func(tb testing.TB, maxGroup int) store.DB{
	"pebble": func(tb testing.TB, maxGroup int) store.DB {
		return pebbletest.Open(tb, &pebblestore.Options{MaxGroup: maxGroup})
	},
	"memory": func(tb testing.TB, _ int) store.DB {
		return memoryStore(tb, true)
	},
	// "postgres" is a schema of its own on the test server (pgtest), its
	// decisions retried on conflicts and lost connections, decided in
	// four lanes (groups in flight at once, conflicting with each other).
	"postgres": func(tb testing.TB, maxGroup int) store.DB {
		return pgtest.Open(tb, &pgstore.Options{MaxGroup: maxGroup, Lanes: testLanes})
	},
}

// testLanes is how many lanes the tests' PostgreSQL stores decide in: more
// than one, so that the rules run with groups in flight at once.
const testLanes = 4

// memoryStore opens an empty in-memory store, closed at the end of tb; with
// retry it runs each decision twice, as an optimistic backend retries.
// Tests that count what one decision reads or writes open it without.
func memoryStore(tb testing.TB, retry bool) store.DB {
	db := memstore.New(memstore.Options{Retry: retry})
	tb.Cleanup(func() { db.Close() })
	return db
}

// leakySnapshotStore opens an in-memory store whose snapshots read live
// records, as a broken backend's would; closed at the end of tb.
func leakySnapshotStore(tb testing.TB) store.DB {
	db := memstore.New(memstore.Options{Flaw: memstore.LeakySnapshot})
	tb.Cleanup(func() { db.Close() })
	return db
}

// nodeStores opens n handles on one empty store: the same in-memory
// store n times, or n PostgreSQL stores on one schema, each with its own
// deciders (in testLanes lanes), so that their decisions meet in the
// database as separate nodes' do.
func nodeStores(t *testing.T, backend string, n int) []store.DB {
	t.Helper()
	if backend == "memory" {
		return slices.Repeat([]store.DB{memoryStore(t, true)}, n)
	}
	dsn := pgtest.Migrated(t)
	var dbs []store.DB
	for range n {
		db, err := pgstore.Open(dsn, &pgstore.Options{Lanes: testLanes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// nodeEngines makes an engine of its own on each store, as nodes node1,
// node2 ... that sign with the same keys.
func nodeEngines(t *testing.T, dbs []store.DB, ks *codegen.Keyset, now func() time.Time) []*reward.Engine {
	var out []*reward.Engine
	for i, db := range dbs {
		out = append(out, reward.New(db, ks, reward.Options{Now: now, NoSeenIndex: true, NodeID: fmt.Sprintf("node%d", i+1)}))
	}
	return out
}

// startNodes opens n nodes on one store of backend (nodeStores), signing
// with the same keys, their clocks standing at rewardtest.Start.
func startNodes(t *testing.T, backend string, n int) ([]store.DB, []*reward.Engine) {
	t.Helper()
	dbs := nodeStores(t, backend, n)
	return dbs, nodeEngines(t, dbs, rewardtest.Keys(t, true), func() time.Time { return rewardtest.Start })
}

// mintCodes makes a batch of product and returns its codes.
func mintCodes(t *testing.T, eng *reward.Engine, product string, n int) []string {
	t.Helper()
	_, s := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: product, Count: uint32(n), Activate: true})
	return rewardtest.Codes(s, n)
}

// backendUnderTest, when set, names the backend fixtures open instead of
// YIMA_TEST_STORE's. No test here runs in parallel, so a test may switch it
// for the tests it runs.
var backendUnderTest string

// backend names the backend fixtures open. It reads YIMA_TEST_STORE while a
// test runs, not when the package loads: go test records the variables a
// test reads only from then on, and a read at load time let a cached run on
// one backend stand for a run on the other.
func backend() string {
	return cmp.Or(backendUnderTest, os.Getenv("YIMA_TEST_STORE"), "pebble")
}

// useBackend makes the fixtures tb opens from now on open the named
// backend, until tb ends.
func useBackend(tb testing.TB, name string) {
	prev := backendUnderTest
	backendUnderTest = name
	tb.Cleanup(func() { backendUnderTest = prev })
}

// onBackends runs test as a subtest on each named backend in turn, its
// fixtures opening that backend.
func onBackends(t *testing.T, names []string, test func(t *testing.T, backend string)) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			useBackend(t, name)
			test(t, name)
		})
	}
}

// openStore opens an empty store of the backend under test.
func openStore(tb testing.TB, maxGroup int) store.DB {
	tb.Helper()
	open, ok := backends[backend()]
	if !ok {
		tb.Fatalf("YIMA_TEST_STORE=%s: no such backend (pebble, memory, postgres)", backend())
	}
	return open(tb, maxGroup)
}

// fixture is a rewardtest.Fixture under the names the tests use; its
// engine's clock reads now.
type fixture struct {
	db     store.DB
	eng    *reward.Engine
	signer *codegen.Signer
	batch  *reward.Batch
	now    time.Time
}

// fixtureOptions opens a fixture other than newFixture's default.
type fixtureOptions struct {
	// maxGroup is the Pebble engine's MaxGroup; zero keeps its default.
	maxGroup int
	// sharedKeys signs with a fixed secret, so that two fixtures mint the
	// very same codes and can be asked about one code.
	sharedKeys bool
}

func openFixture(tb testing.TB, count uint32, points int64, o fixtureOptions) *fixture {
	tb.Helper()
	f := &fixture{now: rewardtest.Start}
	rf := rewardtest.Open(tb, openStore(tb, o.maxGroup), rewardtest.Options{
		Count: count, Points: points, SharedKeys: o.sharedKeys,
		Now: func() time.Time { return f.now },
	})
	f.db, f.eng, f.signer, f.batch = rf.DB, rf.Eng, rf.Signer, rf.Batch
	return f
}

func newFixture(tb testing.TB, count uint32, points int64) *fixture {
	tb.Helper()
	return openFixture(tb, count, points, fixtureOptions{})
}

// newEngine returns an engine over a fresh store, closed at the end of the
// test.
func newEngine(tb testing.TB, opts reward.Options) (store.DB, *reward.Engine) {
	tb.Helper()
	db := openStore(tb, 0)
	return db, rewardtest.NewEngine(tb, db, opts)
}

// allCodes lists the codes of f's serials 1 to n by serial (index 0
// unused), so that goroutines need not share its Signer.
func allCodes(f *fixture, n uint32) []string {
	return append([]string{""}, rewardtest.Codes(f.signer, int(n))...)
}

func (f *fixture) scan(code, member string) (reward.ScanResult, error) {
	res, _, err := rewardtest.Scan(f.eng, reward.ScanRequest{Code: code, Member: member})
	return res, err
}

func code(err error) reward.Code { return reward.ErrorCode(err) }

// mustAuditSay runs the audit and fails unless one of its violations says
// want: the audit caught a forged record.
func mustAuditSay(t *testing.T, eng *reward.Engine, want string) {
	t.Helper()
	rep, err := eng.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Violations, func(v string) bool { return strings.Contains(v, want) }) {
		t.Fatalf("the audit missed the forgery: violations %q, want one saying %q", rep.Violations, want)
	}
}

func race(t *testing.T, n int, lost reward.Code, do func(i int) error) (won, refused int) {
	t.Helper()
	return rewardtest.Race(t, n, lost, do)
}

func campaignDoc(tb testing.TB, fields map[string]any) string {
	tb.Helper()
	return rewardtest.CampaignDoc(tb, fields)
}

func scanReq(f *fixture, req reward.ScanRequest) (reward.ScanResult, json.RawMessage, error) {
	return rewardtest.Scan(f.eng, req)
}

func mustRedeem(tb testing.TB, f *fixture, code, member string) reward.ScanResult {
	tb.Helper()
	return rewardtest.MustRedeem(tb, f.eng, code, member)
}

func wantRefused(tb testing.TB, f *fixture, code, member string, want reward.Code) error {
	tb.Helper()
	return rewardtest.WantRefused(tb, f.eng, code, member, want)
}

func isRedeemed(tb testing.TB, f *fixture, code string) bool {
	tb.Helper()
	return rewardtest.IsRedeemed(tb, f.eng, code)
}

func mustApply(tb testing.TB, f *fixture, doc string) *reward.CampaignView {
	tb.Helper()
	return rewardtest.MustApply(tb, f.eng, doc)
}

func mustMint(tb testing.TB, f *fixture, spec reward.BatchSpec) (*reward.Batch, *codegen.Signer) {
	tb.Helper()
	return rewardtest.MustMint(tb, f.eng, spec)
}

func mustPutReward(tb testing.TB, f *fixture, doc string) *reward.RewardView {
	tb.Helper()
	return rewardtest.MustPutReward(tb, f.eng, doc)
}

func mustAudit(tb testing.TB, f *fixture) {
	tb.Helper()
	rewardtest.MustAudit(tb, f.eng)
}

func mustCampaign(tb testing.TB, f *fixture, id string) *reward.CampaignView {
	tb.Helper()
	return rewardtest.MustCampaign(tb, f.eng, id)
}

func mustGuide(tb testing.TB, f *fixture, id, member string) {
	tb.Helper()
	rewardtest.MustGuide(tb, f.eng, id, member)
}

func mustMember(tb testing.TB, f *fixture, id string) *reward.MemberView {
	tb.Helper()
	return rewardtest.MustMember(tb, f.eng, id)
}

func ledgerOf(tb testing.TB, db store.Reader, prefix, holder string) []reward.Entry {
	tb.Helper()
	return rewardtest.Ledger(tb, db, prefix, holder)
}

func redemptionOf(tb testing.TB, f *fixture, code string) reward.Redemption {
	tb.Helper()
	return rewardtest.Redemption(tb, f.db, code)
}

// putBytes writes raw under key past the engine, in a decision of its own:
// a record as a bug, a forger or an older version would leave it.
func putBytes(tb testing.TB, db store.DB, key, raw []byte) {
	tb.Helper()
	if err := db.Update(func(tx store.Tx) error { tx.Put(key, raw); return nil }); err != nil {
		tb.Fatal(err)
	}
}

// putRecords writes each value as the JSON record of its key, past the
// engine, in one decision: a record as a bug or a forger would leave it.
func putRecords(tb testing.TB, db store.DB, records map[string]any) {
	tb.Helper()
	err := db.Update(func(tx store.Tx) error {
		for k, v := range records {
			raw, err := json.Marshal(v)
			if err != nil {
				return err
			}
			tx.Put([]byte(k), raw)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
