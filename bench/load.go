package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, 1 µs to 1000 s, to three
// significant digits; a slower answer is recorded as 1000 s (the report's
// max is exact all the same).
const (
	histMin    = 1
	histMax    = 1_000_000_000
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// phase is one measured load: the ceiling or the scans.
type phase struct {
	name     string
	target   Target
	mix      *Mix
	codes    Codes // nil when the mix scans nothing
	old      Codes // the preloaded codes, nil without a preload
	members  []string
	guides   []string // who verifies coupons
	runID    string   // the run's id, in spends' request ids
	conns    int
	duration time.Duration
	requests int64
	rate     float64
	seed     uint64
	progress io.Writer

	stop      atomic.Bool
	exhausted atomic.Bool
	claimed   atomic.Int64 // requests claimed, with Requests
	codeNext  atomic.Int64 // next unclaimed code index
	shards    []*shard
}

// shard is where a few workers record; sharding keeps the histograms few
// (they are large) and their locks uncontended.
type shard struct {
	mu      sync.Mutex
	hist    [numKinds]*hdrhistogram.Histogram
	max     [numKinds]time.Duration
	results map[resultKey]int64
	done    int64
	classes [4]int64 // 2xx, 4xx, 5xx, no answer

	// The timeline: latencies by the second of the phase in which they
	// ended, and failures (5xx, no answer) likewise. start is the phase's
	// start; zero keeps no timeline.
	start    time.Time
	timeline []*hdrhistogram.Histogram
	tlFailed []int64
}

// timelineMax bounds the seconds a timeline keeps (a day).
const timelineMax = 86_400

// newTimelineHist is a coarser histogram than newHist (two significant
// digits), one a second: enough for a plotted p99.
func newTimelineHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, 2) }

type resultKey struct {
	kind   Kind
	status int
	code   string
}

func (s *shard) record(k Kind, o Outcome, lat time.Duration) {
	us := (lat + 500*time.Nanosecond) / time.Microsecond
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	s.mu.Lock()
	if s.hist[k] == nil {
		s.hist[k] = newHist()
	}
	s.hist[k].RecordValue(int64(us))
	if lat > s.max[k] {
		s.max[k] = lat
	}
	s.results[resultKey{k, o.Status, o.Code}]++
	s.done++
	if !s.start.IsZero() {
		if sec := int(time.Since(s.start) / time.Second); sec >= 0 && sec < timelineMax {
			for len(s.timeline) <= sec {
				s.timeline = append(s.timeline, nil)
				s.tlFailed = append(s.tlFailed, 0)
			}
			if s.timeline[sec] == nil {
				s.timeline[sec] = newTimelineHist()
			}
			s.timeline[sec].RecordValue(int64(us))
			if o.uncertain() {
				s.tlFailed[sec]++
			}
		}
	}
	switch {
	case o.Status == 0:
		s.classes[3]++
	case o.Status < 400:
		s.classes[0]++
	case o.Status < 500:
		s.classes[1]++
	default:
		s.classes[2]++
	}
	s.mu.Unlock()
}

// worker is one connection's loop. Its observations are its own until the
// phase ends.
type worker struct {
	p     *phase
	id    int
	rng   *rand.Rand
	shard *shard

	codeNext, codeEnd int
	recent            recentRing // codes this worker saw redeemed, for duplicates

	// coupons were issued to this worker's scans and not verified yet,
	// oldest first from couponAt; verified were verified, for repeats.
	coupons  []string
	couponAt int
	verified recentRing
	spendSeq int

	wins           []Win
	contests       []Contest
	verifies       []Verification
	spends         []Spending
	uncertain      map[string]int
	uncertainSpend map[string]int64
}

const (
	codeChunk   = 64   // codes a worker claims at a time
	recentKeep  = 4096 // redeemed codes a worker remembers for duplicates
	couponsKeep = 4096 // unverified coupons a worker remembers
)

// run drives the phase and returns what it measured and observed.
func (p *phase) run(ctx context.Context) (Phase, *Observations) {
	nshards := min(p.conns, 4*runtime.GOMAXPROCS(0))
	p.shards = make([]*shard, nshards)
	for i := range p.shards {
		p.shards[i] = &shard{results: map[resultKey]int64{}}
	}
	workers := make([]*worker, p.conns)
	for i := range workers {
		workers[i] = &worker{p: p, id: i, rng: rand.New(rand.NewPCG(p.seed, uint64(i)+1)), shard: p.shards[i%nshards]}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		p.stop.Store(true)
	}()
	start := time.Now()
	for _, s := range p.shards {
		s.start = start
	}
	if p.duration > 0 && p.requests == 0 {
		t := time.AfterFunc(p.duration, func() { p.stop.Store(true) })
		defer t.Stop()
	}
	progressDone := make(chan struct{})
	if p.progress != nil {
		go p.showProgress(start, progressDone)
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.rate > 0 {
				w.openLoop(start)
			} else {
				w.closedLoop()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if p.progress != nil {
		close(progressDone)
		fmt.Fprint(p.progress, "\r\033[K")
	}

	obs := &Observations{Members: p.members, Guides: p.guides, Uncertain: map[string]int{}, UncertainSpend: map[string]int64{}}
	for _, w := range workers {
		obs.Wins = append(obs.Wins, w.wins...)
		obs.Contests = append(obs.Contests, w.contests...)
		obs.Verifies = append(obs.Verifies, w.verifies...)
		obs.Spends = append(obs.Spends, w.spends...)
		for m, n := range w.uncertain {
			obs.Uncertain[m] += n
		}
		for m, n := range w.uncertainSpend {
			obs.UncertainSpend[m] += n
		}
	}
	return p.summarize(elapsed), obs
}

// claim takes n requests of the phase's budget, if it has one.
func (p *phase) claim(n int) bool {
	if p.requests == 0 {
		return true
	}
	return p.claimed.Add(int64(n))-int64(n) < p.requests
}

func (w *worker) closedLoop() {
	p := w.p
	for !p.stop.Load() {
		k := p.mix.Draw(w.rng)
		if !p.claim(p.mix.size(k)) {
			return
		}
		w.do(k, time.Time{})
	}
}

// openLoop starts operations on this worker's share of a fixed schedule:
// the phase's rate spread over its workers, staggered. An operation that
// starts late is measured from when it should have started.
func (w *worker) openLoop(start time.Time) {
	p := w.p
	perRequest := time.Duration(float64(time.Second) / p.rate)
	next := start.Add(time.Duration(w.id) * perRequest)
	end := start.Add(p.duration)
	for !p.stop.Load() {
		if p.requests == 0 && !next.Before(end) {
			return
		}
		k := p.mix.Draw(w.rng)
		n := p.mix.size(k)
		if !p.claim(n) {
			return
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		w.do(k, next)
		next = next.Add(time.Duration(n*p.conns) * perRequest)
	}
}

// do performs one operation of kind k. intended is its scheduled start in
// an open loop, zero in a closed one.
func (w *worker) do(k Kind, intended time.Time) {
	p := w.p
	switch k {
	case Health:
		w.send(&Op{Kind: Health}, intended)
	case Landing:
		w.send(&Op{Kind: Landing, Code: p.codes.Code(w.rng.IntN(p.codes.Len()))}, intended)
	case Floor:
		// A body of a scan's size; the floor handler does not read it.
		w.send(&Op{Kind: Floor, Code: "000000000000000000000000000", Member: "bench-floor"}, intended)
	case Fresh:
		code, ok := w.freshCode()
		if !ok {
			return
		}
		w.scan(&Op{Kind: Fresh, Code: code, Member: w.member()}, intended)
	case Duplicate:
		if len(w.recent.items) == 0 {
			// Nothing redeemed yet on this connection: a fresh scan now
			// makes duplicates possible later.
			w.do(Fresh, intended)
			return
		}
		w.scan(&Op{Kind: Duplicate, Code: w.recent.pick(w.rng), Member: w.member()}, intended)
	case Preloaded:
		if p.old == nil {
			w.do(Duplicate, intended)
			return
		}
		w.scan(&Op{Kind: Preloaded, Code: p.old.Code(w.rng.IntN(p.old.Len())), Member: w.member()}, intended)
	case Forged:
		code := p.codes.Code(w.rng.IntN(p.codes.Len()))
		w.scan(&Op{Kind: Forged, Code: forge(code, w.rng), Member: w.member()}, intended)
	case Contested:
		code, ok := w.freshCode()
		if !ok {
			return
		}
		w.contest(code, intended)
	case Verify:
		coupon, repeat, ok := w.pickCoupon()
		if !ok || len(p.guides) == 0 {
			// No coupon issued on this connection yet: a fresh scan now
			// may issue one.
			w.do(Fresh, intended)
			return
		}
		op := &Op{Kind: Verify, Coupon: coupon, Guide: p.guides[w.rng.IntN(len(p.guides))]}
		o := w.send(op, intended)
		w.verifies = append(w.verifies, Verification{Coupon: coupon, Guide: op.Guide, Status: o.Status, Code: o.Code, Commission: o.Commission, Repeat: repeat})
		if o.Status == 200 {
			w.verified.add(coupon)
		}
	case Spend:
		w.spendSeq++
		op := &Op{Kind: Spend, Member: w.member(), Points: 1 + w.rng.Int64N(maxSpend),
			RequestID: "bench-" + p.runID + "-s" + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.spendSeq)}
		o := w.send(op, intended)
		switch {
		case o.Status == 200:
			w.spends = append(w.spends, Spending{Member: op.Member, RequestID: op.RequestID, Points: op.Points})
		case o.uncertain():
			w.spends = append(w.spends, Spending{Member: op.Member, RequestID: op.RequestID, Points: op.Points, Uncertain: true})
			if w.uncertainSpend == nil {
				w.uncertainSpend = map[string]int64{}
			}
			w.uncertainSpend[op.Member] += op.Points
		}
	}
}

// pickCoupon chooses the coupon to verify: mostly the oldest one not
// verified yet (expect 200), sometimes one verified before (expect 409).
func (w *worker) pickCoupon() (coupon string, repeat, ok bool) {
	fresh := w.couponAt < len(w.coupons)
	if len(w.verified.items) > 0 && (!fresh || w.rng.Float64() < repeatVerify) {
		return w.verified.pick(w.rng), true, true
	}
	if !fresh {
		return "", false, false
	}
	c := w.coupons[w.couponAt]
	w.couponAt++
	if w.couponAt == len(w.coupons) {
		w.coupons, w.couponAt = w.coupons[:0], 0
	}
	return c, false, true
}

func (w *worker) rememberCoupon(id string) {
	if len(w.coupons)-w.couponAt >= couponsKeep {
		// Too many waiting: forget the oldest.
		w.couponAt++
	}
	if w.couponAt > couponsKeep {
		w.coupons = append(w.coupons[:0], w.coupons[w.couponAt:]...)
		w.couponAt = 0
	}
	w.coupons = append(w.coupons, id)
}

// recentRing keeps the last recentKeep ids a worker saw, to pick from at
// random: redeemed codes for duplicates, verified coupons for repeats.
type recentRing struct {
	items []string
	at    int
}

func (r *recentRing) add(id string) {
	if len(r.items) < recentKeep {
		r.items = append(r.items, id)
		return
	}
	r.items[r.at] = id
	r.at = (r.at + 1) % recentKeep
}

// pick returns one of the ids at random; the ring must not be empty.
func (r *recentRing) pick(rng *rand.Rand) string { return r.items[rng.IntN(len(r.items))] }

// scan sends one scan and notes what it means for the audit.
func (w *worker) scan(op *Op, intended time.Time) {
	o := w.send(op, intended)
	w.note(op, o)
}

func (w *worker) note(op *Op, o Outcome) {
	switch {
	case o.Status == 200:
		w.wins = append(w.wins, Win{Code: op.Code, Member: op.Member, Points: o.Points, Kind: op.Kind,
			Coupon: o.Coupon, Guide: o.Guide, Commission: o.Commission})
		if op.Kind == Fresh || op.Kind == Contested {
			w.recent.add(op.Code)
		}
		if o.Coupon != "" {
			w.rememberCoupon(o.Coupon)
		}
	case o.uncertain():
		if w.uncertain == nil {
			w.uncertain = map[string]int{}
		}
		w.uncertain[op.Member]++
	}
}

func (w *worker) send(op *Op, intended time.Time) Outcome {
	start := time.Now()
	o := w.p.target.Do(op)
	lat := time.Since(start)
	if !intended.IsZero() {
		lat = time.Since(intended)
	}
	w.shard.record(op.Kind, o, lat)
	return o
}

// contest sends the contenders' scans of one code at the same moment, each
// from its own goroutine and connection, as different members.
func (w *worker) contest(code string, intended time.Time) {
	n := w.p.mix.contenders
	ops := make([]Op, n)
	outs := make([]Outcome, n)
	lats := make([]time.Duration, n)
	for i, m := range w.members(n) {
		ops[i] = Op{Kind: Contested, Code: code, Member: m}
	}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			start := time.Now()
			outs[i] = w.p.target.Do(&ops[i])
			lats[i] = time.Since(start)
			if !intended.IsZero() {
				lats[i] = time.Since(intended)
			}
		}()
	}
	close(gate)
	wg.Wait()
	c := Contest{Code: code, Contenders: n}
	for i := range ops {
		w.shard.record(Contested, outs[i], lats[i])
		w.note(&ops[i], outs[i])
		switch {
		case outs[i].Status == 200:
			c.Wins++
		case outs[i].uncertain():
			c.Uncertain++
		default:
			c.Refused++
			if outs[i].Status == 409 && outs[i].Code == "already_redeemed" {
				c.Lost++
			}
		}
	}
	w.contests = append(w.contests, c)
}

// freshCode claims a code no other request of the run has used.
func (w *worker) freshCode() (string, bool) {
	p := w.p
	if w.codeNext == w.codeEnd {
		lo := p.codeNext.Add(codeChunk) - codeChunk
		if lo >= int64(p.codes.Len()) {
			p.exhausted.Store(true)
			p.stop.Store(true)
			return "", false
		}
		w.codeNext, w.codeEnd = int(lo), min(int(lo)+codeChunk, p.codes.Len())
	}
	i := w.codeNext
	w.codeNext++
	return p.codes.Code(i), true
}

func (w *worker) member() string { return w.p.members[w.rng.IntN(len(w.p.members))] }

// members draws n different members, or as different as the pool allows.
func (w *worker) members(n int) []string {
	pool := w.p.members
	out := make([]string, 0, n)
	for len(out) < n {
		m := pool[w.rng.IntN(len(pool))]
		dup := false
		for _, o := range out {
			dup = dup || o == m
		}
		if !dup || len(pool) < n {
			out = append(out, m)
		}
	}
	return out
}

// forge returns code with its last symbol changed: the same batch and
// serial under a tag the brand never made.
func forge(code string, r *rand.Rand) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := []byte(code)
	last := b[len(b)-1]
	for b[len(b)-1] == last {
		b[len(b)-1] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// showProgress writes a line a second until done is closed.
func (p *phase) showProgress(start time.Time, done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	lastAt := start
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			var total int64
			var cl [4]int64
			for _, s := range p.shards {
				s.mu.Lock()
				total += s.done
				for i := range cl {
					cl[i] += s.classes[i]
				}
				s.mu.Unlock()
			}
			rate := float64(total-last) / now.Sub(lastAt).Seconds()
			last, lastAt = total, now
			fmt.Fprintf(p.progress, "\r\033[K%s %4.0fs  %9.0f req/s  %s done  2xx %s  4xx %s  5xx %s  no answer %s",
				p.name, now.Sub(start).Seconds(), rate, thousands(total), thousands(cl[0]), thousands(cl[1]), thousands(cl[2]), thousands(cl[3]))
		}
	}
}
