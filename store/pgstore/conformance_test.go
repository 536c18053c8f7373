package pgstore_test

import (
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
	"github.com/yima-dev/yima/store/storetest"
)

// TestConformance holds the backend to the store contract. The crash and
// fault properties copy and break a disk the backend keeps; PostgreSQL
// keeps its own, so they are skipped, and the faults that are this
// backend's (a connection lost before or during COMMIT, a conflict with
// another node) have tests of their own in pgstore_test.go.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(tb testing.TB) store.DB { return pgtest.Open(tb, nil) },
	})
}
