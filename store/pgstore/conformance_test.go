package pgstore_test

import (
	"fmt"
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
	"github.com/yima-dev/yima/store/storetest"
)

// TestConformance holds the backend to the store contract, with one lane
// and with several (decisions sent to the lane the backend chooses: see
// anyLane). The
// crash and fault properties copy and break a disk the backend keeps;
// PostgreSQL keeps its own, so they are skipped, and the faults that are
// this backend's (a connection lost before or during COMMIT, a conflict
// with another node) have tests of their own in pgstore_test.go.
func TestConformance(t *testing.T) {
	for _, lanes := range []int{1, 4} {
		t.Run(fmt.Sprintf("lanes=%d", lanes), func(t *testing.T) {
			storetest.Run(t, storetest.Backend{
				Open: func(tb testing.TB) store.DB { return anyLane{pgtest.Open(tb, &pgstore.Options{Lanes: lanes})} },
			})
		})
	}
}

// anyLane sends every decision to the lane the backend chooses (the one
// with the fewest queued), where Update would send it to lane 0, so that
// the suite's concurrent decisions run in several lanes at once.
type anyLane struct{ *pgstore.DB }

func (db anyLane) Update(fn func(store.Tx) error) error { return db.UpdateIn(-1, nil, fn) }

func (db anyLane) UpdateReading(keys func() [][]byte, fn func(store.Tx) error) error {
	return db.UpdateIn(-1, func() (reads, claims [][]byte) { return keys(), nil }, fn)
}

func (db anyLane) UpdateClaiming(hints store.Hints, fn func(store.Tx) error) error {
	return db.UpdateIn(-1, hints, fn)
}
