package reward

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/yima-dev/yima/store"
)

// The feed is a transactional outbox: every change a brand's systems care
// about (a CRM, a data warehouse, a message to the consumer) is written as
// a FeedEvent by the very decision that makes the change, so that a crash
// keeps both or neither. Events are numbered after the feed's tail, the
// last number given: a decision that is refused, dropped or run again (a
// backend may retry one) leaves the tail as it found it, so the numbers
// have no gaps and no repeats on every backend. A store's single writer
// keeps the tail in memory; other engines read and write it as a counter
// record in the same decision (feedtail.go). On a shared database
// (Options.NodeID) that counter would make every decision of the cluster
// conflict: there the events wait unnumbered for the relay, which numbers
// them the same way in decisions of its own (relay.go).
//
// Readers see an event only once its decision is durable (see feedHead):
// an event whose decision is still waiting for its sync could vanish in a
// crash, and its number be given to another event.

// Feed event types. The body of each is documented in docs/openapi.yaml
// (FeedEvent); FeedVersion is its version.
const (
	FeedCodeRedeemed       = "code.redeemed"
	FeedScanRefused        = "scan.refused"
	FeedRedemptionVoided   = "redemption.voided"
	FeedPointsEarned       = "points.earned"
	FeedPointsSpent        = "points.spent"
	FeedPointsAdjusted     = "points.adjusted"
	FeedPointsVoided       = "points.voided"
	FeedPointsExpired      = "points.expired"
	FeedGrowthEarned       = "growth.earned"
	FeedGrowthVoided       = "growth.voided"
	FeedCommissionEarned   = "commission.earned"
	FeedCommissionVoided   = "commission.voided"
	FeedCommissionSettled  = "commission.settled"
	FeedCouponIssued       = "coupon.issued"
	FeedCouponVerified     = "coupon.verified"
	FeedCouponVoided       = "coupon.voided"
	FeedMemberCreated      = "member.created"
	FeedMemberAliasLinked  = "member.alias_linked"
	FeedMemberBound        = "member.bound"
	FeedMemberMerged       = "member.merged"
	FeedGrowthAdjusted     = "growth.adjusted"
	FeedGuideCreated       = "guide.created"
	FeedGuideLeft          = "guide.left"
	FeedFlagRaised         = "flag.raised"
	FeedCampaignChanged    = "campaign.changed"
	FeedStoreChanged       = "store.changed"
	FeedRewardChanged      = "reward.changed"
	FeedRewardRedeemed     = "reward.redeemed"
	FeedVouchersUploaded   = "vouchers.uploaded"
	FeedVoucherIssued      = "voucher.issued"
	FeedExchangeShipped    = "exchange.shipped"
	FeedExchangeCancelled  = "exchange.cancelled"
	FeedOrderEarned        = "order.earned"
	FeedOrderRefunded      = "order.refunded"
	FeedGuideEnrolled      = "guide.enrolled"
	FeedGuideApproved      = "guide.approved"
	FeedGuideRejected      = "guide.rejected"
	FeedVersion            = 1
	maxFeedLimit           = 1000
	defaultFeedLimit       = 100
	feedCompactChunk       = 256
	feedCompactPause       = 5 * time.Millisecond
	defaultFeedRetainFloor = time.Hour
	// feedPoll is how often a long poll on one of several nodes reads
	// the database's head (see feedHeadSeq).
	feedPoll = 200 * time.Millisecond
)

// CodeEventsCompacted refuses a read of events the retention removed.
const CodeEventsCompacted Code = "events_compacted"

// FeedTypes lists every event type, for validating a reader's filter.
var FeedTypes = []string{
	FeedCodeRedeemed, FeedScanRefused, FeedRedemptionVoided,
	FeedPointsEarned, FeedPointsSpent, FeedPointsAdjusted, FeedPointsVoided, FeedPointsExpired,
	FeedGrowthEarned, FeedGrowthVoided, FeedCommissionEarned, FeedCommissionVoided, FeedCommissionSettled,
	FeedCouponIssued, FeedCouponVerified, FeedCouponVoided, FeedCouponExpired,
	FeedMemberCreated, FeedMemberAliasLinked, FeedMemberBound, FeedMemberMerged, FeedGrowthAdjusted,
	FeedGuideCreated, FeedGuideLeft, FeedFlagRaised, FeedCampaignChanged,
	FeedStoreChanged, FeedGuideEnrolled, FeedGuideApproved, FeedGuideRejected,
	FeedRewardChanged, FeedRewardRedeemed, FeedVouchersUploaded, FeedVoucherIssued,
	FeedExchangeShipped, FeedExchangeCancelled, FeedOrderEarned, FeedOrderRefunded,
}

// FeedEvent is one entry of the feed, stored and served as this JSON.
type FeedEvent struct {
	Seq     uint64          `json:"seq"`
	Type    string          `json:"type"`
	At      time.Time       `json:"at"`
	Version int             `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// Keys of the feed: events by sequence, the last sequence written (where an
// engine keeps it in a record, see feedtail.go), and the first sequence
// still held (the compaction's floor).
var (
	feedPrefix    = []byte("ev/")
	feedHeadKey   = []byte("meta/feed-head")
	feedFloorKey  = []byte("meta/feed-floor")
	refusedToFeed = map[Code]bool{CodeBudgetExhausted: true, CodeDailyLimit: true, CodeCampaignEnded: true, CodeCampaignNotStarted: true,
		CodeNotInRegion: true, CodeNotInStore: true, CodeNotForSource: true, CodeNewMembersOnly: true, CodeTierTooLow: true}
)

func feedKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(slices.Clip(feedPrefix), seq) }

// record appends an event of type typ with body data to the feed, in the
// decision tx runs. It must be called from inside a decision only.
func record(tx Tx, typ string, at time.Time, data any) error {
	et, _ := tx.(*eventTx)
	var seq uint64 // 0: unnumbered, for the relay of a shared database
	switch {
	case et != nil && et.relay != nil:
	case et != nil && et.numbering:
		// The engine keeps the tail in memory (feedtail.go): no head
		// record to read or write.
		seq = et.tail + 1
	default:
		head, err := counterAt(tx, feedHeadKey)
		if err != nil {
			return err
		}
		seq = uint64(head) + 1
	}
	// Numbered as it is encoded, when the number is known: one buffer.
	ev, err := encodeEvent(seq, typ, at, data)
	if err != nil {
		return err
	}
	switch {
	case seq == 0:
		// A shared database: the relay numbers it (relay.go).
		tx.Put(pendingKey(et.node, et.relay.next()), ev)
		et.pending = true
		return nil
	case et != nil && et.numbering:
		et.tail = seq
	default:
		tx.Put(feedHeadKey, store.AppendCounter(nil, int64(seq)))
	}
	tx.Put(feedKey(seq), ev)
	if et != nil {
		et.feedSeq = seq
	}
	return nil
}

// unnumbered opens every event encodeEvent writes of seq 0, pending for
// the relay: its seq is put in place by numberEvent.
const unnumbered = `{"seq":0`

// encodedBody is an event's body already encoded as json.Marshal encodes
// it: the bytes of the record the event tells of (see marshalRecord),
// which the decision wrote too. encodeEvent puts them in as they are
// instead of encoding the record a second time.
type encodedBody []byte

// encodeEvent encodes a FeedEvent numbered seq in one pass, body and all:
// the same bytes json.Marshal of the FeedEvent gives, without encoding the
// body a second time as a json.RawMessage (a scan's feed events were a
// sixth of its CPU that way).
func encodeEvent(seq uint64, typ string, at time.Time, data any) ([]byte, error) {
	b := make([]byte, 0, 208)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"type":`...)
	b = json.AppendEscape(b, typ, json.EscapeHTML)
	b = append(b, `,"at":"`...)
	b, err := at.AppendText(b) // RFC 3339 as MarshalJSON, without its copy
	if err != nil {
		return nil, err
	}
	b = append(b, `","version":`...)
	b = strconv.AppendInt(b, FeedVersion, 10)
	b = append(b, `,"data":`...)
	if body, ok := data.(encodedBody); ok {
		b = append(b, body...)
	} else if b, err = json.Append(b, data, json.EscapeHTML|json.SortMapKeys); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// numberEvent returns ev, as encodeEvent wrote it of seq 0, numbered seq.
func numberEvent(ev []byte, seq uint64) []byte {
	rest := ev[len(unnumbered):]
	b := make([]byte, 0, len(ev)+20)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, rest...)
}

func counterAt(r getter, key []byte) (int64, error) {
	v, found, err := r.Get(key)
	if err != nil || !found {
		return 0, err
	}
	n, ok := store.Counter(v)
	if !ok {
		return 0, fmt.Errorf("reward: %s holds %d bytes, not a counter", key, len(v))
	}
	return n, nil
}

// ledgerFeedType is the event type of a ledger entry.
func ledgerFeedType(en Entry) string {
	void := strings.HasPrefix(en.Reason, "void: ")
	switch en.Account {
	case AccountGrowth:
		switch {
		case void:
			return FeedGrowthVoided
		case en.Reason == "scan":
			return FeedGrowthEarned
		}
		return FeedGrowthAdjusted
	case AccountCommission:
		if void {
			return FeedCommissionVoided
		}
		return FeedCommissionEarned
	}
	switch {
	case void:
		return FeedPointsVoided
	case strings.HasPrefix(en.Reason, "spend: "), strings.HasPrefix(en.Reason, ReasonRedeem+": "):
		return FeedPointsSpent
	case en.Reason == ReasonExpiry:
		return FeedPointsExpired
	case en.Reason == "scan" || en.Reason == "new_member_bonus" || en.Reason == ReasonOrder:
		return FeedPointsEarned
	}
	return FeedPointsAdjusted
}

// memberCreated records a member's first appearance, once: m.fresh is set
// by loadResolved for a member with no record yet.
func memberCreated(tx Tx, m *Member) error {
	if !m.fresh {
		return nil
	}
	m.fresh = false
	return record(tx, FeedMemberCreated, m.Created, struct {
		Member  string    `json:"member"`
		Created time.Time `json:"created"`
	}{m.ID, m.Created})
}

// putMember writes a member's record, recording its creation first if it
// is new.
func putMember(tx Tx, m *Member) error {
	_, _, err := putMemberRecord(tx, m)
	return err
}

// putMemberRecord is putMember returning the key and bytes it wrote.
func putMemberRecord(tx Tx, m *Member) (key, raw []byte, err error) {
	if err := memberCreated(tx, m); err != nil {
		return nil, nil, err
	}
	key, raw = memberKey(m.ID), marshalRecord(m)
	tx.Put(key, raw)
	return key, raw, nil
}

// ScanRefusal is the body of a scan.refused event.
type ScanRefusal struct {
	Code   string `json:"code"`
	Member string `json:"member"`
	Reason Code   `json:"reason"`
}

// MemberMerge is the body of a member.merged event: Member's balances
// moved to Into by the paired ledger events before it, and IDs (Member
// and its aliases) are Into's now.
type MemberMerge struct {
	Member string   `json:"member"`
	Into   string   `json:"into"`
	IDs    []string `json:"ids"`
}

// MemberBinding is the body of a member.bound event: Guide is empty when a
// guide's leaving unbound the member.
type MemberBinding struct {
	Member   string `json:"member"`
	Guide    string `json:"guide"`
	Previous string `json:"previous,omitempty"`
	Why      string `json:"why"` // bind, rebind, guide_left, first_scan, alias
}

// feedHead is what readers may see of the feed: the highest sequence whose
// decision is durable. Decisions are acknowledged in commit order, so every
// sequence below it is durable too. Waiters are woken when it moves.
type feedHead struct {
	mu      sync.Mutex
	seq     uint64
	loaded  bool
	changed chan struct{}
}

// advance raises the head to seq, waking waiters.
func (h *feedHead) advance(seq uint64) {
	h.mu.Lock()
	if seq > h.seq {
		h.seq = seq
		if h.changed != nil {
			close(h.changed)
			h.changed = nil
		}
	}
	h.mu.Unlock()
}

// feedHeadSeq returns the durable head, reading it from the store the
// first time.
func (e *Engine) feedHeadSeq() (uint64, error) {
	h := &e.feed
	if e.node != "" {
		// Other nodes' relays number events too: the head is the
		// database's, read each time. Their commits are durable once
		// readable, as this backend only shows committed transactions.
		// Number what is pending first when this node may relay, so
		// that a reader finds the events of the decisions it saw answer
		// (and a command with no relay running still reads them).
		if _, err := e.RelayFeed(); err != nil {
			return 0, err
		}
		n, err := counterAt(e.db, feedHeadKey)
		if err != nil {
			return 0, wrapStore(err)
		}
		h.advance(uint64(n))
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.seq, nil
	}
	h.mu.Lock()
	loaded, seq := h.loaded, h.seq
	h.mu.Unlock()
	if loaded {
		return seq, nil
	}
	// Read inside a decision: Update returns once every decision before
	// it is durable, whereas a plain read could see a group that is
	// applied but not yet synced.
	var n uint64
	err := e.update(func(tx Tx) error {
		var err error
		n, err = feedTailIn(tx)
		return err
	})
	if err != nil {
		return 0, err
	}
	h.mu.Lock()
	h.loaded = true
	h.mu.Unlock()
	h.advance(n)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq, nil
}

// wait returns a channel closed when the head passes seq (nil if it has).
func (h *feedHead) wait(seq uint64) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seq > seq {
		return nil
	}
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	return h.changed
}

// FeedQuery asks for events after a sequence.
type FeedQuery struct {
	After uint64
	Limit int
	// Types keeps only these event types; empty keeps all.
	Types []string
	// Wait is how long to wait for an event when none is there yet.
	Wait time.Duration
}

// FeedPage is an answer of the feed: events in sequence order; Next is the
// After of the following page (the last sequence read, or After when
// nothing new came), Head the last durable sequence.
type FeedPage struct {
	Events []json.RawMessage `json:"events"`
	Next   uint64            `json:"next"`
	Head   uint64            `json:"head"`
}

// CheckFeedQuery validates a query's limit and types.
func CheckFeedQuery(q *FeedQuery) error {
	if q.Limit == 0 {
		q.Limit = defaultFeedLimit
	}
	if q.Limit < 0 || q.Limit > maxFeedLimit {
		return Errorf(CodeInvalidRequest, "limit must be between 1 and %d", maxFeedLimit)
	}
	for _, t := range q.Types {
		if !slices.Contains(FeedTypes, t) {
			return Errorf(CodeInvalidRequest, "unknown event type %q; the types are %s", t, strings.Join(FeedTypes, ", "))
		}
	}
	return nil
}

// Feed returns the events after q.After, waiting up to q.Wait (or until
// ctx ends) for one when there is none yet. A sequence compacted away is
// refused with CodeEventsCompacted and the first sequence still held.
func (e *Engine) Feed(ctx context.Context, q FeedQuery) (*FeedPage, error) {
	if err := CheckFeedQuery(&q); err != nil {
		return nil, err
	}
	var deadline <-chan time.Time
	if q.Wait > 0 {
		t := time.NewTimer(q.Wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		head, err := e.feedHeadSeq()
		if err != nil {
			return nil, err
		}
		page, err := e.readFeed(q, head)
		if err != nil || len(page.Events) > 0 || q.Wait <= 0 {
			return page, err
		}
		// Nothing matched up to head: wait past it (filtered types skip
		// the events read, so Next moved on).
		q.After = page.Next
		ch := e.feed.wait(head)
		if ch == nil {
			continue
		}
		// Another node's events wake no one here: look again now and then.
		var poll <-chan time.Time
		if e.node != "" {
			poll = time.After(feedPoll)
		}
		select {
		case <-poll:
		case <-ch:
		case <-deadline:
			return page, nil
		case <-ctx.Done():
			return page, nil
		}
	}
}

func (e *Engine) readFeed(q FeedQuery, head uint64) (*FeedPage, error) {
	floor, err := counterAt(e.db, feedFloorKey)
	if err != nil {
		return nil, wrapStore(err)
	}
	first := max(uint64(floor), 1)
	if q.After+1 < first && head >= first {
		return nil, &Error{Code: CodeEventsCompacted, Message: fmt.Sprintf("events up to %d were compacted away (older than the retention); the first event held is %d: read from after=%d, and rebuild what you missed from an export", first-1, first, first-1), Details: map[string]any{"first_seq": first}}
	}
	page := &FeedPage{Events: []json.RawMessage{}, Next: q.After, Head: head}
	if q.After >= head {
		return page, nil
	}
	var bad error
	err = e.db.Scan(feedPrefix, feedKey(q.After+1), func(k, v []byte) bool {
		seq := binary.BigEndian.Uint64(k[len(feedPrefix):])
		if seq > head {
			return false
		}
		page.Next = seq
		if len(q.Types) > 0 {
			var ev struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(v, &ev); err != nil {
				bad = fmt.Errorf("reward: event %d is corrupt: %w", seq, err)
				return false
			}
			if !slices.Contains(q.Types, ev.Type) {
				return true
			}
		}
		page.Events = append(page.Events, json.RawMessage(slices.Clone(v)))
		return len(page.Events) < q.Limit
	})
	err = firstErr(err, bad)
	if err != nil {
		return nil, wrapStore(err)
	}
	return page, nil
}

// FeedBounds returns the first sequence held and the last durable one.
func (e *Engine) FeedBounds() (first, head uint64, err error) {
	head, err = e.feedHeadSeq()
	if err != nil {
		return 0, 0, err
	}
	floor, err := counterAt(e.db, feedFloorKey)
	if err != nil {
		return 0, 0, wrapStore(err)
	}
	return max(uint64(floor), 1), head, nil
}

// CompactFeed deletes the events older than retention, oldest first, in
// small decisions with a pause between them, so that scans queued behind
// it wait for at most one small chunk. It returns how many it deleted.
// The floor moves in the decision that deletes, so a reader never reads
// a hole.
func (e *Engine) CompactFeed(ctx context.Context, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	head, err := e.feedHeadSeq()
	if err != nil {
		return 0, err
	}
	cutoff := e.now().Add(-retention)
	total := 0
	for ctx.Err() == nil {
		floor, err := counterAt(e.db, feedFloorKey)
		if err != nil {
			return total, wrapStore(err)
		}
		first := max(uint64(floor), 1)
		// Find the chunk to drop outside the decider: a read, not a
		// decision, so scans do not wait for it.
		var drop []uint64
		var bad error
		err = e.db.Scan(feedPrefix, feedKey(first), func(k, v []byte) bool {
			seq := binary.BigEndian.Uint64(k[len(feedPrefix):])
			if seq > head {
				return false
			}
			var ev struct {
				At time.Time `json:"at"`
			}
			if err := json.Unmarshal(v, &ev); err != nil {
				bad = fmt.Errorf("reward: event %d is corrupt: %w", seq, err)
				return false
			}
			if !ev.At.Before(cutoff) {
				return false
			}
			drop = append(drop, seq)
			return len(drop) < feedCompactChunk
		})
		err = firstErr(err, bad)
		if err != nil {
			return total, wrapStore(err)
		}
		if len(drop) == 0 {
			return total, nil
		}
		last := drop[len(drop)-1]
		err = e.update(func(tx Tx) error {
			for _, seq := range drop {
				tx.Delete(feedKey(seq))
			}
			tx.Put(feedFloorKey, store.AppendCounter(nil, int64(last+1)))
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(drop)
		select {
		case <-ctx.Done():
		case <-time.After(feedCompactPause):
		}
	}
	return total, nil
}

// ReadFeed calls fn with every event held in r (a snapshot or a quiet
// store), in sequence order: for a replay (see ReplayFeed) and exports.
func ReadFeed(r store.Reader, fn func(FeedEvent) error) error {
	var err error
	scanErr := r.Scan(feedPrefix, nil, func(_, v []byte) bool {
		var ev FeedEvent
		if err = json.Unmarshal(v, &ev); err != nil {
			return false
		}
		err = fn(ev)
		return err == nil
	})
	if scanErr != nil {
		return scanErr
	}
	return err
}
