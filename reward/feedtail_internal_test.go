package reward

import (
	"slices"
	"testing"
	"time"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/memstore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// TestRefusedDecisionGivesItsNumberBack: a single writer keeps the feed's
// tail in memory, and a decision refused after it recorded an event gives
// the event's number back, as does a run a backend throws away to run the
// decision again: the next event takes it, and the feed has no gap.
func TestRefusedDecisionGivesItsNumberBack(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) store.DB
	}{
		{"pebble", func(t *testing.T) store.DB { return pebbletest.Open(t, nil) }},
		{"memory, every decision run twice", func(t *testing.T) store.DB {
			db := memstore.New(memstore.Options{Retry: true})
			t.Cleanup(func() { db.Close() })
			return db
		}},
	}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			db := s.open(t)
			e := New(db, nil, Options{})
			if !e.tail.on {
				t.Fatal("the engine keeps the feed's head in the store")
			}
			event := func(n int, refuse bool) error {
				return e.update(func(tx Tx) error {
					if err := record(tx, FeedFlagRaised, at, map[string]int{"n": n}); err != nil {
						return err
					}
					if refuse {
						return Errorf(CodeInvalidRequest, "refused")
					}
					return nil
				})
			}
			for i, refuse := range []bool{false, true, true, false, true, false} {
				if err := event(i, refuse); (err != nil) != refuse {
					t.Fatalf("decision %d: %v", i, err)
				}
			}
			var seqs []uint64
			if err := ReadFeed(db, func(ev FeedEvent) error { seqs = append(seqs, ev.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			if want := []uint64{1, 2, 3}; !slices.Equal(seqs, want) {
				t.Fatalf("the feed holds events %v, want %v", seqs, want)
			}
			if head, err := e.feedHeadSeq(); err != nil || head != 3 {
				t.Fatalf("the feed's head is %d (%v), want 3", head, err)
			}
			if _, found, err := db.Get(feedHeadKey); err != nil || found {
				t.Fatalf("a single writer wrote the head record (%v)", err)
			}
			// A decision run again that refuses the second time (what it
			// read changed): the first run's number is given back too.
			runs := 0
			err := e.update(func(tx Tx) error {
				runs++
				if err := record(tx, FeedFlagRaised, at, map[string]int{"run": runs}); err != nil {
					return err
				}
				if runs == 2 {
					return Errorf(CodeInvalidRequest, "refused")
				}
				return nil
			})
			if err := event(9, false); err != nil {
				t.Fatal(err)
			}
			want := uint64(5)
			if runs == 2 {
				want = 4
			}
			if head, _ := e.feedHeadSeq(); (runs == 2) != (err != nil) || head != want {
				t.Fatalf("after a decision run %d times (%v) and one more event, the feed's head is %d, want %d", runs, err, head, want)
			}
		})
	}
}
