package reward

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	json "github.com/segmentio/encoding/json"
	"github.com/yima-dev/yima/store"
)

// The feed's relay. On one node the decision that records an event also
// numbers it (record), after the feed's tail its engine keeps in memory
// (feedtail.go). On a shared database (Options.NodeID set) the tail is a
// record, the feed's head, and if every node's decisions wrote it, under
// SERIALIZABLE every decision of the cluster would take turns on it.
// There a decision writes its events unnumbered under a key of its node
// (evp/NODE 0x00 STAMP, no record in common with other nodes), and one
// node, the relay, numbers them into the feed (ev/SEQ) in decisions of
// its own, a batch at a time. Readers see numbered events only.
//
// The relay is elected with a lease (meta/feed-relay, relayLease): a node
// relays while it holds the lease or the lease ran out, so that when the
// relay's node dies another takes over within relayLease, and a node
// stopping cleanly numbers what it can and gives the lease up at once.
// Never twice, never a gap: a batch is read from a snapshot, and the
// decision that numbers it checks that the feed's head is still the
// snapshot's, so that a batch numbered meanwhile by anyone makes it
// refuse (and the next pass reads again); it moves the head, writes the
// events and deletes their pending keys together.
//
// Order. Events of one node are numbered in the order its decisions
// wrote them (their stamps rise). Across nodes, a decision that follows
// another's (a coupon verified on node B that node A issued) has a
// later stamp: a stamp is the wall clock's nanoseconds when the event is
// recorded, and the second decision read what the first committed. A
// batch is numbered in stamp order, and holds every pending event of
// the snapshot up to a cut (at most relayPerNode of each node's; the cut
// is the oldest of the last stamps taken from nodes with more), so an
// event is never numbered before one with a smaller stamp that was
// already pending. An event that causes another is committed, hence in
// the snapshot or numbered, before the other is written; so causal
// order is kept as long as the nodes' clocks differ by less than the
// time between a decision's commit and the next decision that reads it
// (a round trip to the database at least; NTP keeps clocks within a few
// milliseconds).

var (
	pendingPrefix = []byte("evp/")
	relayLeaseKey = []byte("meta/feed-relay")
)

const (
	// relayLease is how long the relay's lease lasts after its last
	// batch: how long the feed stops when the relay's node dies.
	relayLease = 10 * time.Second
	// relayPoll is how often the relay looks for other nodes' pending
	// events; its own node's decisions wake it at once.
	relayPoll = 20 * time.Millisecond
	// relayStandby is how often a node that does not relay looks at the
	// lease.
	relayStandby = time.Second
	// relayPerNode bounds a batch: events of one node it numbers.
	relayPerNode = 256
)

// relayLeaseRecord is meta/feed-relay: who relays, until when.
type relayLeaseRecord struct {
	Node  string    `json:"node"`
	Until time.Time `json:"until"`
}

// relayState is an engine's part in the relay.
type relayState struct {
	// mu makes this engine's passes (the loop's, a reader's, an
	// export's) one at a time.
	mu sync.Mutex
	// stampMu guards stamp, the last stamp given.
	stampMu sync.Mutex
	stamp   uint64
	// kick wakes the loop when a decision of this node wrote events.
	kick chan struct{}
	// standby is until when another node holds the lease, as last read:
	// the loop looks less often meanwhile.
	standby time.Time
}

// next returns a stamp above every one given before and no lower than
// the wall clock (see Order above).
func (r *relayState) next() uint64 {
	r.stampMu.Lock()
	defer r.stampMu.Unlock()
	r.stamp = max(r.stamp+1, uint64(time.Now().UnixNano()))
	return r.stamp
}

// poke wakes the loop without waiting.
func (r *relayState) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func pendingKey(node string, stamp uint64) []byte {
	k := make([]byte, 0, len(pendingPrefix)+len(node)+9)
	k = append(append(append(k, pendingPrefix...), node...), 0)
	return binary.BigEndian.AppendUint64(k, stamp)
}

// pendingEvent is an event written, not yet numbered.
type pendingEvent struct {
	node  string
	stamp uint64
	ev    []byte // as encodeEvent wrote it
}

// parsePending splits a pending key into its node and stamp.
func parsePending(k []byte) (node []byte, stamp uint64, ok bool) {
	rest := k[len(pendingPrefix):]
	i := bytes.IndexByte(rest, 0)
	if i < 0 || len(rest)-i-1 != 8 {
		return nil, 0, false
	}
	return rest[:i], binary.BigEndian.Uint64(rest[i+1:]), true
}

// collectPending reads the pending events r holds, in the order the relay
// numbers them: by stamp, then node. perNode > 0 takes at most that many
// of each node's, and then only the events no later than the cut (see
// Order above); 0 takes them all.
func collectPending(r Scanner, perNode int) ([]pendingEvent, error) {
	var out []pendingEvent
	cut := uint64(math.MaxUint64)
	start := pendingPrefix
	for start != nil {
		var node, next []byte
		n := 0
		var bad error
		err := r.Scan(pendingPrefix, start, func(k, v []byte) bool {
			nd, stamp, ok := parsePending(k)
			if !ok || !bytes.HasPrefix(v, []byte(unnumbered)) {
				bad = fmt.Errorf("reward: pending event %q is corrupt", k)
				return false
			}
			switch {
			case node == nil:
				node = slices.Clone(nd)
			case !bytes.Equal(nd, node):
				next = slices.Clone(k)
				return false
			case n == perNode:
				// The rest of this node's events wait for a later batch,
				// and with them every event stamped after the last taken.
				cut = min(cut, out[len(out)-1].stamp)
				next = append(append(slices.Clone(pendingPrefix), node...), 1)
				return false
			}
			out = append(out, pendingEvent{node: string(node), stamp: stamp, ev: slices.Clone(v)})
			n++
			return true
		})
		err = firstErr(err, bad)
		if err != nil {
			return nil, err
		}
		start = next
	}
	out = slices.DeleteFunc(out, func(p pendingEvent) bool { return p.stamp > cut })
	slices.SortStableFunc(out, func(a, b pendingEvent) int {
		if a.stamp != b.stamp {
			if a.stamp < b.stamp {
				return -1
			}
			return 1
		}
		return bytes.Compare([]byte(a.node), []byte(b.node))
	})
	return out, nil
}

// readLease returns the lease's holder while it lasts ("" when free).
func readLease(r getter, now time.Time) (string, time.Time, error) {
	var l relayLeaseRecord
	found, err := getJSON(r, relayLeaseKey, &l)
	if err != nil || !found || !l.Until.After(now) {
		return "", time.Time{}, err
	}
	return l.Node, l.Until, nil
}

// errRelayLost refuses a batch whose lease or head moved since its
// snapshot: another relay numbered meanwhile.
var errRelayLost = errors.New("reward: the feed's relay moved on meanwhile")

// RelayFeed numbers one batch of pending events if this node is the relay
// or may become it, and returns how many it numbered (0 where another
// node relays). Readers of the feed call it; RunFeedRelay calls it in a
// loop. Without a node id there is nothing pending: it returns 0.
func (e *Engine) RelayFeed() (int, error) {
	if e.node == "" {
		return 0, nil
	}
	e.relay.mu.Lock()
	defer e.relay.mu.Unlock()
	holder, until, err := readLease(e.db, e.now())
	if err != nil {
		return 0, wrapStore(err)
	}
	if holder != "" && holder != e.node {
		e.relay.standby = until
		return 0, nil
	}
	e.relay.standby = time.Time{}
	var any bool
	if err := e.db.Scan(pendingPrefix, nil, func(_, _ []byte) bool { any = true; return false }); err != nil {
		return 0, wrapStore(err)
	}
	if !any {
		// Nothing to number: keep or take the lease all the same, so that
		// the relay (and the webhooks' delivery, see IsFeedRelay) stays on
		// one node while the feed is quiet. A batch renews it otherwise.
		if holder == "" || until.Sub(e.now()) < relayLease/2 {
			return 0, e.claimLease()
		}
		return 0, nil
	}
	snap, err := e.db.Snapshot()
	if err != nil {
		return 0, wrapStore(err)
	}
	head, batch, err := readPending(snap, relayPerNode)
	snap.Close()
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if lost, err := e.numberBatch(head, batch); lost || err != nil {
		return 0, err
	}
	return len(batch), nil
}

// readPending returns the feed's head in snap and the pending events it
// holds (perNode as collectPending).
func readPending(snap store.Reader, perNode int) (uint64, []pendingEvent, error) {
	head, err := counterAt(snap, feedHeadKey)
	if err != nil {
		return 0, nil, wrapStore(err)
	}
	batch, err := collectPending(snap, perNode)
	if err != nil {
		return 0, nil, wrapStore(err)
	}
	return uint64(head), batch, nil
}

// numberBatch numbers batch, read from a snapshot whose head was head,
// in one decision that also renews the lease. It numbers nothing and
// reports lost when the lease is another node's or the head moved since
// the snapshot: another relay numbered meanwhile, maybe some of batch.
func (e *Engine) numberBatch(head uint64, batch []pendingEvent) (lost bool, err error) {
	err = e.update(func(tx Tx) error {
		now := e.now()
		holder, _, err := readLease(tx, now)
		if err != nil {
			return err
		}
		h, err := counterAt(tx, feedHeadKey)
		if err != nil {
			return err
		}
		if (holder != "" && holder != e.node) || uint64(h) != head {
			lost = true
			return errRelayLost
		}
		seq := head
		for _, p := range batch {
			seq++
			tx.Put(feedKey(seq), numberEvent(p.ev, seq))
			tx.Delete(pendingKey(p.node, p.stamp))
		}
		tx.Put(feedHeadKey, store.AppendCounter(nil, int64(seq)))
		putJSON(tx, relayLeaseKey, relayLeaseRecord{Node: e.node, Until: now.Add(relayLease)})
		if et, ok := tx.(*eventTx); ok {
			et.feedSeq = seq // readers may see the batch once it commits
		}
		return nil
	})
	if lost {
		return true, nil
	}
	return false, err
}

// claimLease takes the lease for this node unless another node holds it.
func (e *Engine) claimLease() error {
	return e.update(func(tx Tx) error {
		now := e.now()
		holder, _, err := readLease(tx, now)
		if err != nil || (holder != "" && holder != e.node) {
			return err
		}
		putJSON(tx, relayLeaseKey, relayLeaseRecord{Node: e.node, Until: now.Add(relayLease)})
		return nil
	})
}

// IsFeedRelay reports whether this engine is the feed's relay now: the
// one node of a shared database that delivers the webhooks, so that an
// endpoint gets each event from one node. Without a node id (one node)
// it always is.
func (e *Engine) IsFeedRelay() (bool, error) {
	if e.node == "" {
		return true, nil
	}
	holder, _, err := readLease(e.db, e.now())
	return holder == e.node, wrapStore(err)
}

// takeLease makes this node the relay now, whoever held the lease: an
// export's fence needs no other relay to number while it runs. A relay
// that loses the lease so refuses its next batch (see numberBatch) and
// stands by until the lease runs out or is given up.
func (e *Engine) takeLease() error {
	return e.update(func(tx Tx) error {
		putJSON(tx, relayLeaseKey, relayLeaseRecord{Node: e.node, Until: e.now().Add(relayLease)})
		return nil
	})
}

// giveUpLease ends this node's lease, if it holds it, so that another node
// relays at once.
func (e *Engine) giveUpLease() error {
	return e.update(func(tx Tx) error {
		var l relayLeaseRecord
		found, err := getJSON(tx, relayLeaseKey, &l)
		if err != nil || !found || l.Node != e.node {
			return err
		}
		tx.Delete(relayLeaseKey)
		return nil
	})
}

// fenceFeed, for an export on a shared database, returns the snapshot the
// export reads and the last event it holds. The snapshot may hold events
// not yet numbered, which the relay would number after events written
// later (and not in the export): so this node takes the lease, takes the
// snapshot and numbers exactly the events pending in it, right after the
// snapshot's head, then gives the lease up. Seq is then that batch's last
// event: every event up to Seq is in the export, every later one not.
func (e *Engine) fenceFeed() (store.Snapshot, uint64, error) {
	e.relay.mu.Lock()
	defer e.relay.mu.Unlock()
	if err := e.takeLease(); err != nil {
		return nil, 0, err
	}
	defer e.giveUpLease()
	snap, err := e.db.Snapshot()
	if err != nil {
		return nil, 0, wrapStore(err)
	}
	head, batch, err := readPending(snap, 0)
	if err == nil && len(batch) > 0 {
		var lost bool
		if lost, err = e.numberBatch(head, batch); lost {
			err = &Error{Code: CodeUnavailable, Message: "the feed's relay numbered events while the export was opened; retry"}
		}
	}
	if err != nil {
		snap.Close()
		return nil, 0, err
	}
	return snap, head + uint64(len(batch)), nil
}

// RunFeedRelay relays the feed (see RelayFeed) until ctx ends: at once
// when a decision of this node wrote events, every relayPoll while it is
// the relay, every relayStandby while another node is. Then it hands
// over: it numbers what it can and gives the lease up, so that another
// node relays at once rather than after relayLease. A failed batch is
// tried again at the next turn (nothing of it was written). Run it once
// per engine with a node id; without one it returns at once.
func (e *Engine) RunFeedRelay(ctx context.Context) {
	if e.node == "" {
		return
	}
	var folded time.Time
	for ctx.Err() == nil {
		n, err := e.RelayFeed()
		e.relay.mu.Lock()
		standby := e.now().Before(e.relay.standby)
		e.relay.mu.Unlock()
		// The relay's node also numbers the guides' pending items, so
		// that they stay few (guidetally.go); a failed fold is tried
		// again at the next.
		if now := e.now(); !standby && now.Sub(folded) >= guideFoldEvery {
			folded = now
			_ = e.FoldGuides()
		}
		if n > 0 && err == nil {
			continue // maybe more than one batch's worth
		}
		wait := relayPoll
		if standby {
			wait = relayStandby
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-e.relay.kick:
		case <-t.C:
		}
		t.Stop()
	}
	for range 64 {
		if n, err := e.RelayFeed(); n == 0 || err != nil {
			break
		}
	}
	e.giveUpLease()
}

// auditPending checks the events waiting for the relay: each one whole
// and of a known type, so that the relay can number every one (a pending
// event it could not read would stop the feed, or be lost). That none is
// missing is ReplayFeed's to check: it replays them with the feed.
func auditPending(db Scanner, a *AuditReport) {
	pending, err := collectPending(db, 0)
	if err != nil {
		a.violate("%v", err)
		return
	}
	for _, p := range pending {
		var ev FeedEvent
		if err := json.Unmarshal(numberEvent(p.ev, 1), &ev); err != nil || !slices.Contains(FeedTypes, ev.Type) || ev.Version != FeedVersion {
			a.violate("the pending event of node %s stamped %d is not a feed event (%q): the relay cannot number it", p.node, p.stamp, p.ev)
		}
	}
}
