package reward

import (
	"slices"
	"sync"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// Page views of a code are counted as statistics are: summed in memory and
// written together in one decision at most visitsEvery after the first of
// them, so that a burst of views of one code costs one durable write a
// second, not one each (a view pays nothing, and a crash may lose the
// last second of views, never a payout). Views never raise a flag on their
// own: a view is what a link previewer or a crawler makes too. When views
// bring a code to flagScanners people, the record notes it, and the next
// claim or API scan of the code raises the flag.

// visitsEvery is how far the counts of views may lag the views.
const visitsEvery = time.Second

// maxPendingVisits bounds the codes whose views wait in memory. Past it a
// write is due at once; while one is under way, further views of other
// codes are not counted.
const maxPendingVisits = 8192

type pendingVisit struct {
	p           codegen.Parsed
	scans       uint64
	first, last time.Time
	// scanners are the ids as the views gave them, resolved when written.
	scanners []string
}

type visits struct {
	mu    sync.Mutex
	m     map[string]*pendingVisit
	since time.Time // arrival of the oldest view in m
	// writing is the set being written, still shown by Status until the
	// write is done.
	writing map[string]*pendingVisit
}

// CountVisit counts a landing-page view of a genuine code: one more scan,
// and one more scanner when scanner (the id the same browser would claim
// under, so that a view and a claim by one person are one scanner) is not
// empty. A view without a session names no scanner: it may not be a
// person. It pays nothing, and it is written with other views (see above);
// the caller may be the one whose view makes the write due.
func (e *Engine) CountVisit(code, scanner string) error {
	p, err := e.verify(code)
	if err != nil {
		return err
	}
	if err := checkID("visitor", scanner, false); err != nil {
		return err
	}
	now := e.now()
	key := p.String()
	v := &e.visits
	v.mu.Lock()
	pv := v.m[key]
	if pv == nil {
		if len(v.m) >= maxPendingVisits && v.writing != nil {
			v.mu.Unlock()
			return nil // a write is under way and memory is full: not counted
		}
		if len(v.m) == 0 {
			v.since = now
		}
		pv = &pendingVisit{p: p, first: now}
		v.m[key] = pv
	}
	pv.scans++
	pv.last = now
	if scanner != "" && len(pv.scanners) < maxSeen && !slices.Contains(pv.scanners, scanner) {
		pv.scanners = append(pv.scanners, scanner)
	}
	var take map[string]*pendingVisit
	if v.writing == nil && (now.Sub(v.since) >= visitsEvery || len(v.m) >= maxPendingVisits) {
		take, v.writing, v.m = v.m, v.m, map[string]*pendingVisit{}
	}
	v.mu.Unlock()
	if take == nil {
		return nil
	}
	return e.writeVisits(take)
}

// FlushVisits writes the views still counted in memory. FlushStats calls
// it, so a server closing writes them.
func (e *Engine) FlushVisits() error {
	v := &e.visits
	v.mu.Lock()
	if v.writing != nil || len(v.m) == 0 {
		v.mu.Unlock()
		return nil
	}
	take := v.m
	v.writing, v.m = take, map[string]*pendingVisit{}
	v.mu.Unlock()
	return e.writeVisits(take)
}

// writeVisits adds take to the codes' scan records in one decision. On a
// storage failure the views are dropped: they are statistics.
func (e *Engine) writeVisits(take map[string]*pendingVisit) error {
	err := e.update(func(tx Tx) error {
		for code, pv := range take {
			var st ScanStats
			found := false
			if !e.seen.absent(pv.p.Batch, pv.p.Serial) {
				var err error
				if found, _, err = readScanStats(tx, code, &st); err != nil {
					return err
				}
			}
			if !found {
				e.seen.set(pv.p.Batch, pv.p.Serial)
				st.First = pv.first
			}
			st.Scans += pv.scans
			st.Last = pv.last
			before := st.Scanners
			for _, id := range pv.scanners {
				who, err := resolve(tx, id)
				if err != nil {
					return err
				}
				st.addScanner(who)
			}
			if before < flagScanners && st.Scanners >= flagScanners {
				st.FlagDue = true
			}
			putJSON(tx, scanStatsKey(code), st)
		}
		return nil
	})
	e.visits.mu.Lock()
	e.visits.writing = nil
	e.visits.mu.Unlock()
	return err
}

// pendingVisits adds the views of code not yet written to st, as Status
// shows them.
func (e *Engine) pendingVisits(code string, st *ScanStats) error {
	v := &e.visits
	v.mu.Lock()
	var kept [2]pendingVisit
	views := kept[:0]
	for _, m := range [2]map[string]*pendingVisit{v.writing, v.m} {
		if pv := m[code]; pv != nil {
			views = append(views, pendingVisit{scans: pv.scans, first: pv.first, last: pv.last, scanners: slices.Clone(pv.scanners)})
		}
	}
	v.mu.Unlock()
	for _, pv := range views {
		if st.Scans == 0 {
			st.First = pv.first
		}
		st.Scans += pv.scans
		st.Last = pv.last
		for _, id := range pv.scanners {
			who, err := resolve(e.db, id)
			if err != nil {
				return err
			}
			st.addScanner(who)
		}
	}
	return nil
}

// addScanner counts who as a scanner of the code unless it was counted
// before, and reports whether it was new.
func (st *ScanStats) addScanner(who string) bool {
	if who == "" || len(st.Seen) >= maxSeen {
		return false
	}
	sum := fnv32a(who)
	if slices.Contains(st.Seen, sum) {
		return false
	}
	st.Seen = append(st.Seen, sum)
	st.Scanners++
	return true
}
