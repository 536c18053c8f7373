package pgstore_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// TestLanesOverlap: the groups of different lanes are in flight at once.
// One decision per lane reads (its group's transaction begins), then waits
// until every lane's decision has read: with one group at a time the
// first would wait for ever, so the wait is bounded and fails the test.
// The store's counters must then show every lane's group in flight at
// once, each committed.
func TestLanesOverlap(t *testing.T) {
	const lanes = 4
	db := pgtest.Open(t, &pgstore.Options{Lanes: lanes})
	var started atomic.Int32
	all := make(chan struct{})
	var wg sync.WaitGroup
	for i := range lanes {
		wg.Go(func() {
			k := fmt.Appendf(nil, "lane%d", i)
			first := true
			err := db.UpdateIn(i, nil, func(tx store.Tx) error {
				if _, _, err := tx.Get(k); err != nil {
					return err
				}
				if first { // a decision may run more than once
					first = false
					if started.Add(1) == lanes {
						close(all)
					}
				}
				select {
				case <-all:
				case <-time.After(time.Minute):
					return errors.New("the other lanes' groups never began: one group at a time")
				}
				tx.Put(k, []byte("done"))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := db.Stats()
	if st.Lanes != lanes || st.MaxInFlight < lanes || st.Groups < lanes || st.Decisions < lanes {
		t.Errorf("counters %+v: want %d lanes, %d groups in flight at once, at least %d groups and decisions", st, lanes, lanes, lanes)
	}
}

// TestLanesRace runs many decisions at once, over the lanes of two nodes,
// that claim the same codes, pay from one budget and one stock, and credit
// the same members: every lane's groups conflict with the others' as two
// nodes' do, and every conflict must run again, never lose a write nor
// let a code pay twice or a budget or stock go below zero.
func TestLanesRace(t *testing.T) {
	dsn := pgtest.Migrated(t)
	var nodes []*pgstore.DB
	for range 2 {
		db, err := pgstore.Open(dsn, &pgstore.Options{Lanes: 3, MaxConflicts: 1000})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		nodes = append(nodes, db)
	}
	const (
		codes, members   = 40, 5
		budget, stock    = 300, 25 // less than the codes would pay
		cost             = 10
		workers, perWork = 24, 12
	)
	counter := func(tx store.Tx, k string) (int64, error) {
		v, found, err := tx.Get([]byte(k))
		if err != nil || !found {
			return 0, err
		}
		n, _ := store.Counter(v)
		return n, nil
	}
	if err := nodes[0].Update(func(tx store.Tx) error {
		tx.Put([]byte("budget"), store.AppendCounter(nil, budget))
		tx.Put([]byte("stock"), store.AppendCounter(nil, stock))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused")
	var won [codes]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			db := nodes[w%2]
			for i := range perWork {
				code, member := (w*7+i*3)%codes, fmt.Sprintf("member/%d", (w+i)%members)
				claim := func(tx store.Tx) error {
					if _, found, err := tx.Get(fmt.Appendf(nil, "code/%d", code)); err != nil || found {
						return cmpErr(err, errRefused)
					}
					b, err := counter(tx, "budget")
					if err != nil {
						return err
					}
					s, err := counter(tx, "stock")
					if err != nil {
						return err
					}
					if b < cost || s < 1 {
						return errRefused
					}
					bal, err := counter(tx, member)
					if err != nil {
						return err
					}
					tx.Put(fmt.Appendf(nil, "code/%d", code), []byte(member))
					tx.Put([]byte("budget"), store.AppendCounter(nil, b-cost))
					tx.Put([]byte("stock"), store.AppendCounter(nil, s-1))
					tx.Put([]byte(member), store.AppendCounter(nil, bal+cost))
					tx.Add([]byte("paid"), cost)
					return nil
				}
				// Half go to the lane of their member, half where the
				// node chooses.
				lane := -1
				if i%2 == 0 {
					lane = (w + i) % members % 3
				}
				switch err := db.UpdateIn(lane, nil, claim); {
				case err == nil:
					won[code].Add(1)
				case !errors.Is(err, errRefused):
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	get := func(k string) int64 {
		v, _, err := nodes[1].Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := store.Counter(v)
		return n
	}
	var wins, balances int64
	for c := range codes {
		n := won[c].Load()
		_, found, err := nodes[0].Get(fmt.Appendf(nil, "code/%d", c))
		if err != nil {
			t.Fatal(err)
		}
		if n > 1 || found != (n == 1) {
			t.Errorf("code %d: %d answers won it, its record found: %v", c, n, found)
		}
		wins += int64(n)
	}
	for m := range members {
		balances += get(fmt.Sprintf("member/%d", m))
	}
	b, s, paid := get("budget"), get("stock"), get("paid")
	if b < 0 || s < 0 || b != budget-wins*cost || s != stock-wins || paid != wins*cost || balances != paid {
		t.Errorf("%d wins: budget %d, stock %d, paid %d, members' balances %d", wins, b, s, paid, balances)
	}
	if wins != min(budget/cost, stock, codes) {
		t.Errorf("%d codes won, want %d: the budget and stock ran out, or every code was won", wins, min(budget/cost, stock, codes))
	}
	for i, db := range nodes {
		t.Logf("node %d: %+v", i, db.Stats())
	}
}

// cmpErr returns err, or else alt.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}
