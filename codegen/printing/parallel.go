package printing

import (
	"context"
	"sync"

	"github.com/yima-dev/yima/codegen"
)

// newSigners returns one Signer per worker: a Signer keeps hash state and
// is not shared between goroutines. Version 0 is codegen.MintVersion.
func newSigners(ks *codegen.Keyset, version, key uint8, batch uint32, workers int) ([]*codegen.Signer, error) {
	if version == 0 {
		version = codegen.MintVersion
	}
	signers := make([]*codegen.Signer, workers)
	for i := range signers {
		s, err := ks.VersionSigner(version, key, batch)
		if err != nil {
			return nil, err
		}
		signers[i] = s
	}
	return signers, nil
}

// inOrder computes produce(worker, k) for k in 0..total-1 on workers
// goroutines and hands the results back in order of k. Item k is made by
// worker k % workers and comes back on that worker's queue, so next visits
// the queues in turn: no reordering buffer, and at most depth results
// waiting per worker. next returns ctx's error once ctx is done; stop ends
// the workers and waits for them, and must be called once.
func inOrder[T any](ctx context.Context, total uint64, workers, depth int, produce func(worker int, k uint64) T) (next func() (T, error), stop func()) {
	queues := make([]chan T, workers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		queues[i] = make(chan T, depth)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := uint64(i); k < total; k += uint64(workers) {
				select {
				case queues[i] <- produce(i, k):
				case <-done:
					return
				}
			}
		}()
	}
	var k uint64
	next = func() (T, error) {
		var zero T
		// Checked first: a cancelled export stops even while results are
		// ready.
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		select {
		case v := <-queues[k%uint64(workers)]:
			k++
			return v, nil
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
	return next, func() { close(done); wg.Wait() }
}
