package storetest

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/yima-dev/yima/store"
)

// serial checks the promise of store.Serial, for a backend that makes it:
// decisions never overlap, and a run thrown away is run again before the
// next decision starts. Each decision moves a number kept in memory, as
// the engine's feed tail is moved, starting every run again from where
// its first run found it; a decision that ran beside another, or a run
// again after another decision moved the number, loses a move.
func serial(tb testing.TB, b Backend) {
	db := open(tb, b)
	if !store.IsSerial(db) {
		tb.Skip("the backend does not say it is Serial")
	}
	const workers, each = 8, 50
	var (
		moved             atomic.Int64 // read and written, never added to
		inside            atomic.Int32
		overlapped, again atomic.Bool
	)
	key := []byte("moved")
	Concurrently(tb, workers, each, func(w, i int) error {
		var from int64
		runs := 0
		return db.Update(func(tx store.Tx) error {
			if inside.Add(1) != 1 {
				overlapped.Store(true)
			}
			defer inside.Add(-1)
			// Let another goroutine run here: on a store that is not
			// Serial, it may start a decision now.
			runtime.Gosched()
			if runs++; runs == 1 {
				from = moved.Load()
			} else {
				again.Store(true)
			}
			moved.Store(from + 1)
			tx.Put(key, store.AppendCounter(nil, from+1))
			return nil
		})
	})
	if overlapped.Load() {
		tb.Error("two decisions ran at once on a store that says it is Serial")
	}
	want := int64(workers * each)
	if n := counter(tb, db, string(key)); n != want || moved.Load() != want {
		tb.Errorf("after %d decisions that each moved a number kept in memory, the store holds %d and memory %d "+
			"(runs again: %v): a decision went on from memory another decision had moved", want, n, moved.Load(), again.Load())
	}
}
