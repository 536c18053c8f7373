package reward_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
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
	"github.com/yima-dev/yima/store/pebblestore"
)

// walOps matches operations of the given kinds on WAL files.
type walOps []errorfs.OpKind

func (k walOps) String() string { return fmt.Sprintf("(WAL %v)", []errorfs.OpKind(k)) }
func (k walOps) Evaluate(op errorfs.Op) bool {
	return strings.HasSuffix(op.Path, ".log") && slices.Contains(k, op.Kind)
}

// fromNth is true from its nth evaluation on: a disk that stays broken.
type fromNth struct{ left atomic.Int64 }

func newFromNth(n int64) *fromNth {
	p := &fromNth{}
	p.left.Store(n)
	return p
}
func (p *fromNth) String() string           { return fmt.Sprintf("(FromNth %d)", p.left.Load()) }
func (p *fromNth) Evaluate(errorfs.Op) bool { return p.left.Add(-1) < 0 }

var (
	walWrites = walOps{errorfs.OpFileWrite, errorfs.OpFileWriteAt}
	walSyncs  = walOps{errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo}
)

// TestWALFaultsFailClosed breaks the disk under the WAL while scans are in
// flight, and checks that the store fails closed without lying:
//
//   - no scan is answered as redeemed unless its commit reached the disk:
//     every redemption acknowledged, and every code answered
//     already_redeemed, is there when the store is reopened on what was
//     synced before the fault (a CrashClone keeping only synced data);
//   - once a client has been told unavailable, it is never told anything
//     else: the store does not heal behind a failed commit;
//   - after the fault every scan, status and member read answers
//     unavailable, OnFail fires once, and Close returns;
//   - reopened on the synced data, and on everything written including what
//     was never synced, the audit finds no partial commit.
//
// Faults: writes or syncs of WAL files failing from the nth on (a dead
// disk), failing once (a transient error: Pebble's WAL writer keeps the
// first error, so the store must not recover from it either), and failing
// at random.
func TestWALFaultsFailClosed(t *testing.T) {
	// Scans by workers goroutines, each scans long, of codes codes.
	type load struct{ workers, each, codes int }
	calm, burst := load{6, 25, 60}, load{48, 3, 150}
	for _, c := range []struct {
		name string
		inj  func(seed uint64) errorfs.Injector
		// sure is set when the fault is bound to fire.
		sure bool
		load load
	}{
		{"writes fail from the nth", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walWrites, newFromNth(int64(seed*3))))
		}, true, calm},
		{"syncs fail from the nth", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walSyncs, newFromNth(int64(seed*3))))
		}, true, calm},
		{"one write fails", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walWrites, errorfs.OnIndex(int32(seed*4))))
		}, true, calm},
		{"one sync fails", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walSyncs, errorfs.OnIndex(int32(seed*4))))
		}, true, calm},
		{"writes fail at random", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walWrites, errorfs.Randomly(0.05, int64(seed))))
		}, false, calm},
		{"syncs fail at random", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walSyncs, errorfs.Randomly(0.05, int64(seed))))
		}, false, calm},
		// Many decisions per commit, each crossing WAL blocks, and few
		// commits: the fault comes early. The store must stop applying
		// before Pebble's WAL writer meets its own error, or Pebble panics
		// in commitWrite.
		{"writes fail under a burst", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walWrites, newFromNth(int64(seed-1))))
		}, true, burst},
		{"syncs fail under a burst", func(seed uint64) errorfs.Injector {
			return errorfs.ErrInjected.If(errorfs.And(walSyncs, newFromNth(int64(seed-1))))
		}, true, burst},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", c.name, seed), func(t *testing.T) {
				runFault(t, seed, c.inj(seed), c.sure, c.load.workers, c.load.each, c.load.codes)
			})
		}
	}
}

// faultDeadline bounds each step that a hung store would never finish.
const faultDeadline = 10 * time.Second

func runFault(t *testing.T, seed uint64, inj errorfs.Injector, sure bool, workers, each, ncodes int) {
	rng := rand.New(rand.NewPCG(seed, 0xfa017))
	mem := vfs.NewCrashableMem()
	fired := &errorfs.Counter{Injector: inj}
	var rotations atomic.Int32
	toggle := &errorfs.Toggle{Injector: errorfs.Any(fired, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if (op.Kind == errorfs.OpCreate || op.Kind == errorfs.OpReuseForWrite) && strings.HasSuffix(op.Path, ".log") {
			rotations.Add(1)
		}
		return nil
	}))}
	var failures atomic.Int32
	failed := make(chan error, 1)
	db, err := pebblestore.Open("db", &pebblestore.Options{
		FS: errorfs.Wrap(mem, toggle),
		OnFail: func(err error) {
			failures.Add(1)
			failed <- err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ks := rewardtest.Keys(t, false)
	now := rewardtest.Start
	clock := func() time.Time { return now }
	eng := reward.New(db, ks, reward.Options{Now: clock})
	b, err := eng.CreateBatch(reward.BatchSpec{Product: "SKU", Count: uint32(ncodes), Points: new(1 + rng.Int64N(50)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := eng.Signer(b)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, 0, b.Count)
	for serial := uint32(1); serial <= b.Count; serial++ {
		codes = append(codes, s.Code(serial))
	}
	plans := make([][]reward.ScanRequest, workers)
	for w := range plans {
		for i := range each {
			req := reward.ScanRequest{Code: codes[rng.IntN(len(codes))], Member: fmt.Sprintf("m%d", rng.IntN(8))}
			if rng.IntN(3) == 0 {
				req.RequestID = fmt.Sprintf("w%d-%d", w, i)
			}
			plans[w] = append(plans[w], req)
		}
	}

	toggle.On()
	var (
		mu   sync.Mutex
		acks []ack
		down atomic.Int32 // scans answered unavailable
		wg   sync.WaitGroup
	)
	for w, plan := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refused := false
			for _, req := range plan {
				raw, err := eng.Scan(req)
				a := ack{code: req.Code, member: req.Member}
				switch c := reward.ErrorCode(err); {
				case c == reward.CodeUnavailable:
					refused = true
					down.Add(1)
					continue
				case refused:
					t.Errorf("worker %d: after an unavailable, scan %s answered %v: the store healed behind a failed commit", w, req.Code, c)
					continue
				case c == "":
					var res reward.ScanResult
					if err := json.Unmarshal(raw, &res); err != nil {
						t.Errorf("answer %s: %v", raw, err)
					}
					a.redeemed, a.points, a.balance = true, res.Points, res.Balance
				case c == reward.CodeAlreadyRedeemed:
				default:
					t.Errorf("scan %s by %s: %v", req.Code, req.Member, err)
					continue
				}
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
			}
		}()
	}
	within(t, "the scans", wg.Wait)

	if rotations.Load() > 0 {
		// Pebble v2.1.7 cannot survive a WAL fault while it switches WALs
		// (rotateWAL panics with DB.mu released: "unlock of unlocked
		// mutex", a fatal error that kills the test binary). Keep the
		// scenario within the first memtable (256 KiB).
		t.Fatalf("the scans outgrew the first WAL (%d new WAL files); shrink the scenario so that a fault cannot strike during a WAL rotation", rotations.Load())
	}
	n := fired.Load()
	t.Logf("%s: %d errors injected; %d answers, %d unavailable", inj, n, len(acks), down.Load())
	switch {
	case n == 0 && sure:
		t.Fatalf("%s never fired; the case tests nothing", inj)
	case n == 0:
		if down.Load() > 0 || db.Err() != nil {
			t.Fatalf("no fault was injected, yet the store failed: %v", db.Err())
		}
	default:
		checkFailedClosed(t, eng, db, codes, failed, &failures)
	}
	within(t, "Close", func() { db.Close() })

	// Reopen on what a restart would find: only synced data, then
	// everything written, synced or not. Neither may show half a commit.
	for _, pct := range []int{0, 100} {
		clone := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(seed, 1))})
		rdb, err := pebblestore.Open("db", &pebblestore.Options{FS: clone})
		if err != nil {
			t.Fatalf("reopening (%d%% of unsynced data): %v", pct, err)
		}
		aud, err := auditRecords(rdb)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := reward.Audit(rdb)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range slices.Concat(aud.Problems, checkAcks(aud, acks), rep.Violations) {
			t.Errorf("reopened with %d%% of unsynced data: %s", pct, p)
		}
		if pct == 100 {
			t.Logf("%d redemptions on disk, %d acknowledged", len(aud.Redemptions), countRedeemed(acks))
		}
		if err := rdb.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFailedClosed checks a store after a fault: every call answers
// unavailable, and OnFail fired exactly once.
func checkFailedClosed(t *testing.T, eng *reward.Engine, db *pebblestore.DB, codes []string, failed chan error, failures *atomic.Int32) {
	t.Helper()
	if err := db.Err(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("after the fault the store reports %v, want ErrUnavailable", err)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, errorfs.ErrInjected) && !strings.Contains(err.Error(), "injected error") {
			t.Errorf("OnFail got %v, want the injected error", err)
		}
	case <-time.After(faultDeadline):
		t.Fatal("the store failed but OnFail was not called")
	}
	time.Sleep(10 * time.Millisecond)
	if n := failures.Load(); n != 1 {
		t.Errorf("OnFail was called %d times, want once", n)
	}
	for _, code := range []string{codes[0], codes[len(codes)-1]} {
		within(t, "a scan after the fault", func() {
			if _, err := eng.Scan(reward.ScanRequest{Code: code, Member: "late"}); reward.ErrorCode(err) != reward.CodeUnavailable {
				t.Errorf("scan after the fault: %v, want %s", err, reward.CodeUnavailable)
			}
		})
	}
	if _, err := eng.Status(codes[0]); reward.ErrorCode(err) != reward.CodeUnavailable {
		t.Errorf("status after the fault: %v, want %s", err, reward.CodeUnavailable)
	}
	if _, err := eng.Member("m0", "", 10); reward.ErrorCode(err) != reward.CodeUnavailable {
		t.Errorf("member read after the fault: %v, want %s", err, reward.CodeUnavailable)
	}
}

func countRedeemed(acks []ack) (n int) {
	for _, a := range acks {
		if a.redeemed {
			n++
		}
	}
	return n
}

// within runs fn and fails the test with every goroutine's stack if it has
// not returned by faultDeadline: a hung store is a failure, not a timeout.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(faultDeadline):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s did not return within %s: the store hangs\n%s", what, faultDeadline, buf)
	}
}
