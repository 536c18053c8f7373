package reward

import (
	"bytes"
	"sync"
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/memstore"
)

// heldGets is a store whose Get of key, once armed, answers and then waits
// until the test lets it go on: the test decides in between.
type heldGets struct {
	store.DB
	key    []byte
	mu     sync.Mutex
	read   chan struct{} // closed when a held Get has its answer
	resume chan struct{}
}

func (h *heldGets) arm() (read, resume chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.read, h.resume = make(chan struct{}), make(chan struct{})
	return h.read, h.resume
}

func (h *heldGets) Get(key []byte) ([]byte, bool, error) {
	v, found, err := h.DB.Get(key)
	h.mu.Lock()
	read, resume := h.read, h.resume
	if bytes.Equal(key, h.key) {
		h.read = nil
	}
	h.mu.Unlock()
	if read != nil && bytes.Equal(key, h.key) {
		close(read)
		<-resume
	}
	return v, found, err
}

// TestStatusRecordsRaceADecision: a status that read a campaign before a
// decision changed it, and comes to keep it only after the decision was
// acknowledged, must not keep it: the next status would show the old
// campaign for as long as the entry lives.
func TestStatusRecordsRaceADecision(t *testing.T) {
	db := &heldGets{DB: memstore.New(memstore.Options{}), key: campaignKey("spring")}
	e := New(db, nil, Options{})
	set := func(name string) {
		t.Helper()
		if err := e.update(func(tx Tx) error { putJSON(tx, campaignKey("spring"), Campaign{ID: "spring", Name: name}); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	read := func() string {
		t.Helper()
		c, found, err := readStatusRecord[Campaign](e, campaignKey("spring"), "campaign")
		if err != nil || !found {
			t.Fatalf("campaign: %v %v", found, err)
		}
		return c.Name
	}
	set("old")
	held, resume := db.arm()
	done := make(chan string)
	go func() {
		c, _, _ := readStatusRecord[Campaign](e, campaignKey("spring"), "campaign")
		done <- c.Name
	}()
	<-held
	set("new") // acknowledged while the read above holds the old record
	close(resume)
	if name := <-done; name != "old" {
		t.Fatalf("the held read: %q, want the old record it read", name)
	}
	if name := read(); name != "new" {
		t.Errorf("a status after the change: campaign %q, want new", name)
	}
}
