package reward_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/memstore"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/storetest"
)

// crashSeeds is how many crash points TestCrashKeepsAcknowledgedScans tries.
const crashSeeds = 30

// TestCrashKeepsAcknowledgedScans crashes the machine in the middle of a scan
// burst and checks that every answer a client received before the crash is
// still true after the restart.
//
// Each seed opens a store on a crashable disk of the backend under test
// (crashDisks: Pebble's crashable in-memory file system by default), starts
// concurrent scans (contested codes, random members, some with request ids),
// and, while they are in flight, takes a CrashClone: a copy of the disk as a
// power cut would leave it, with every synced byte and, depending on the
// seed, none, some or all of the unsynced ones. An answer counts as
// acknowledged only if it was received before the clone began. The store is
// then reopened on the clone (Pebble replays its WAL) and checked:
//
//   - every acknowledged redemption is there, with the same member and
//     points, and every acknowledged already_redeemed code is redeemed;
//   - no member's balance is below a balance an answer promised them;
//   - auditRecords is clean: one winner per code, balances equal to the
//     sums of their ledgers and of their redemptions, ledger ids that exist;
//   - the recovered store still works.
//
// The test can fail: TestCrashTestNoticesUnsyncedWrites runs the same
// scenario with syncing turned off and requires a lost acknowledgement.
//
// A failure names its seed; rerun it with
//
//	go test -race -run 'TestCrashKeepsAcknowledgedScans/seed=7$' ./reward
//
// The seed fixes the plan (codes, members, crash point, unsynced share), not
// the goroutine schedule, so a rerun explores nearby interleavings.
func TestCrashKeepsAcknowledgedScans(t *testing.T) {
	for seed := uint64(1); seed <= crashSeeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			out := runCrash(t, seed, false)
			for _, p := range out.problems {
				t.Error(p)
			}
			if out.acked == 0 {
				t.Fatal("no answer was acknowledged before the crash; the seed tests nothing")
			}
		})
	}
}

// TestCrashTestNoticesUnsyncedWrites shows that the crash test can fail. It
// runs the same scenario with a store that answers before its writes are
// durable for the scans (crashDisk.OpenUnsynced: Pebble's Options.NoSync;
// the batches are still created with sync), and crashes keeping only
// synced data (UnsyncedDataPercent 0: a power cut). Some acknowledged redemption must then be lost for at least one
// seed. If none ever is, the crash test above would pass whatever the store
// did, and proves nothing.
//
// UnsyncedDataPercent 100 would keep every byte written to the file, as a
// process crash does; it catches the missing sync only by luck, when a
// record was still in Pebble's write buffer.
//
// Whether a given crash catches the loss depends on how the writes were
// scheduled (the in-memory backend writes behind in bursts), so seeds run
// until both checks have caught one, up to a bound.
func TestCrashTestNoticesUnsyncedWrites(t *testing.T) {
	const seeds = 40
	caught, feedCaught := 0, 0
	for seed := uint64(1); seed <= seeds && (caught == 0 || feedCaught == 0); seed++ {
		out := runCrash(t, seed, true)
		if slices.ContainsFunc(out.problems, func(p string) bool { return strings.Contains(p, "was shown before the crash") }) {
			feedCaught++
		}
		if out.lost > 0 {
			caught++
			t.Logf("seed %d without sync: %d of %d acknowledged answers lost; %d problems, e.g. %s", seed, out.lost, out.acked, len(out.problems), out.problems[0])
		}
	}
	if caught == 0 {
		t.Fatalf("with syncing off, %d crashes lost no acknowledged redemption: the crash test cannot tell a durable store from one that is not", seeds)
	}
	// The feed's check can fail too: events shown from decisions that
	// were acknowledged but not durable are lost.
	if feedCaught == 0 {
		t.Fatalf("with syncing off, %d crashes lost no event the feed had shown: the crash test cannot tell a durable feed from one that is not", seeds)
	}
}

// TestAuditFindsBrokenRecords shows that the audit can fail: each case
// writes records as a partial or double commit would leave them, bypassing
// the engine, and the audit must name the damage.
func TestAuditFindsBrokenRecords(t *testing.T) {
	entry := func(member string, seq uint64, delta, balance int64, code string) reward.Entry {
		return reward.Entry{ID: fmt.Sprintf("forged-%s-%d", member, seq), Seq: seq, Member: member, Account: "points", Delta: delta, Balance: balance, Reason: "scan", Code: code}
	}
	for name, c := range map[string]struct {
		forge func(f *fixture, alice reward.Member, won string) map[string]any
		want  string
	}{
		"redemption without its ledger entry": {
			func(f *fixture, alice reward.Member, _ string) map[string]any {
				code := f.signer.Code(9)
				alice.Redemptions++
				alice.Points += 5
				return map[string]any{
					string(redemptionPrefix) + code: reward.Redemption{Code: code, Member: "alice", Points: 5, Ledger: []string{"nowhere"}},
					string(memberPrefix) + "alice":  alice,
				}
			},
			"which does not exist",
		},
		"ledger entry without its redemption": {
			func(f *fixture, alice reward.Member, _ string) map[string]any {
				alice.Seq++
				alice.Points += 5
				return map[string]any{
					ledgerKeyString("alice", alice.Seq): entry("alice", alice.Seq, 5, alice.Points, f.signer.Code(9)),
					string(memberPrefix) + "alice":      alice,
				}
			},
			"no redemption lists it",
		},
		"second winner of a code": {
			func(f *fixture, _ reward.Member, won string) map[string]any {
				return map[string]any{
					ledgerKeyString("carol", 1):    entry("carol", 1, 5, 5, won),
					string(memberPrefix) + "carol": reward.Member{ID: "carol", Points: 5, Redemptions: 1, Seq: 1},
				}
			},
			"no redemption lists it",
		},
		"balance off its ledger": {
			func(_ *fixture, alice reward.Member, _ string) map[string]any {
				alice.Points++
				return map[string]any{string(memberPrefix) + "alice": alice}
			},
			"the ledger sums to",
		},
		"lost member update": {
			func(_ *fixture, alice reward.Member, _ string) map[string]any {
				alice.Seq--
				alice.Points -= 5
				alice.Redemptions--
				return map[string]any{string(memberPrefix) + "alice": alice}
			},
			"the ledger sums to",
		},
		"gap in a ledger": {
			func(f *fixture, alice reward.Member, _ string) map[string]any {
				code := f.signer.Code(9)
				alice.Seq += 2
				alice.Points += 5
				alice.Redemptions++
				e := entry("alice", alice.Seq, 5, alice.Points, code)
				return map[string]any{
					ledgerKeyString("alice", alice.Seq): e,
					string(redemptionPrefix) + code:     reward.Redemption{Code: code, Member: "alice", Points: 5, Ledger: []string{e.ID}},
					string(scanStatsPrefix) + code:      reward.ScanStats{Scans: 1, Scanners: 1},
					string(memberPrefix) + "alice":      alice,
				}
			},
			"the ledger has a gap",
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 10, 5)
			var won string
			for i, m := range []string{"alice", "bob", "alice"} {
				if _, err := f.scan(f.signer.Code(uint32(i+1)), m); err != nil {
					t.Fatal(err)
				}
				won = f.signer.Code(uint32(i + 1))
			}
			before, err := auditRecords(f.db)
			if err != nil {
				t.Fatal(err)
			}
			if len(before.Problems) > 0 {
				t.Fatalf("the audit finds problems in a healthy store: %q", before.Problems)
			}
			forged := c.forge(f, before.Members["alice"], won)
			putRecords(t, f.db, forged)
			after, err := auditRecords(f.db)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(after.Problems, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Fatalf("the audit missed it: problems %q, want one saying %q", after.Problems, c.want)
			}
		})
	}
}

func ledgerKeyString(member string, seq uint64) string {
	return string(binary.BigEndian.AppendUint64(append(append([]byte(nil), ledgerPrefix...), member+"\x00"...), seq))
}

// ack is an answer a client received.
type ack struct {
	code, member string
	redeemed     bool // false: already_redeemed
	points       int64
	balance      int64
}

// ackOf is what the answer to req acknowledges: a redemption with its
// points and balance, or already_redeemed. Any other answer is a test
// error, and ok is false.
func ackOf(t *testing.T, req reward.ScanRequest, raw json.RawMessage, err error) (a ack, ok bool) {
	a = ack{code: req.Code, member: req.Member}
	switch reward.ErrorCode(err) {
	case "":
		var res reward.ScanResult
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Errorf("answer %s: %v", raw, err)
		}
		a.redeemed, a.points, a.balance = true, res.Points, res.Balance
	case reward.CodeAlreadyRedeemed:
	default:
		t.Errorf("scan %s by %s: %v", req.Code, req.Member, err)
		return a, false
	}
	return a, true
}

// ackLog gathers the acknowledgements concurrent scanners received.
type ackLog struct {
	mu   sync.Mutex
	acks []ack
}

// add keeps what the answer to req acknowledges (see ackOf); it reports
// false when the answer acknowledges nothing.
func (l *ackLog) add(t *testing.T, req reward.ScanRequest, raw json.RawMessage, err error) bool {
	a, ok := ackOf(t, req, raw, err)
	if ok {
		l.mu.Lock()
		l.acks = append(l.acks, a)
		l.mu.Unlock()
	}
	return ok
}

type crashOutcome struct {
	acked, lost int
	problems    []string
}

// crashDisk is the disk a crash scenario runs on, for the backend under
// test: a storetest.Disk, and a way to open the store broken, answering
// before its writes are durable, which the scenario must catch.
type crashDisk interface {
	storetest.Disk
	OpenUnsynced(tb testing.TB) store.DB
}

// crashDisks make the disk of a seed's scenario, by backend. powerCut
// crashes keep only what was synced.
var crashDisks = map[string]func(seed uint64, powerCut bool) crashDisk{
	"pebble": func(seed uint64, powerCut bool) crashDisk {
		mem := vfs.NewCrashableMem()
		cfg := vfs.CrashCloneCfg{}
		if !powerCut {
			rng := rand.New(rand.NewPCG(seed, 0xc1))
			cfg.UnsyncedDataPercent = []int{0, 0, 30, 100}[rng.IntN(4)]
			cfg.RNG = rng
		}
		// WAL syncs take a while, as on a disk, so that the crash often
		// falls between a commit and its sync: a store that answered in
		// that gap would be caught.
		fs := errorfs.Wrap(mem, errorfs.RandomLatency(walSyncs, 300*time.Microsecond, int64(seed), 0))
		return &pebbleDisk{mem: mem, fs: fs, cfg: cfg}
	},
	"memory": func(uint64, bool) crashDisk {
		return memDisk{memstore.NewDisk(memstore.Options{Retry: true})}
	},
}

type pebbleDisk struct {
	mem *vfs.MemFS
	fs  vfs.FS
	cfg vfs.CrashCloneCfg
}

func (d *pebbleDisk) open(tb testing.TB, noSync bool) store.DB {
	tb.Helper()
	db, err := pebblestore.Open("db", &pebblestore.Options{FS: d.fs, NoSync: noSync})
	if err != nil {
		tb.Fatalf("opening the store: %v", err)
	}
	return db
}

func (d *pebbleDisk) Open(tb testing.TB) store.DB         { return d.open(tb, false) }
func (d *pebbleDisk) OpenUnsynced(tb testing.TB) store.DB { return d.open(tb, true) }
func (d *pebbleDisk) Break()                              { panic("the crash scenario breaks no disk") }
func (d *pebbleDisk) Crash(testing.TB) storetest.Disk {
	clone := d.mem.CrashClone(d.cfg)
	return &pebbleDisk{mem: clone, fs: clone, cfg: d.cfg}
}

// memDisk's broken store writes behind, in bursts.
type memDisk struct{ d *memstore.Disk }

func (d memDisk) Open(testing.TB) store.DB         { return d.d.Open() }
func (d memDisk) OpenUnsynced(testing.TB) store.DB { return d.d.OpenFlawed(memstore.AcksBeforeDisk) }
func (d memDisk) Break()                           { d.d.Break() }
func (d memDisk) Crash(testing.TB) storetest.Disk  { return memDisk{d.d.Crash()} }

// runCrash runs one crash scenario and returns what it found wrong. noSync
// turns the store's WAL sync off and makes the crash keep only synced data.
func runCrash(t *testing.T, seed uint64, noSync bool) crashOutcome {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x7a11ed))
	newDisk, ok := crashDisks[backend()]
	if !ok && backend() == "postgres" {
		t.Skip("the postgres backend keeps no disk of its own to copy: a power cut is PostgreSQL's to survive; pgstore's TestCommitConnectionLost covers a commit whose connection is lost")
	}
	if !ok {
		t.Fatalf("no crash disk for the %s backend", backend())
	}
	disk := newDisk(seed, noSync)
	// The batches are created with syncing on, so that without sync only
	// the scans' own commits are at risk.
	db := disk.Open(t)
	ks := rewardtest.Keys(t, false)
	now := rewardtest.Start
	clock := func() time.Time { return now }
	eng := reward.New(db, ks, reward.Options{Now: clock})

	// Two batches with different points, so that a redemption recovered
	// under the wrong batch or member shows in the sums. The last serial of
	// the second is kept out of the burst: the recovered store must still
	// redeem it.
	const perBatch = 40
	var codes []string
	var spare string
	for i, points := range []int64{1 + rng.Int64N(9), 10 + rng.Int64N(90)} {
		_, s := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "SKU", Count: perBatch + 1, Points: new(int64(points)), Activate: true})
		all := rewardtest.Codes(s, perBatch+1)
		codes = append(codes, all[:perBatch]...)
		if i == 1 {
			spare = all[perBatch]
		}
	}

	if noSync {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = disk.OpenUnsynced(t)
		eng = reward.New(db, ks, reward.Options{Now: clock})
	}
	defer db.Close()

	const workers, each = 8, 25
	hot := codes[:5]
	plans := make([][]reward.ScanRequest, workers)
	for w := range plans {
		for i := range each {
			req := reward.ScanRequest{Member: fmt.Sprintf("m%02d", rng.IntN(12))}
			if rng.IntN(3) == 0 {
				req.Code = hot[rng.IntN(len(hot))]
			} else {
				req.Code = codes[rng.IntN(len(codes))]
			}
			if rng.IntN(4) == 0 {
				req.RequestID = fmt.Sprintf("w%d-%d", w, i)
			}
			plans[w] = append(plans[w], req)
		}
	}
	crashAt := 1 + rng.Int64N(workers*each*3/4)

	var (
		crashing atomic.Bool
		answered atomic.Int64
		clone    storetest.Disk
		shown    map[uint64]string
		acked    ackLog
		wg       sync.WaitGroup
	)
	for _, plan := range plans {
		wg.Go(func() {
			for _, req := range plan {
				raw, err := eng.Scan(req)
				// Loading the flag after the answer arrived and before
				// the crash began is what makes it acknowledged.
				if !crashing.Load() && !acked.add(t, req, raw, err) {
					continue
				}
				if answered.Add(1) == crashAt {
					crashing.Store(true)
					// What the feed shows a reader before the crash
					// must survive it, byte for byte.
					shown = feedShown(t, eng)
					clone = disk.Crash(t)
				}
			}
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	acks := acked.acks
	var out crashOutcome
	out.acked = len(acks)
	problemf := func(format string, args ...any) {
		out.problems = append(out.problems, fmt.Sprintf(format, args...))
	}

	// Two acknowledged winners of one code are wrong before any crash.
	winner := map[string]ack{}
	for _, a := range acks {
		if !a.redeemed {
			continue
		}
		if w, ok := winner[a.code]; ok {
			problemf("code %s was acknowledged as redeemed twice, by %s and %s", a.code, w.member, a.member)
		}
		winner[a.code] = a
	}

	rdb := clone.Open(t)
	defer rdb.Close()
	aud, err := auditRecords(rdb)
	if err != nil {
		t.Fatal(err)
	}
	out.problems = append(out.problems, aud.Problems...)
	out.problems = append(out.problems, checkAcks(aud, acks)...)
	// No event without its change, no change without its event: the
	// recovered feed replays to the recovered records, and holds every
	// event a reader was shown.
	if rep, err := reward.ReplayFeed(rdb); err != nil {
		t.Fatal(err)
	} else {
		out.problems = append(out.problems, rep.Violations...)
	}
	out.problems = append(out.problems, checkShown(t, rdb, shown)...)
	// reward.Audit, what yima audit runs, must agree that the store is clean.
	if rep, err := reward.Audit(rdb); err != nil {
		t.Fatal(err)
	} else {
		out.problems = append(out.problems, rep.Violations...)
	}
	for _, a := range acks {
		if _, ok := aud.Redemptions[a.code]; a.redeemed && !ok {
			out.lost++
		}
	}

	// The audit reads raw keys; the engine must agree with it, or the audit
	// is reading the wrong keys.
	reng := reward.New(rdb, ks, reward.Options{Now: clock})
	// Rebuild the index of scanned codes from the recovered store, as a
	// restarted server does: the scans below must still see every
	// acknowledged redemption.
	if err := reng.LoadSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	for code, red := range winner {
		st, err := reng.Status(code)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Redeemed {
			problemf("after the crash the engine says %s (acknowledged for %s) is not redeemed", code, red.member)
		}
		if st.Scans == 0 || st.Scanners == 0 {
			problemf("after the crash code %s is redeemed but was never counted as scanned (%d scans by %d scanners)", code, st.Scans, st.Scanners)
		}
		if _, err := scanOnce(reng, code, "after-crash"); reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
			problemf("after the crash, scanning acknowledged code %s again: %v, want %s", code, err, reward.CodeAlreadyRedeemed)
		}
	}
	for id, m := range aud.Members {
		v, err := reng.Member(id, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if v.Points != m.Points {
			problemf("member %s: the engine reports %d points, the audit %d", id, v.Points, m.Points)
		}
	}
	if _, err := scanOnce(reng, spare, "after-crash"); err != nil {
		problemf("the recovered store does not redeem a fresh code: %v", err)
	}
	if aud, err := auditRecords(rdb); err != nil {
		t.Fatal(err)
	} else {
		out.problems = append(out.problems, aud.Problems...)
	}
	return out
}

func scanOnce(eng *reward.Engine, code, member string) (json.RawMessage, error) {
	return eng.Scan(reward.ScanRequest{Code: code, Member: member})
}

// checkAcks compares answers clients received with the records of a store
// reopened after a crash or fault.
func checkAcks(aud *audit, acks []ack) []string {
	var problems []string
	promised := map[string]int64{}
	for _, a := range acks {
		red, ok := aud.Redemptions[a.code]
		switch {
		case !ok && a.redeemed:
			problems = append(problems, fmt.Sprintf("acknowledged redemption of %s by %s (%d points) is lost", a.code, a.member, a.points))
		case !ok:
			problems = append(problems, fmt.Sprintf("%s was answered already_redeemed, but no redemption of it survived", a.code))
		case a.redeemed && (red.Member != a.member || red.Points != a.points):
			problems = append(problems, fmt.Sprintf("acknowledged redemption of %s by %s for %d points came back as %s for %d points", a.code, a.member, a.points, red.Member, red.Points))
		}
		if a.redeemed {
			promised[a.member] = max(promised[a.member], a.balance)
		}
	}
	for id, bal := range promised {
		if got := aud.Members[id].Points; got < bal {
			problems = append(problems, fmt.Sprintf("member %s was told their balance is %d, but has %d after the restart", id, bal, got))
		}
	}
	return problems
}

// Key prefixes of the records in reward/records.go. The audit reads raw
// records because it must judge what is on disk, not what the engine makes of
// it; runCrash cross-checks it against the engine so that a renamed prefix
// cannot make it audit nothing.
var (
	redemptionPrefix  = []byte("r/")
	memberPrefix      = []byte("m/")
	ledgerPrefix      = []byte("l/")
	guidePrefix       = []byte("g/")
	guideLedgerPrefix = []byte("gl/")
	requestPrefix     = []byte("q/")
	scanStatsPrefix   = []byte("sc/")
)

// Reasons of ledger entries that a redemption pays, and so lists.
var payoutReasons = []string{"scan", "new_member_bonus", "scan_commission"}

// audit is what auditRecords read and what it found wrong.
type audit struct {
	Redemptions map[string]reward.Redemption
	Members     map[string]reward.Member
	Guides      map[string]reward.Guide
	Problems    []string
}

func (a *audit) problemf(format string, args ...any) {
	a.Problems = append(a.Problems, fmt.Sprintf(format, args...))
}

// auditRecords reads every redemption, member, guide, ledger entry,
// remembered answer and scan count of db and checks the invariants that must
// hold whatever happened to the process or the disk:
//
//   - one winner per code: every payout entry (scan points, new-member
//     bonus, scan commission) is listed by the redemption of its code, by
//     one redemption only, and belongs to that redemption's member or guide;
//   - every ledger id a redemption lists exists, and its points entries sum
//     to the redemption's points, its commission entries to its commission;
//   - every ledger is numbered 1..Seq without gaps, every entry's running
//     balance is right, and the balances on record equal the sums of the
//     entries;
//   - each member holds as many redemptions as their count says, and their
//     points equal the points of the redemptions they hold, less voided ones
//     (whose reversal entries must cancel them), plus entries that belong to
//     no code (spends);
//   - a remembered answer that says redeemed has its redemption;
//   - a redeemed code has been counted as scanned.
//
// A partial commit — a redemption without its ledger entry or member update,
// or the reverse — breaks one of these. It is the seed of `yima audit`;
// coupons and campaign counters are not audited yet.
func auditRecords(db store.Reader) (*audit, error) {
	a := &audit{
		Redemptions: map[string]reward.Redemption{},
		Members:     map[string]reward.Member{},
		Guides:      map[string]reward.Guide{},
	}
	err := readRecords(db, a, redemptionPrefix, func(code string, r reward.Redemption) {
		if r.Code != code {
			a.problemf("redemption stored under %s is of code %s", code, r.Code)
		}
		a.Redemptions[code] = r
	})
	if err == nil {
		err = readRecords(db, a, memberPrefix, func(id string, m reward.Member) {
			if m.ID != id {
				a.problemf("member stored under %s is %s", id, m.ID)
			}
			a.Members[id] = m
		})
	}
	if err == nil {
		err = readRecords(db, a, guidePrefix, func(id string, g reward.Guide) {
			if g.ID != id {
				a.problemf("guide stored under %s is %s", id, g.ID)
			}
			a.Guides[id] = g
		})
	}
	memberLedgers, guideLedgers := map[string][]reward.Entry{}, map[string][]reward.Entry{}
	if err == nil {
		err = readLedgers(db, a, ledgerPrefix, memberLedgers, func(e reward.Entry) string { return e.Member })
	}
	if err == nil {
		err = readLedgers(db, a, guideLedgerPrefix, guideLedgers, func(e reward.Entry) string { return e.Guide })
	}
	if err != nil {
		return nil, err
	}

	// Ledgers against the balances on record.
	type ref struct {
		e     reward.Entry
		guide bool
	}
	entries := map[string]ref{}
	for id, es := range memberLedgers {
		sums := checkLedger(a, "member "+id, es, reward.AccountPoints, reward.AccountGrowth)
		if m, ok := a.Members[id]; !ok {
			a.problemf("member %s has %d ledger entries but no member record", id, len(es))
		} else if m.Points != sums[reward.AccountPoints] || m.Growth != sums[reward.AccountGrowth] || m.Seq != uint64(len(es)) {
			a.problemf("member %s has %d points, %d growth and %d entries on record, but the ledger sums to %d points, %d growth in %d entries",
				id, m.Points, m.Growth, m.Seq, sums[reward.AccountPoints], sums[reward.AccountGrowth], len(es))
		}
		for _, e := range es {
			entries[e.ID] = ref{e: e}
		}
	}
	for id, es := range guideLedgers {
		sums := checkLedger(a, "guide "+id, es, reward.AccountCommission)
		if g, ok := a.Guides[id]; !ok {
			a.problemf("guide %s has %d ledger entries but no guide record", id, len(es))
		} else if g.Commission != sums[reward.AccountCommission] || g.Seq != uint64(len(es)) {
			a.problemf("guide %s has %d commission and %d entries on record, but the ledger sums to %d in %d entries",
				id, g.Commission, g.Seq, sums[reward.AccountCommission], len(es))
		}
		for _, e := range es {
			if _, dup := entries[e.ID]; dup {
				a.problemf("ledger id %s is used twice", e.ID)
			}
			entries[e.ID] = ref{e: e, guide: true}
		}
	}
	for id, m := range a.Members {
		if _, ok := memberLedgers[id]; !ok && (m.Seq != 0 || m.Points != 0 || m.Growth != 0) {
			a.problemf("member %s has %d points in %d entries on record, but no ledger", id, m.Points, m.Seq)
		}
	}

	// Redemptions against ledgers and members.
	type holding struct {
		n      uint64
		points int64
	}
	held := map[string]holding{}
	listed := map[string]string{} // ledger id -> code listing it
	for code, r := range a.Redemptions {
		if _, ok := a.Members[r.Member]; !ok {
			a.problemf("redemption of %s is held by %s, who has no member record", code, r.Member)
		}
		h := held[r.Member]
		h.n++
		if !r.Voided {
			h.points += r.Points
		}
		held[r.Member] = h
		var points, commission int64
		for _, id := range r.Ledger {
			x, ok := entries[id]
			switch {
			case !ok:
				a.problemf("redemption of %s lists ledger id %s, which does not exist", code, id)
				continue
			case x.e.Code != code,
				!x.guide && x.e.Member != r.Member,
				x.guide && x.e.Guide != r.Guide:
				a.problemf("redemption of %s by %s lists ledger id %s, which is the entry of %s%s for %q", code, r.Member, id, x.e.Member, x.e.Guide, x.e.Code)
			}
			if other, dup := listed[id]; dup {
				a.problemf("ledger id %s is listed by the redemptions of %s and %s", id, other, code)
			}
			listed[id] = code
			switch x.e.Account {
			case reward.AccountPoints:
				points += x.e.Delta
			case reward.AccountCommission:
				commission += x.e.Delta
			}
		}
		if points != r.Points || commission != r.Commission {
			a.problemf("redemption of %s is worth %d points and %d commission, its ledger entries pay %d and %d", code, r.Points, r.Commission, points, commission)
		}
	}

	// Entries no redemption lists: reversals of voided redemptions, spends,
	// coupon commissions. A payout among them is a second winner or half a
	// commit.
	reversed := map[string]int64{} // code -> points reversed
	unlinked := map[string]int64{} // member -> points of entries of no code
	for id, x := range entries {
		if _, ok := listed[id]; ok {
			continue
		}
		e := x.e
		switch {
		case slices.Contains(payoutReasons, e.Reason):
			a.problemf("%s%s's ledger entry #%d pays %d for %s, but no redemption lists it (a second winner, or half a commit)", e.Member, e.Guide, e.Seq, e.Delta, e.Code)
		case e.Coupon != "":
			// Coupon commissions and their reversals: not audited yet.
		case e.Code != "":
			if r, ok := a.Redemptions[e.Code]; !ok || !r.Voided {
				a.problemf("%s%s's ledger entry #%d (%s) moves %d for %s, which has no voided redemption", e.Member, e.Guide, e.Seq, e.Reason, e.Delta, e.Code)
			} else if !x.guide && e.Account == reward.AccountPoints {
				reversed[e.Code] += e.Delta
			}
		case !x.guide && e.Account == reward.AccountPoints:
			unlinked[e.Member] += e.Delta
		}
	}
	for code, r := range a.Redemptions {
		if r.Voided && reversed[code] != -r.Points {
			a.problemf("voided redemption of %s paid %d points, but %d were reversed", code, r.Points, -reversed[code])
		}
	}
	for id, m := range a.Members {
		h := held[id]
		if m.Redemptions != h.n || m.Points != h.points+unlinked[id] {
			a.problemf("member %s has %d redemptions and %d points on record, but holds %d redemptions worth %d points, and %d points of no code",
				id, m.Redemptions, m.Points, h.n, h.points, unlinked[id])
		}
	}

	// Remembered answers.
	err = readRecords(db, a, requestPrefix, func(id string, s reward.Stored) {
		var res reward.ScanResult
		if json.Unmarshal(s.Result, &res) != nil || res.Result != "redeemed" || res.Code == "" {
			return
		}
		if r, ok := a.Redemptions[res.Code]; !ok || r.RequestID != id {
			a.problemf("request %s remembers redeeming %s for %s, but the redemption on record is %+v", id, res.Code, res.Member, r)
		}
	})
	if err != nil {
		return nil, err
	}

	// Scan counts. A code redeemed by its first scan has no scan record
	// (its redemption implies that scan; the engine's Status counts it,
	// which the crash test checks); one that has a record counts a scan.
	err = readRecords(db, a, scanStatsPrefix, func(code string, st reward.ScanStats) {
		if _, redeemed := a.Redemptions[code]; redeemed && (st.Scans == 0 || st.Scanners == 0) {
			a.problemf("code %s is redeemed but its scan record counts %d scans by %d scanners", code, st.Scans, st.Scanners)
		}
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(a.Problems)
	return a, nil
}

// readRecords decodes every JSON record under prefix and passes it to fn
// with the rest of its key. A record that does not decode is a problem.
func readRecords[T any](db store.Reader, a *audit, prefix []byte, fn func(key string, v T)) error {
	return db.Scan(prefix, nil, func(k, raw []byte) bool {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			a.problemf("record %q is corrupt: %v", k, err)
			return true
		}
		fn(string(k[len(prefix):]), v)
		return true
	})
}

// readLedgers reads the ledgers under prefix (keys: holder, 0x00, 8-byte
// big-endian sequence) into byHolder, in sequence order.
func readLedgers(db store.Reader, a *audit, prefix []byte, byHolder map[string][]reward.Entry, holderOf func(reward.Entry) string) error {
	return readRecords(db, a, prefix, func(k string, e reward.Entry) {
		if len(k) < 9 || k[len(k)-9] != 0 {
			a.problemf("ledger key %q is malformed", k)
			return
		}
		holder, seq := k[:len(k)-9], binary.BigEndian.Uint64([]byte(k[len(k)-8:]))
		if holderOf(e) != holder || e.Seq != seq {
			a.problemf("ledger entry stored as %s #%d says %s #%d", holder, seq, holderOf(e), e.Seq)
		}
		byHolder[holder] = append(byHolder[holder], e)
	})
}

// checkLedger checks one holder's entries, in sequence order, and returns
// the sum of each account.
func checkLedger(a *audit, who string, es []reward.Entry, accounts ...string) map[string]int64 {
	sums := map[string]int64{}
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			a.problemf("%s: ledger entry #%d where #%d belongs; the ledger has a gap", who, e.Seq, i+1)
		}
		if !slices.Contains(accounts, e.Account) {
			a.problemf("%s: ledger entry #%d is in account %q", who, e.Seq, e.Account)
			continue
		}
		sums[e.Account] += e.Delta
		if e.Balance != sums[e.Account] {
			a.problemf("%s: ledger entry #%d says balance %d, the entries before it sum to %d", who, e.Seq, e.Balance, sums[e.Account])
		}
	}
	return sums
}
