package reward

import "sync"

// lanesHeld is which lane each member's and code's decisions are on while
// they are queued or deciding, on a store of several lanes (store.Laned).
// A scan writes both its code's records and its member's, so no fixed
// lane fits both: a member scanning two codes at once, or one code raced
// by several members, would put two lanes' groups on the same records,
// and PostgreSQL refuses one of them (a member's records claimed by two
// lanes at once were 28 of a node's 30 refused groups at 4 lanes;
// docs/cluster.md, "Why one node's lanes conflicted"). So a decision goes
// to the lane already holding its member, else its code, else its code's
// own lane (laneOf), and holds both there until it is answered.
type lanesHeld struct {
	mu   sync.Mutex
	held map[string]*laneHold
}

type laneHold struct{ lane, n int }

// enterLane chooses the lane of a decision about ids (a member's id, then
// a code; an empty id is skipped), the first one that another decision
// holds deciding the lane, and holds all of them on it until leave is
// called. home is the lane when none is held. With one lane it returns
// -1 (the store's choice) and holds nothing.
func (e *Engine) enterLane(home int, ids ...string) (lane int, leave func()) {
	if e.lanes == 1 {
		return -1, func() {}
	}
	h := &e.lanesHeld
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		h.held = map[string]*laneHold{}
	}
	lane = home
	for _, id := range ids {
		if x, ok := h.held[id]; ok && id != "" {
			lane = x.lane
			break
		}
	}
	var mine []string
	for _, id := range ids {
		if id == "" {
			continue
		}
		x, ok := h.held[id]
		switch {
		case !ok:
			h.held[id] = &laneHold{lane: lane, n: 1}
		case x.lane == lane:
			x.n++
		default:
			// Held by another lane too (the member on one, the code on
			// another): the two may still conflict.
			continue
		}
		mine = append(mine, id)
	}
	return lane, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, id := range mine {
			x := h.held[id]
			if x.n--; x.n == 0 {
				delete(h.held, id)
			}
		}
	}
}

// memberLane and codeLane name a member's and a code's holds apart.
func memberLane(id string) string {
	if id == "" {
		return ""
	}
	return "m\x00" + id
}

func codeLane(code string) string { return "c\x00" + code }
