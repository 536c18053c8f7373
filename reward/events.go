package reward

// Event is one thing a decision did, told to Options.Observe once the
// decision is durable, and never for a decision that was dropped or
// refused whole. It is for metrics: a count of what happened, not a
// record of it (the ledger and the flags are the records).
type Event struct {
	Kind string // one of the Event constants
	// Flag is the kind of flag an EventFlagged raised (FlagDiverted,
	// FlagManyScanners).
	Flag string
	// Points is what the event moved: paid by a redemption, taken by a
	// spend.
	Points int64
}

// Event kinds.
const (
	// EventRedeemed is a code's first and only redemption (API or page).
	EventRedeemed = "redeemed"
	// EventReplayed is a retry with a request_id answered from the first
	// answer: nothing was paid again.
	EventReplayed = "replayed"
	// EventCouponIssued is a gift coupon issued with a redemption.
	EventCouponIssued = "coupon_issued"
	// EventCouponVerified is a coupon verified at the counter.
	EventCouponVerified = "coupon_verified"
	// EventSpent is points taken from a member's balance.
	EventSpent = "spent"
	// EventFlagged is a scan put up for review.
	EventFlagged = "flagged"
)

// eventTx is the Tx every decision of the engine runs with: it collects
// the decision's events while Options.Observe is set, which update hands
// on only after the decision is durable, and the keys it writes of records
// Status keeps in memory. A Tx of its own per run, because a backend may
// run a decision more than once and only the run it keeps counts. The
// keys are handed on from run to run: dropping a kept record no run ended
// up writing costs one read.
type eventTx struct {
	Tx
	observe bool
	events  []Event
	// feedSeq is the last feed sequence the run wrote (see record).
	feedSeq uint64
	// tail, where the engine keeps the feed's tail in memory (feedtail.go),
	// is the last number given before this run's events; numbering says
	// it is kept so. readFailed says a read of the run failed: the store
	// drops such a run whatever it returns, so its numbers are not kept.
	tail       uint64
	numbering  bool
	readFailed bool
	// touched collects, over every run of the decision, the keys it
	// wrote that Status keeps in memory (see statusRecords).
	touched []string
	// relay is set on a node of a shared database: events are written
	// pending under node's keys (see relay.go); pending says some were.
	relay   *relayState
	node    string
	pending bool
	// lane is the store's lane the decision runs on, -1 when the store
	// chose it (see Engine.updateIn).
	lane int
}

func (t *eventTx) Get(key []byte) ([]byte, bool, error) {
	v, found, err := t.Tx.Get(key)
	if err != nil {
		t.readFailed = true
	}
	return v, found, err
}

func (t *eventTx) Put(key, value []byte) { t.touch(key); t.Tx.Put(key, value) }
func (t *eventTx) Delete(key []byte)     { t.touch(key); t.Tx.Delete(key) }
func (t *eventTx) Add(key []byte, n int64) {
	t.touch(key)
	t.Tx.Add(key, n)
}

func (t *eventTx) touch(key []byte) {
	if isStatusRecord(key) {
		t.touched = append(t.touched, string(key))
	}
}

// emit notes ev for the decision tx runs; without an observer it does
// nothing.
func emit(tx Tx, ev Event) {
	if et, ok := tx.(*eventTx); ok && et.observe {
		et.events = append(et.events, ev)
	}
}
