package reward_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// The equivalence tests run one seeded stream of requests twice, in two
// stores that mint the same codes, once one request at a time and once from
// many goroutines so that the store groups decisions into commits
// differently, and require the same money in the end. A failure names its
// seed; rerun it with
//
//	go test -race -run 'TestEquivalence.*/seed=7$' ./reward -equiv.seed=7
var equivSeed = flag.Uint64("equiv.seed", 0, "run the equivalence tests with this seed only")

// eachSeed runs test once a seed (-equiv.seed's, else 1 and 2) as the
// subtest seed=N, with a random source drawn from the seed and salt and a
// world of members whose campaign is campaignDoc's with fields, drawing its
// points and coupons from the seed "<name>-N".
func eachSeed(t *testing.T, name string, salt uint64, members int, fields map[string]any, test func(t *testing.T, rng *rand.Rand, w equivWorld)) {
	seeds := []uint64{1, 2}
	if *equivSeed != 0 {
		seeds = []uint64{*equivSeed}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			fields := maps.Clone(fields)
			fields["seed"] = fmt.Sprintf("%s-%d", name, seed)
			w := equivWorld{campaign: campaignDoc(t, fields), members: members, bound: map[string]string{}}
			test(t, rand.New(rand.NewPCG(seed, salt)), w)
		})
	}
}

// equivOp is one request of a stream.
type equivOp struct {
	spend  bool
	serial uint32
	member string
	guide  string
	points int64
	reqID  string
}

// run sends op to eng and returns its outcome: the error code, or the
// answer with the fields that are random by design (coupon and entry ids)
// blanked.
func (op equivOp) run(eng *reward.Engine, codes []string) string {
	if op.spend {
		raw, err := eng.Spend(op.member, reward.SpendRequest{Points: op.points, Reason: "gift", RequestID: op.reqID})
		if err != nil {
			return "error " + string(reward.ErrorCode(err))
		}
		var res reward.SpendResult
		if err := json.Unmarshal(raw, &res); err != nil {
			panic(err)
		}
		res.Entry = ""
		return fmt.Sprintf("spent %+v", res)
	}
	raw, err := eng.Scan(reward.ScanRequest{Code: codes[op.serial], Member: op.member, Guide: op.guide, RequestID: op.reqID})
	if err != nil {
		return "error " + string(reward.ErrorCode(err))
	}
	var res reward.ScanResult
	if err := json.Unmarshal(raw, &res); err != nil {
		panic(err)
	}
	if res.Coupon != nil {
		res.Coupon.ID = "coupon"
	}
	out, _ := json.Marshal(res)
	return string(out)
}

// equivWorld is what both runs of a stream set up first, one step at a time:
// a campaign, guides (G4 is member m0 as a consumer), bindings and aliases
// ("<member>-alias" for every third member).
type equivWorld struct {
	campaign string
	members  int
	bound    map[string]string // member → guide
}

func (w equivWorld) aliases() map[string]string {
	out := map[string]string{}
	for i := 0; i < w.members; i += 3 {
		m := fmt.Sprintf("m%d", i)
		out[m+"-alias"] = m
	}
	return out
}

func (w equivWorld) open(tb testing.TB, codes uint32, maxGroup int) *fixture {
	tb.Helper()
	f := openFixture(tb, codes, 0, fixtureOptions{maxGroup: maxGroup, sharedKeys: true})
	mustApply(tb, f, w.campaign)
	for i := 1; i <= 4; i++ {
		own := ""
		if i == 4 {
			own = "m0"
		}
		mustGuide(tb, f, fmt.Sprintf("G%d", i), own)
	}
	for _, m := range slices.Sorted(maps.Keys(w.bound)) {
		if _, err := f.eng.Bind(m, w.bound[m], false); err != nil {
			tb.Fatal(err)
		}
	}
	aliases := w.aliases()
	for _, a := range slices.Sorted(maps.Keys(aliases)) {
		if _, err := f.eng.LinkAlias(aliases[a], a); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

// TestEquivalenceOrderIndependent runs a stream whose outcome does not depend
// on the order of its requests, sequentially and in concurrent bursts, and
// compares the ledgers as multisets.
//
// Under concurrency the order of decisions changes, and with it who wins a
// contested code, the member's tier, who gets the new-member bonus or the
// last of a budget, stock or daily limit. The stream is built so that none of
// that can matter: every code belongs to one member, who may scan it several
// times, under their own id or an alias, always naming the same guide (and
// an unbound member the same guide on all their codes); the
// campaign has no tiers, bonus, daily limit or budget, and a coupon stock no
// stream can reach. Points and coupons are seeded draws of (campaign seed,
// code), so each code pays the same whoever asks first. What the test does
// vary is everything else: the interleaving, the commit groups, duplicates,
// aliases, bound and unbound members, unknown guides and a guide scanning
// for themselves.
func TestEquivalenceOrderIndependent(t *testing.T) {
	const (
		codes   = 200
		members = 30
		ops     = 600
		burst   = 64
	)
	campaign := map[string]any{
		"points":           map[string]any{"min": 1, "max": 20},
		"coupon":           map[string]any{"title": "gift", "probability": 0.3, "stock": 1_000_000, "valid_days": 30},
		"guide_commission": map[string]any{"per_scan": 1},
	}
	eachSeed(t, "equivalence", 0x5eed, members, campaign, func(t *testing.T, rng *rand.Rand, w equivWorld) {
		for i := range members {
			if rng.IntN(2) == 0 {
				w.bound[fmt.Sprintf("m%d", i)] = fmt.Sprintf("G%d", 1+rng.IntN(3))
			}
		}
		guides := []string{"", "G1", "G2", "G3", "G4", "ghost"}
		// An unbound member's first redeemed scan binds them to the
		// guide it names, so they name one guide on all their codes:
		// which code is first must not matter.
		unboundGuide := make([]string, members)
		for i := range unboundGuide {
			unboundGuide[i] = guides[rng.IntN(len(guides))]
		}
		owner := make([]int, codes+1)
		guide := make([]string, codes+1)
		for s := 1; s <= codes; s++ {
			owner[s], guide[s] = rng.IntN(members), guides[rng.IntN(len(guides))]
			if _, bound := w.bound[fmt.Sprintf("m%d", owner[s])]; !bound {
				guide[s] = unboundGuide[owner[s]]
			}
		}
		stream := make([]equivOp, ops)
		for i := range stream {
			s := 1 + rng.IntN(codes)
			m := fmt.Sprintf("m%d", owner[s])
			if owner[s]%3 == 0 && rng.IntN(2) == 0 {
				m += "-alias"
			}
			stream[i] = equivOp{serial: uint32(s), member: m, guide: guide[s]}
		}

		one := w.open(t, codes, 0)
		many := w.open(t, codes, 0)
		cs := allCodes(one, codes)
		if !slices.Equal(cs, allCodes(many, codes)) {
			t.Fatal("the two stores mint different codes")
		}
		seqOut := make([]string, ops)
		for i, op := range stream {
			seqOut[i] = op.run(one.eng, cs)
		}
		conOut := make([]string, ops)
		for start := 0; start < ops; start += burst {
			gate := make(chan struct{})
			var wg sync.WaitGroup
			for i := start; i < min(start+burst, ops); i++ {
				wg.Go(func() {
					<-gate
					conOut[i] = stream[i].run(many.eng, cs)
				})
			}
			close(gate)
			wg.Wait()
		}

		// Per code, the same outcomes: one redemption, the rest 409.
		byCode := func(outs []string) map[uint32][]string {
			m := map[uint32][]string{}
			for i, o := range outs {
				if !strings.HasPrefix(o, "error ") {
					var res reward.ScanResult
					json.Unmarshal([]byte(o), &res)
					res.Member, res.Balance, res.Growth = "", 0, 0 // running totals depend on order
					b, _ := json.Marshal(res)
					o = string(b)
				}
				m[stream[i].serial] = append(m[stream[i].serial], o)
			}
			for _, v := range m {
				slices.Sort(v)
			}
			return m
		}
		a, b := byCode(seqOut), byCode(conOut)
		for s := uint32(1); s <= codes; s++ {
			if !slices.Equal(a[s], b[s]) {
				t.Fatalf("code %d: one at a time %q, concurrently %q", s, a[s], b[s])
			}
		}
		compareMoney(t, one, many, w, false)
	})
}

// orderedStore records the order in which the store decides requests: the
// wrapped decision runs on the store's decider goroutine, one at a time.
type orderedStore struct {
	store.DB
	idx int
	log *decisionLog
}

type decisionLog struct {
	mu     sync.Mutex
	order  []int
	placed map[int]bool
}

func (s orderedStore) Update(fn func(store.Tx) error) error {
	return s.DB.Update(func(tx store.Tx) error {
		s.log.mu.Lock()
		// A request's first decision places it; what follows (its
		// statistics' flush, a retrying backend's second run) does not.
		if !s.log.placed[s.idx] {
			s.log.placed[s.idx] = true
			s.log.order = append(s.log.order, s.idx)
		}
		s.log.mu.Unlock()
		return fn(tx)
	})
}

// TestEquivalenceGrouping keeps the order of decisions and changes only how
// they are grouped into commits. A stream that leans on every rule whose
// outcome depends on order — contested codes, tiers, the new-member bonus, a
// daily limit, a points budget and a coupon stock that run out, spends that
// race scans for a balance, request_id replays and reuses — runs from many
// goroutines against a store that groups up to 1024 decisions in a commit,
// and the order in which the store decided is recorded. The same requests
// are then sent one at a time, in that order, to a store that commits every
// decision alone (MaxGroup 1). Every answer, every ledger entry in order,
// every balance, redemption and counter must be the same: grouping is
// invisible.
func TestEquivalenceGrouping(t *testing.T) {
	const (
		codes   = 250
		members = 25
		ops     = 600
		workers = 48
	)
	campaign := map[string]any{
		"points":                 map[string]any{"min": 5, "max": 20},
		"points_budget":          3000,
		"new_member_bonus":       20,
		"daily_limit_per_member": 8,
		"coupon":                 map[string]any{"title": "gift", "probability": 0.5, "stock": 25, "valid_days": 30},
		"guide_commission":       map[string]any{"per_scan": 2},
		"tiers": []map[string]any{
			{"name": "silver", "min_growth": 40, "multiplier": 1.2},
			{"name": "gold", "min_growth": 100, "multiplier": 1.5},
		},
	}
	eachSeed(t, "grouping", 0x0de7, members, campaign, func(t *testing.T, rng *rand.Rand, w equivWorld) {
		for i := 1; i < members; i += 2 {
			w.bound[fmt.Sprintf("m%d", i)] = fmt.Sprintf("G%d", 1+rng.IntN(4))
		}
		guides := []string{"", "", "G1", "G2", "G3", "G4", "ghost"}
		member := func() string {
			i := rng.IntN(members)
			if i%3 == 0 && rng.IntN(3) == 0 {
				return fmt.Sprintf("m%d-alias", i)
			}
			return fmt.Sprintf("m%d", i)
		}
		stream := make([]equivOp, 0, ops)
		for i := range ops {
			var op equivOp
			switch r := rng.IntN(100); {
			case r < 15:
				op = equivOp{spend: true, member: member(), points: 1 + rng.Int64N(40), reqID: fmt.Sprintf("spend-%d", i)}
			case r < 25 && len(stream) > 0:
				// A retry of an earlier request, sometimes with another body.
				op = stream[rng.IntN(len(stream))]
				if op.reqID == "" {
					op.reqID = fmt.Sprintf("scan-%d", i)
				} else if rng.IntN(4) == 0 {
					op.member = member()
				}
			default:
				op = equivOp{serial: uint32(1 + rng.IntN(codes)), member: member(), guide: guides[rng.IntN(len(guides))]}
				if rng.IntN(5) == 0 {
					op.reqID = fmt.Sprintf("scan-%d", i)
				}
			}
			stream = append(stream, op)
		}

		grouped := w.open(t, codes, 1024)
		alone := w.open(t, codes, 1)
		cs := allCodes(grouped, codes)
		log := &decisionLog{placed: map[int]bool{}}
		outGrouped := make([]string, ops)
		rewardtest.Workers(workers, len(stream), func(i int) {
			eng := reward.New(orderedStore{DB: grouped.db, idx: i, log: log}, grouped.eng.Keys(), reward.Options{Now: func() time.Time { return grouped.now }})
			// The engines are one writer, an engine a request only to
			// tell the requests apart in the log: they number the
			// feed's events from one tail, as one engine would.
			reward.ShareFeedTail(eng, grouped.eng)
			outGrouped[i] = stream[i].run(eng, cs)
		})
		if len(log.order) != ops {
			t.Fatalf("the store decided %d of %d requests", len(log.order), ops)
		}
		inOrder := 0
		for k, i := range log.order {
			if i == k {
				inOrder++
			}
			if out := stream[i].run(alone.eng, cs); out != outGrouped[i] {
				t.Fatalf("request %d (%+v), decided %dth:\n grouped: %s\n alone:   %s", i, stream[i], k, outGrouped[i], out)
			}
		}
		outcomes := map[string]int{}
		for _, o := range outGrouped {
			switch {
			case strings.HasPrefix(o, "error "):
				outcomes[o[len("error "):]]++
			case strings.Contains(o, `"tier":"gold"`):
				outcomes["redeemed in gold"]++
			case strings.Contains(o, reward.NotePointsBudgetPartial), strings.Contains(o, reward.NoteCouponStockExhausted):
				outcomes["redeemed, budget or stock short"]++
			default:
				outcomes["other answer"]++
			}
		}
		t.Logf("outcomes %v; %d of %d decided in submission order", outcomes, inOrder, ops)
		compareMoney(t, grouped, alone, w, true)
	})
}

// compareMoney requires the same money in two stores: members' balances and
// ledgers, guides' commissions and ledgers, redemptions and campaign
// counters, and a clean audit of each. Ledgers are compared entry by entry
// when ordered, else as multisets of (code, account, delta, reason).
func compareMoney(t *testing.T, a, b *fixture, w equivWorld, ordered bool) {
	t.Helper()
	entryKey := func(en reward.Entry) string {
		if ordered {
			en.ID = ""
			raw, _ := json.Marshal(en)
			return string(raw)
		}
		return fmt.Sprintf("%s %s %+d %s %s", en.Code, en.Account, en.Delta, en.Reason, en.Campaign)
	}
	ledger := func(f *fixture, prefix, holder string) []string {
		var out []string
		for _, en := range ledgerOf(t, f.db, prefix, holder) {
			out = append(out, entryKey(en))
		}
		if !ordered {
			slices.Sort(out)
		}
		return out
	}
	for i := range w.members {
		id := fmt.Sprintf("m%d", i)
		va, erra := a.eng.Member(id, "", 1)
		vb, errb := b.eng.Member(id, "", 1)
		if code(erra) != code(errb) {
			t.Fatalf("member %s: %v and %v", id, erra, errb)
		}
		if erra != nil {
			continue
		}
		if va.Points != vb.Points || va.Growth != vb.Growth || va.Redemptions != vb.Redemptions || va.Seq != vb.Seq {
			t.Fatalf("member %s: points %d/%d growth %d/%d redemptions %d/%d entries %d/%d",
				id, va.Points, vb.Points, va.Growth, vb.Growth, va.Redemptions, vb.Redemptions, va.Seq, vb.Seq)
		}
		if la, lb := ledger(a, "l/", id), ledger(b, "l/", id); !slices.Equal(la, lb) {
			t.Fatalf("member %s ledgers differ:\n%s\n---\n%s", id, strings.Join(la, "\n"), strings.Join(lb, "\n"))
		}
	}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("G%d", i)
		ga, _ := a.eng.GuideByID(id, 1)
		gb, _ := b.eng.GuideByID(id, 1)
		if ga.Commission != gb.Commission || ga.Seq != gb.Seq {
			t.Fatalf("guide %s: commission %d/%d entries %d/%d", id, ga.Commission, gb.Commission, ga.Seq, gb.Seq)
		}
		// A guide's entries come from many members, whose order varies
		// unless the whole order is kept.
		if la, lb := ledger(a, "gl/", id), ledger(b, "gl/", id); !slices.Equal(la, lb) {
			t.Fatalf("guide %s ledgers differ:\n%s\n---\n%s", id, strings.Join(la, "\n"), strings.Join(lb, "\n"))
		}
	}
	redemptions := func(f *fixture) map[string]string {
		out := map[string]string{}
		err := f.db.Scan([]byte("r/"), nil, func(k, v []byte) bool {
			var r reward.Redemption
			if err := json.Unmarshal(v, &r); err != nil {
				t.Fatal(err)
			}
			hasCoupon := r.Coupon != ""
			r.Ledger, r.Coupon = nil, ""
			if !ordered {
				r.RequestID = ""
			}
			raw, _ := json.Marshal(r)
			out[string(k)] = fmt.Sprintf("%s coupon=%v", raw, hasCoupon)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ra, rb := redemptions(a), redemptions(b)
	if len(ra) != len(rb) {
		t.Fatalf("%d and %d redemptions", len(ra), len(rb))
	}
	for k, v := range ra {
		if rb[k] != v {
			t.Fatalf("redemption %s:\n%s\n%s", k, v, rb[k])
		}
	}
	ca, cb := mustCampaign(t, a, "promo"), mustCampaign(t, b, "promo")
	if ca.Counters != cb.Counters {
		t.Fatalf("counters %+v and %+v", ca.Counters, cb.Counters)
	}
	if ca.Counters.RewardedScans == 0 {
		t.Fatal("the stream redeemed nothing")
	}
	t.Logf("%d redemptions, counters %+v", len(ra), ca.Counters)
	mustAudit(t, a)
	mustAudit(t, b)
}
