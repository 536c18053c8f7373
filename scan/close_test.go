package scan_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/store"
)

// heldDB holds the coupon sweep's first scan of the store (reward's
// ExpireCoupons reads the coupons' expiry index, cx/) once armed, until
// release is closed. Webhook delivery, which Close always waited for, and
// every other scan pass.
type heldDB struct {
	store.DB
	once     sync.Once
	armed    chan struct{}
	entered  chan struct{}
	release  chan struct{}
	returned chan struct{}
}

func (d *heldDB) Scan(prefix, start []byte, fn func(k, v []byte) bool) error {
	select {
	case <-d.armed:
	default:
		return d.DB.Scan(prefix, start, fn)
	}
	if !bytes.HasPrefix(prefix, []byte("cx/")) {
		return d.DB.Scan(prefix, start, fn)
	}
	held := false
	d.once.Do(func() { held = true })
	if !held {
		return d.DB.Scan(prefix, start, fn)
	}
	close(d.entered)
	<-d.release
	defer close(d.returned)
	return d.DB.Scan(prefix, start, fn)
}

// TestCloseWaitsForTheBackgroundTasks: the feed's compaction and the coupon
// sweep read the store beside serving; Close returns only once they have
// stopped, since the caller closes the store next (a Pebble store read
// after it closed panics). The coupon sweep's read is the one held.
func TestCloseWaitsForTheBackgroundTasks(t *testing.T) {
	db := &heldDB{DB: newStore(t), armed: make(chan struct{}), entered: make(chan struct{}), release: make(chan struct{}), returned: make(chan struct{})}
	_, srv := bareServer(t, db)
	close(db.armed)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	<-db.entered // a background task is reading the store

	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a background task was still reading the store")
	case <-time.After(200 * time.Millisecond):
		// Close is waiting, as it should; let the task go.
	}
	close(db.release)
	<-closed
	select {
	case <-db.returned:
	default:
		t.Fatal("Close returned before the background task's read did")
	}
}
