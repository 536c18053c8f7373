package memstore_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/memstore"
	"github.com/yima-dev/yima/store/storetest"
)

func backend(opts memstore.Options) storetest.Backend {
	return storetest.Backend{
		Open: func(testing.TB) store.DB { return memstore.New(opts) },
		Disk: func(testing.TB) storetest.Disk { return disk{memstore.NewDisk(opts)} },
	}
}

type disk struct{ d *memstore.Disk }

func (d disk) Open(testing.TB) store.DB        { return d.d.Open() }
func (d disk) Crash(testing.TB) storetest.Disk { return disk{d.d.Crash()} }
func (d disk) Break()                          { d.d.Break() }

func TestConformance(t *testing.T) { storetest.Run(t, backend(memstore.Options{})) }

// TestConformanceRetrying: a backend that runs each decision twice is as
// sound as one that runs it once.
func TestConformanceRetrying(t *testing.T) { storetest.Run(t, backend(memstore.Options{Retry: true})) }

// catchers names, for each flaw, the property that must catch it.
var catchers = map[memstore.Flaw]string{
	memstore.ForgetsOwnWrites:    "ReadYourWrites",
	memstore.ReadsStale:          "DecisionsSeeEarlierDecisions",
	memstore.KeepsRefused:        "RefusedDecisionLeavesNoTrace",
	memstore.Tears:               "DecisionIsAtomic",
	memstore.LeakySnapshot:       "SnapshotIsolates",
	memstore.Unordered:           "ScanInKeyOrder",
	memstore.ReverseForward:      "ScanReverseInKeyOrder",
	memstore.IgnoresStart:        "ScanInKeyOrder",
	memstore.AddOverwrites:       "AddIsCommutative",
	memstore.EmptyIsAbsent:       "AbsenceIsNotAnError",
	memstore.WorksAfterClose:     "ClosedStoreRefuses",
	memstore.AcksBeforeDisk:      "AcknowledgedSurvivesCrash",
	memstore.AcksOnBrokenDisk:    "FailedDiskFailsClosed",
	memstore.SharesValues:        "ReadsBelongToTheCaller",
	memstore.ReadsAheadEarly:     "ReadsAheadSeeTheGroup",
	memstore.DecidesConcurrently: "SerialDecidesOneAtATime",
}

// TestSuiteCatchesEachFlaw runs the suite against a store that breaks one
// promise at a time: the property about that promise must fail. A suite
// that passed a broken store would prove nothing about a sound one.
func TestSuiteCatchesEachFlaw(t *testing.T) {
	for _, flaw := range memstore.Flaws {
		t.Run(flaw.String(), func(t *testing.T) {
			name, ok := catchers[flaw]
			if !ok {
				t.Fatalf("no property is named to catch %v", flaw)
			}
			b := backend(memstore.Options{Flaw: flaw})
			var caught []string
			for _, p := range storetest.Properties {
				r := check(t, p, b)
				if r.failed {
					caught = append(caught, p.Name)
				}
				if p.Name == name {
					if !r.failed {
						t.Errorf("%s passed a store that %v", name, flaw)
					} else {
						t.Logf("%s caught it: %s", name, r.msgs[0])
					}
				}
			}
			t.Logf("failing properties: %s", strings.Join(caught, ", "))
		})
	}
}

// recorder is a testing.TB that records failures instead of failing the
// test it runs in, and ends the check's goroutine on Fatal as testing does.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	msgs     []string
	cleanups []func()
}

func (r *recorder) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, msg)
}

func (r *recorder) Helper()                           {}
func (r *recorder) Error(args ...any)                 { r.fail(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }
func (r *recorder) Fail()                             { r.fail("Fail") }
func (r *recorder) FailNow()                          { r.fail("FailNow"); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.fail(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) Skip(...any)          { runtime.Goexit() }
func (r *recorder) Skipf(string, ...any) { runtime.Goexit() }
func (r *recorder) SkipNow()             { runtime.Goexit() }
func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func check(t *testing.T, p storetest.Property, b storetest.Backend) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Check(r, b)
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r
}
