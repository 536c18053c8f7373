package reward

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/segmentio/ksuid"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/store"
)

// Options configures an Engine.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Zone is the brand's time zone while its settings name none (see
	// Engine.Zone); nil means DefaultTimeZone. Days already counted stay
	// as counted when the zone changes.
	Zone *time.Location
	// Observe, when set, is told each Event of a decision after the
	// decision is durable, on the goroutine that asked for it. It must be
	// quick and must not call the engine.
	Observe func(Event)
	// NoSeenIndex turns off the index of scanned codes (see LoadSeen):
	// every scan reads the store. An engine whose store has other writers
	// (a second node) must set it: the index knows only this engine's
	// scans, so a code redeemed elsewhere would look never scanned here
	// and pay again.
	NoSeenIndex bool
	// NodeID names this engine among several nodes deciding on one
	// database (PostgreSQL). Set, each campaign's budget and stocks, and
	// each mall reward's stock and voucher list, are escrowed in a slice
	// per node (see escrow.go, rewardescrow.go), so that paying scans and
	// exchanges of different nodes write no record in common; a node stopping
	// cleanly calls ReturnSlices. Empty (one node, Pebble): scans pay
	// from the campaign's counters, as they always did. Give each
	// running node its own; it may not contain a 0 byte.
	NodeID string
}

// Engine applies the reward rules.
type Engine struct {
	db store.DB
	// keys is swapped whole when the keyset file changes (see SetKeys),
	// never modified in place, so verification needs no lock.
	keys atomic.Pointer[codegen.Keyset]
	now  func() time.Time

	observe func(Event)

	// Statistics are summed in memory after each redemption commits and
	// written at most statsEvery later (see countStats).
	statsMu       sync.Mutex
	stats         map[string]*Stat
	statsFlushed  time.Time
	statsFlushing bool
	flushMu       sync.Mutex // one FlushStats at a time

	// zone is the brand's time zone (see Zone); defaultZone the one it
	// falls back to when the settings name none.
	zone        atomic.Pointer[time.Location]
	defaultZone *time.Location

	// node is Options.NodeID: escrow campaign slices when set.
	node string
	// lanes is how many lanes the store decides in (store.Laned): a
	// node keeps a slice per lane (see sliceName).
	lanes int
	// lanesHeld is which lane each member's and code's decisions are on
	// (see enterLane).
	lanesHeld lanesHeld
	// shared is Options.NoSeenIndex: other engines write the same store,
	// so campaign slices may exist even where this engine takes none.
	shared bool
	// ids, when set, names the records the rules create in place of
	// newID's KSUIDs (a preload's, see Preload).
	ids func() string

	frozen  frozen
	members memberCache
	// statusRecords are the batches and campaigns Status read
	// (statusrecords.go).
	statusRecords statusRecords
	brand         brandView
	seen          seenIndex
	feed          feedHead
	// tail is a pointer only so that a test's engines over one store
	// can share it (see ShareFeedTail).
	tail   *feedTail
	relay  relayState
	visits visits
}

// New returns an engine over db that verifies codes with keys.
func New(db store.DB, keys *codegen.Keyset, opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Zone == nil {
		opts.Zone = location(DefaultTimeZone)
	}
	e := &Engine{db: db, now: func() time.Time { return opts.Now().UTC() }, stats: map[string]*Stat{}, defaultZone: opts.Zone, frozen: frozen{m: map[string]frozenEntry{}}, observe: opts.Observe, visits: visits{m: map[string]*pendingVisit{}}}
	e.relay.kick = make(chan struct{}, 1)
	e.tail = &feedTail{}
	e.lanes = store.Lanes(db)
	// A store deciding in several lanes runs this engine's decisions
	// concurrently: the index of scanned codes, which decisions touch
	// with no lock, relies on one decider.
	e.seen.off = opts.NoSeenIndex || e.lanes > 1
	e.node = strings.ReplaceAll(opts.NodeID, "\x00", "")
	e.shared = opts.NoSeenIndex
	e.brand.off = opts.NoSeenIndex
	e.statusRecords.off = opts.NoSeenIndex || opts.NodeID != ""
	// The feed's tail in memory needs one writer on a store that says its
	// decisions run one at a time and run again, if ever, at once
	// (store.Serial; feedtail.go).
	e.tail.on = !opts.NoSeenIndex && e.node == "" && store.IsSerial(db)
	e.members.on = e.tail.on
	e.zone.Store(opts.Zone)
	e.keys.Store(keys)
	return e
}

// Keys returns the keyset the engine verifies and mints with. Treat it as
// read-only: it may be in use by other goroutines.
func (e *Engine) Keys() *codegen.Keyset { return e.keys.Load() }

// SetKeys replaces the keyset, for a server that noticed a rotated or
// retired key: scans after it verify with ks, new batches use its primary.
// ks must not be modified afterwards.
func (e *Engine) SetKeys(ks *codegen.Keyset) { e.keys.Store(ks) }

// newID names a coupon the rules issue: a KSUID, random after its second.
func (e *Engine) newID() string {
	if e.ids != nil {
		return e.ids()
	}
	return ksuid.New().String()
}

// update runs decide inside one store decision and turns storage failures
// into coded errors.
func (e *Engine) update(decide func(tx Tx) error) error { return e.updateIn(-1, nil, decide) }

// updateIn is update on lane of a store that decides in several (see
// store.Laned; -1 lets the store choose), with hints naming what decide
// will probably read, for a store that reads a group's keys in one round
// trip (see store.UpdateReading), and apart what it will probably write,
// for a store that would otherwise make nodes conflict over their
// neighbours (see store.Claimer: a claimed key is one no decision ever
// deletes). hints runs on the lane's decider, as decide does. The decision
// pays from the lane's escrow slices (sliceName).
func (e *Engine) updateIn(lane int, hints store.Hints, decide func(tx Tx) error) error {
	var run *eventTx
	e.brand.warm(e.db)
	if err := e.tail.warm(e); err != nil {
		return wrapStore(err)
	}
	var tail uint64
	err := store.UpdateIn(e.db, lane, hints, func(tx Tx) error {
		// A run starts afresh, but the keys every run touched add up.
		var touched []string
		if run != nil {
			touched = run.touched
		}
		if e.tail.on {
			// A run again starts from the tail the first found: the
			// backend threw the run before away (see feedTail).
			if run == nil {
				tail = e.tail.last.Load()
			} else {
				e.tail.last.Store(tail)
			}
		}
		run = &eventTx{Tx: tx, observe: e.observe != nil, touched: touched, lane: lane, tail: tail, numbering: e.tail.on}
		if e.node != "" {
			run.node, run.relay = e.node, &e.relay
		}
		err := decide(run)
		if err == nil && run.feedSeq > 0 && run.numbering && !run.readFailed {
			e.tail.last.Store(run.feedSeq)
		}
		return err
	})
	// Whatever the answer: a store that failed may still have written.
	if run != nil {
		e.statusRecords.drop(run.touched)
	}
	if err == nil {
		for _, ev := range run.events {
			e.observe(ev)
		}
		if run.feedSeq > 0 {
			// Durable now: readers of the feed may see it.
			e.feed.advance(run.feedSeq)
		}
		if run.pending {
			e.relay.poke()
		}
	}
	return wrapStore(err)
}

func wrapStore(err error) error {
	var re *Error
	switch {
	case err == nil || errors.As(err, &re):
		return err
	case errors.Is(err, store.ErrConflict):
		return &Error{Code: CodeUnavailable, Message: "storage was too busy to decide and wrote nothing; retry later with the same request_id"}
	case errors.Is(err, errOverflow):
		return &Error{Code: CodeAmountOutOfRange, Message: "the payout would take a balance or a campaign's counter out of range; nothing was paid. Check the campaign's amounts"}
	case errors.Is(err, store.ErrBusy):
		return &Error{Code: CodeUnavailable, Message: "the database does not answer for now (a failover?); nothing was done. Retry after the time Retry-After gives", Err: err}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		return &Error{Code: CodeUnavailable, Message: "storage is unavailable and the outcome is not known; retry later with the same request_id, which returns the first answer if it was recorded", Err: err}
	case errors.Is(err, store.ErrCorrupt):
		// Nothing was decided; the records it needs stay unreadable until
		// the operator restores a backup, so a retry does not help.
		return &Error{Code: CodeUnavailable, Message: "stored records this request needs are damaged; nothing was changed. The operator must restore a backup", Err: err}
	case errors.Is(err, ErrRange):
		return &Error{Code: CodeInvalidRequest, Message: strings.TrimPrefix(err.Error(), "reward: ") + "; give serials within the batch", Err: err}
	default:
		// The cause is for the server's log, never for the caller: it
		// names storage internals.
		return &Error{Code: CodeInternal, Message: "internal error", Err: err}
	}
}

// maxID bounds member, guide, region and request ids.
const maxID = 128

// pathIDs are the fields whose ids are one segment of a URL path
// (/v1/members/{member}, /v1/guides/{id}, /v1/campaigns/{id}; an alias is
// looked up as a member): with a "/" in one, its account would be out of
// the API's reach, so it is refused when the id is first used.
var pathIDs = map[string]bool{"member": true, "guide": true, "alias": true, "id": true}

// checkIDs checks each {field, id} as checkID does, in order: the first
// refused is the answer.
func checkIDs(required bool, fields [][2]string) error {
	for _, f := range fields {
		if err := checkID(f[0], f[1], required); err != nil {
			return err
		}
	}
	return nil
}

// checkID validates an identifier a client chose: it ends up inside keys.
func checkID(field, v string, required bool) error {
	if v == "" {
		if required {
			return Errorf(CodeInvalidRequest, "%q is required", field)
		}
		return nil
	}
	if len(v) > maxID {
		return Errorf(CodeInvalidRequest, "%q is longer than %d bytes", field, maxID)
	}
	if !utf8.ValidString(v) {
		return Errorf(CodeInvalidRequest, "%q is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return Errorf(CodeInvalidRequest, "%q contains a control character", field)
		}
	}
	if pathIDs[field] && strings.Contains(v, "/") {
		return Errorf(CodeInvalidRequest, "%q may not contain \"/\": it is part of URL paths such as /v1/members/{member}", field)
	}
	// A URL path segment of "." or ".." is resolved away by browsers and
	// servers alike, so an account by that name could never be read.
	if pathIDs[field] && (v == "." || v == "..") {
		return Errorf(CodeInvalidRequest, "%q may not be %q: it is part of URL paths such as /v1/members/{member}", field, v)
	}
	return nil
}

// verify checks a code's signature: pure CPU, before any storage read.
func (e *Engine) verify(code string) (codegen.Parsed, error) {
	p, err := e.Keys().Verify(code)
	if err == nil {
		return p, nil
	}
	var ce *codegen.Error
	if errors.As(err, &ce) && ce.Reason == codegen.ReasonRetiredKey {
		return p, &Error{Code: CodeKeyRetired, Message: "this code's signing key was retired by the brand; the code is no longer honoured"}
	}
	return p, &Error{Code: CodeInvalidCode, Message: "not a genuine code: " + ce.Detail, Details: map[string]any{"reason": string(ce.Reason)}}
}
