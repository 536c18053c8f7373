package rewardtest

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

// ReadCounter is a store that counts the reads its decisions make of the
// keys it was asked to watch: how a test shows that a rule reads a record
// only where it must.
type ReadCounter struct {
	store.DB
	watch func(key []byte) bool
	n     atomic.Int64
}

// CountReads wraps db, counting the reads of each key watch accepts.
func CountReads(db store.DB, watch func(key []byte) bool) *ReadCounter {
	return &ReadCounter{DB: db, watch: watch}
}

// Reads is how many reads of watched keys decisions made so far.
func (d *ReadCounter) Reads() int64 { return d.n.Load() }

// Serial is store.Serial's: the wrapper keeps the decisions in their order.
func (d *ReadCounter) Serial() bool { return store.IsSerial(d.DB) }

func (d *ReadCounter) Update(fn func(store.Tx) error) error {
	return d.DB.Update(func(tx store.Tx) error { return fn(&countedTx{Tx: tx, d: d}) })
}

type countedTx struct {
	store.Tx
	d *ReadCounter
}

func (tx *countedTx) Get(key []byte) ([]byte, bool, error) {
	if tx.d.watch(key) {
		tx.d.n.Add(1)
	}
	return tx.Tx.Get(key)
}

// Workers hands the jobs 0 to jobs-1, in order, to n goroutines that run
// do at once, and returns when every job is done: a burst of concurrent
// requests whose decisions the store groups as it likes.
func Workers(n, jobs int, do func(job int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for j := range work {
				do(j)
			}
		})
	}
	for j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
}

// Race runs do(0) … do(n-1) at once and counts their answers: won, those
// that succeeded, and refused, those refused with the code lost. Any other
// answer fails the test.
func Race(tb testing.TB, n int, lost reward.Code, do func(i int) error) (won, refused int) {
	tb.Helper()
	var wins, refusals atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch err := do(i); reward.ErrorCode(err) {
			case "":
				wins.Add(1)
			case lost:
				refusals.Add(1)
			default:
				tb.Errorf("%d of %d at once: %v", i, n, err)
			}
		})
	}
	wg.Wait()
	return int(wins.Load()), int(refusals.Load())
}
