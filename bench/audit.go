package bench

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/yima-dev/yima/reward"
)

// Win is a 200 the client saw: code redeemed for member, Points promised,
// perhaps a coupon issued and a guide's commission.
type Win struct {
	Code       string `json:"code"`
	Member     string `json:"member"`
	Points     int64  `json:"points"`
	Kind       Kind   `json:"kind"`
	Coupon     string `json:"coupon,omitempty"`
	Guide      string `json:"guide,omitempty"`
	Commission int64  `json:"commission,omitempty"`
}

// Verification is what a guide was told when verifying a coupon.
type Verification struct {
	Coupon string `json:"coupon"`
	Guide  string `json:"guide"`
	// Status is the HTTP status, 0 when no answer came; Code the error
	// code of a refusal.
	Status     int    `json:"status"`
	Code       string `json:"code,omitempty"`
	Commission int64  `json:"commission,omitempty"`
	// Repeat is true when the client had seen the coupon verified before
	// (it expects 409 already_used).
	Repeat bool `json:"repeat,omitempty"`
}

// Spending is a spend the server accepted (200), or one whose outcome the
// client cannot know (Uncertain). Refused spends took nothing and are not
// kept.
type Spending struct {
	Member    string `json:"member"`
	RequestID string `json:"request_id"`
	Points    int64  `json:"points"`
	Uncertain bool   `json:"uncertain,omitempty"`
}

// Contest is what the contenders of one contested code were told.
type Contest struct {
	Code       string `json:"code"`
	Contenders int    `json:"contenders"`
	Wins       int    `json:"wins"`
	// Refused counts definite refusals (4xx); Lost those of them that were
	// 409 already_redeemed, which say that another contender won. Other
	// refusals (403 budget_exhausted, 429 daily_limit) leave the code
	// unredeemed, so a contest may end with no winner.
	Refused int `json:"refused"`
	Lost    int `json:"lost"`
	// Uncertain counts contenders with no answer or a 5xx: the server may
	// or may not have acted.
	Uncertain int `json:"uncertain"`
}

// Observations are what the client saw during a run, for the audit.
type Observations struct {
	Wins     []Win
	Contests []Contest
	Verifies []Verification
	Spends   []Spending
	// Members are every member the run scanned as.
	Members []string
	// Guides are the run's guides.
	Guides []string
	// Campaign is the campaign the run applied, nil without one.
	Campaign *reward.Campaign
	// Uncertain counts, per member, scans whose outcome the client cannot
	// know (no answer, or a 5xx): the server may have redeemed them.
	Uncertain map[string]int
	// UncertainSpend sums, per member, the points of spends whose outcome
	// the client cannot know.
	UncertainSpend map[string]int64
}

// uncertainty reports whether any request's outcome is unknown, which
// turns the run-wide totals (campaign counters, guides' commissions) from
// exact into lower bounds.
func (o *Observations) uncertainty() bool {
	if len(o.Uncertain) > 0 || len(o.UncertainSpend) > 0 {
		return true
	}
	for _, v := range o.Verifies {
		if v.Status == 0 || v.Status >= 500 {
			return true
		}
	}
	return false
}

// AuditOptions bound the audit's work.
type AuditOptions struct {
	// Conns is how many lookups run at once.
	Conns int
	// MaxCodes bounds how many redeemed codes are looked up; past it a
	// random sample of MaxCodes is. 0 looks up none.
	MaxCodes int
	// Seed picks the sample.
	Seed uint64
	// NoServerAudit skips the server's own audit, which reads the whole
	// store: minutes for a store preloaded with tens of millions of
	// codes.
	NoServerAudit bool
}

// AuditReport is what the audit checked and the violations it found.
type AuditReport struct {
	Passed bool `json:"passed"`
	// Winners is how many 200s the client saw; CodesChecked how many of
	// their codes were looked up on the server (all of them unless
	// Sampled).
	Winners      int  `json:"winners"`
	CodesChecked int  `json:"codes_checked"`
	Sampled      bool `json:"sampled,omitempty"`
	// Members is how many members' balances and ledgers were compared.
	Members int `json:"members_checked"`
	// Contested is how many contested codes were checked for exactly one
	// winner; Inconclusive how many of them had no winner the client saw
	// and a contender without a certain answer; Unwon how many were
	// refused to every contender for a reason that leaves the code
	// unredeemed (budget_exhausted), which is right.
	Contested    int `json:"contested"`
	Inconclusive int `json:"inconclusive,omitempty"`
	Unwon        int `json:"unwon,omitempty"`
	// Spends is how many accepted spends were checked in the ledgers.
	Spends int `json:"spends,omitempty"`
	// Coupons is how many coupons the 200s issued, Verified how many of
	// them were verified (one 200 each), CouponsChecked how many were
	// looked up on the server.
	Coupons        int `json:"coupons,omitempty"`
	Verified       int `json:"verified,omitempty"`
	CouponsChecked int `json:"coupons_checked,omitempty"`
	// Guides is how many guides' commissions were compared.
	Guides int `json:"guides_checked,omitempty"`
	// Campaign is true when the campaign's counters were compared with
	// its limits and with the 200s; Exact when with no uncertain outcome
	// they had to match exactly rather than be at least what was promised.
	Campaign bool `json:"campaign_checked,omitempty"`
	Exact    bool `json:"exact,omitempty"`
	// ServerAudit is the server's own audit: "clean", or how many
	// violations it reported (listed among Violations), or "" when it was
	// not run.
	ServerAudit string `json:"server_audit,omitempty"`
	// Violations describe what is wrong, at most maxViolations of them;
	// ViolationCount counts them all.
	Violations     []string `json:"violations,omitempty"`
	ViolationCount int      `json:"violation_count"`
	// Errors are lookups that failed, so the audit could not finish.
	Errors []string `json:"errors,omitempty"`
}

const maxViolations = 20

func (a *AuditReport) violate(format string, args ...any) {
	a.ViolationCount++
	if len(a.Violations) < maxViolations {
		a.Violations = append(a.Violations, fmt.Sprintf(format, args...))
	}
}

// Audit checks what the client saw against itself and against the server:
//
//   - every code has at most one winner among all the 200s;
//   - a forged code is never redeemed;
//   - every contested code had exactly one winner (or, when a contender got
//     no certain answer and none won, it is counted inconclusive);
//   - every code the client saw redeemed is redeemed on the server;
//   - every member's balance equals the points its 200s promised, and its
//     ledger lists exactly the codes it won — or, for a member with
//     uncertain outcomes, at least those, with at most that many more.
//
// It fails (Passed false) on any violation or on a lookup it could not
// make.
func Audit(ctx context.Context, obs *Observations, chk Checker, opts AuditOptions) AuditReport {
	a := AuditReport{Winners: len(obs.Wins), Contested: len(obs.Contests)}
	if opts.Conns < 1 {
		opts.Conns = 1
	}

	// At most one winner per code, and never a forgery.
	byCode := make(map[string][]int, len(obs.Wins))
	for i, w := range obs.Wins {
		byCode[w.Code] = append(byCode[w.Code], i)
		if w.Kind == Forged {
			a.violate("forged code %s was redeemed for %s", w.Code, w.Member)
		}
		if w.Kind == Preloaded {
			a.violate("preloaded code %s, redeemed before the run, was paid again to %s", w.Code, w.Member)
		}
	}
	doubles := make([]string, 0)
	for code, idx := range byCode {
		if len(idx) > 1 {
			doubles = append(doubles, code)
		}
	}
	slices.Sort(doubles)
	for _, code := range doubles {
		idx := byCode[code]
		who := make([]string, len(idx))
		for i, j := range idx {
			who[i] = fmt.Sprintf("%s (%v)", obs.Wins[j].Member, obs.Wins[j].Kind)
		}
		a.violate("code %s has %d winners: %s", code, len(idx), strings.Join(who, ", "))
	}

	// Contested codes: exactly one winner.
	for _, c := range obs.Contests {
		switch {
		case c.Wins > 1:
			a.violate("contested code %s: %d of %d contenders won", c.Code, c.Wins, c.Contenders)
		case c.Wins == 0 && c.Uncertain == 0 && c.Lost > 0:
			a.violate("contested code %s: %d of %d contenders were told it was already redeemed, and none won", c.Code, c.Lost, c.Contenders)
		case c.Wins == 0 && c.Uncertain == 0:
			// Refused for every contender (budget, limit): no winner is right.
			a.Unwon++
		case c.Wins == 0:
			a.Inconclusive++
		}
	}

	// Every 200 is a redemption on the server.
	var codes []string
	codes, a.Sampled = sample(slices.Sorted(maps.Keys(byCode)), opts.MaxCodes, opts.Seed, 0x5eed)
	a.CodesChecked = len(codes)
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(a.Errors) < maxViolations {
			a.Errors = append(a.Errors, err.Error())
		}
	}
	lookEach(ctx, codes, opts.Conns, chk.CodeRedeemed, fail, func(code string, redeemed bool) {
		if !redeemed {
			mu.Lock()
			a.violate("code %s was answered 200 (for %s) but the server does not record it redeemed", code, obs.Wins[byCode[code][0]].Member)
			mu.Unlock()
		}
	})

	// Every member's balance and ledger match its 200s and its spends.
	want := map[string]*memberExpect{}
	expect := func(m string) *memberExpect {
		e := want[m]
		if e == nil {
			e = &memberExpect{}
			want[m] = e
		}
		return e
	}
	for _, w := range obs.Wins {
		e := expect(w.Member)
		e.wins = append(e.wins, w)
	}
	for _, sp := range obs.Spends {
		e := expect(sp.Member)
		if sp.Uncertain {
			e.uncertainSpends = append(e.uncertainSpends, sp)
		} else {
			e.spends = append(e.spends, sp)
			a.Spends++
		}
	}
	for m, n := range obs.Uncertain {
		expect(m).uncertainScans = n
	}
	members := slices.Clone(obs.Members)
	known := make(map[string]bool, len(members))
	for _, m := range members {
		known[m] = true
	}
	for m := range want {
		if !known[m] {
			members = append(members, m)
		}
	}
	a.Members = len(members)
	lookEach(ctx, members, opts.Conns, chk.Member, fail, func(m string, got MemberState) {
		e := want[m]
		if e == nil {
			e = &memberExpect{}
		}
		problems := checkMember(m, e, got)
		if len(problems) > 0 {
			mu.Lock()
			for _, p := range problems {
				a.violate("%s", p)
			}
			mu.Unlock()
		}
	})

	uncertain := obs.uncertainty()
	a.checkCoupons(ctx, obs, chk, opts, fail)
	a.checkGuides(ctx, obs, chk, opts, uncertain, fail)
	a.checkCampaign(ctx, obs, chk, uncertain, fail)

	// The server's own audit over everything it holds.
	if ctx.Err() == nil && !opts.NoServerAudit {
		vs, err := chk.ServerAudit(ctx)
		switch {
		case err != nil:
			fail(err)
		case len(vs) == 0:
			a.ServerAudit = "clean"
		default:
			a.ServerAudit = fmt.Sprintf("%d violations", len(vs))
			for _, v := range vs {
				a.violate("server audit: %s", v)
			}
		}
	}

	if ctx.Err() != nil {
		a.Errors = append(a.Errors, "audit interrupted: "+ctx.Err().Error())
	}
	a.Passed = a.ViolationCount == 0 && len(a.Errors) == 0
	return a
}

// checkCoupons holds the coupons to what the client saw: each issued once,
// each verified by at most one 200, refused as already used only after a
// verification of it succeeded (or might have), never unknown to the server
// that issued it; and, on the server, verified coupons used and the others
// still issued.
func (a *AuditReport) checkCoupons(ctx context.Context, obs *Observations, chk Checker, opts AuditOptions, fail func(error)) {
	issued := map[string]string{} // coupon → code
	for _, w := range obs.Wins {
		if w.Coupon == "" {
			continue
		}
		if prev, dup := issued[w.Coupon]; dup {
			a.violate("coupon %s was issued twice: by codes %s and %s", w.Coupon, prev, w.Code)
			continue
		}
		issued[w.Coupon] = w.Code
	}
	a.Coupons = len(issued)
	type seen struct{ ok, refused, uncertain, unknown int }
	by := map[string]*seen{}
	for _, v := range obs.Verifies {
		s := by[v.Coupon]
		if s == nil {
			s = &seen{}
			by[v.Coupon] = s
		}
		switch {
		case v.Status == 200:
			s.ok++
		case v.Status == 0 || v.Status >= 500:
			s.uncertain++
		case v.Status == 409 && v.Code == "already_used":
			s.refused++
		case v.Status == 404:
			s.unknown++
		default:
			a.violate("coupon %s: verification by %s answered %d %s", v.Coupon, v.Guide, v.Status, v.Code)
		}
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := by[id]
		switch {
		case s.ok > 1:
			a.violate("coupon %s was verified %d times (one 200 each)", id, s.ok)
		case s.ok == 0 && s.uncertain == 0 && s.refused > 0:
			a.violate("coupon %s was refused as already used %d times, but no verification of it succeeded", id, s.refused)
		}
		if s.unknown > 0 {
			a.violate("coupon %s, issued by a 200 for code %s, is unknown to the server when verified", id, issued[id])
		}
		if s.ok == 1 {
			a.Verified++
		}
	}

	// On the server: a sample of the issued coupons.
	all, _ := sample(slices.Sorted(maps.Keys(issued)), opts.MaxCodes, opts.Seed, 0xc0)
	a.CouponsChecked = len(all)
	var mu sync.Mutex
	lookEach(ctx, all, opts.Conns, chk.Coupon, fail, func(id string, got CouponState) {
		s := by[id]
		var problem string
		switch {
		case !got.Found:
			problem = fmt.Sprintf("coupon %s was issued by a 200 for code %s but the server does not know it", id, issued[id])
		case s != nil && s.ok > 0 && got.Status != reward.CouponUsed:
			problem = fmt.Sprintf("coupon %s was verified (200) but the server says it is %s", id, got.Status)
		case (s == nil || s.ok+s.uncertain == 0) && got.Status != reward.CouponIssued:
			problem = fmt.Sprintf("coupon %s was never verified but the server says it is %s", id, got.Status)
		}
		if problem != "" {
			mu.Lock()
			a.violate("%s", problem)
			mu.Unlock()
		}
	})
}

// checkGuides compares each guide's commission balance and verification
// count with what the 200s promised: exactly, or with uncertain outcomes in
// the run, at least that.
func (a *AuditReport) checkGuides(ctx context.Context, obs *Observations, chk Checker, opts AuditOptions, uncertain bool, fail func(error)) {
	if len(obs.Guides) == 0 {
		return
	}
	commission := map[string]int64{}
	verified := map[string]int64{}
	for _, w := range obs.Wins {
		if w.Guide != "" {
			commission[w.Guide] += w.Commission
		}
	}
	for _, v := range obs.Verifies {
		if v.Status == 200 {
			commission[v.Guide] += v.Commission
			verified[v.Guide]++
		}
	}
	a.Guides = len(obs.Guides)
	var mu sync.Mutex
	lookEach(ctx, obs.Guides, opts.Conns, chk.Guide, fail, func(g string, got GuideState) {
		var problems []string
		switch {
		case !got.Found:
			problems = append(problems, fmt.Sprintf("guide %s is unknown to the server", g))
		case !uncertain && got.Commission != commission[g]:
			problems = append(problems, fmt.Sprintf("guide %s has %d commission on the server; the 200s promised %d", g, got.Commission, commission[g]))
		case uncertain && got.Commission < commission[g]:
			problems = append(problems, fmt.Sprintf("guide %s has %d commission on the server; the 200s promised at least %d", g, got.Commission, commission[g]))
		}
		switch {
		case !got.Found:
		case !uncertain && got.Verified != verified[g]:
			problems = append(problems, fmt.Sprintf("guide %s verified %d coupons on the server; the client saw %d 200s", g, got.Verified, verified[g]))
		case uncertain && got.Verified < verified[g]:
			problems = append(problems, fmt.Sprintf("guide %s verified %d coupons on the server; the client saw at least %d 200s", g, got.Verified, verified[g]))
		}
		if len(problems) > 0 {
			mu.Lock()
			for _, p := range problems {
				a.violate("%s", p)
			}
			mu.Unlock()
		}
	})
}

// checkCampaign holds the campaign's counters to its limits (budget and
// stock never overspent) and to the 200s: points paid, coupons issued and
// used, commissions and rewarded scans equal to what was promised, or with
// uncertain outcomes in the run, at least that.
func (a *AuditReport) checkCampaign(ctx context.Context, obs *Observations, chk Checker, uncertain bool, fail func(error)) {
	c := obs.Campaign
	if c == nil || ctx.Err() != nil {
		return
	}
	got, err := chk.Campaign(ctx, c.ID)
	if err != nil {
		fail(err)
		return
	}
	a.Campaign, a.Exact = true, !uncertain
	if !got.Found {
		a.violate("campaign %s is unknown to the server", c.ID)
		return
	}
	if c.PointsBudget > 0 && got.PointsPaid > c.PointsBudget {
		a.violate("campaign %s paid %d points, over its budget of %d", c.ID, got.PointsPaid, c.PointsBudget)
	}
	if c.Coupon != nil && got.CouponsIssued > c.Coupon.Stock {
		a.violate("campaign %s issued %d coupons, over its stock of %d", c.ID, got.CouponsIssued, c.Coupon.Stock)
	}
	if got.CouponsUsed > got.CouponsIssued {
		a.violate("campaign %s counts %d coupons used of %d issued", c.ID, got.CouponsUsed, got.CouponsIssued)
	}
	var points, coupons, used, commission int64
	for _, w := range obs.Wins {
		points += w.Points
		commission += w.Commission
		if w.Coupon != "" {
			coupons++
		}
	}
	for _, v := range obs.Verifies {
		if v.Status == 200 {
			used++
			commission += v.Commission
		}
	}
	for _, f := range []struct {
		what      string
		got, want int64
	}{
		{"points paid", got.PointsPaid, points},
		{"rewarded scans", got.RewardedScans, int64(len(obs.Wins))},
		{"coupons issued", got.CouponsIssued, coupons},
		{"coupons used", got.CouponsUsed, used},
		{"commission", got.Commission, commission},
	} {
		switch {
		case !uncertain && f.got != f.want:
			a.violate("campaign %s counts %d %s; the 200s promised %d", c.ID, f.got, f.what, f.want)
		case uncertain && f.got < f.want:
			a.violate("campaign %s counts %d %s; the 200s promised at least %d", c.ID, f.got, f.what, f.want)
		}
	}
}

// memberExpect is what the client saw of one member.
type memberExpect struct {
	wins            []Win
	spends          []Spending // accepted (200)
	uncertainSpends []Spending
	uncertainScans  int
}

// checkMember compares one member's account with its 200s: its balance is
// what its scans promised less what its spends took, its ledger pays each
// won code once and records each accepted spend once. Uncertain outcomes
// widen what is allowed by exactly what they could have done.
func checkMember(m string, e *memberExpect, got MemberState) []string {
	var out []string
	var sum, spent, maybeSpent int64
	wonCodes := map[string]bool{}
	for _, w := range e.wins {
		sum += w.Points
		// A scan that paid nothing writes no ledger entry to find.
		if w.Points != 0 {
			wonCodes[w.Code] = true
		}
	}
	for _, sp := range e.spends {
		spent += sp.Points
	}
	for _, sp := range e.uncertainSpends {
		maybeSpent += sp.Points
	}
	ledger := map[string]int{}
	for _, c := range got.Codes {
		ledger[c]++
	}
	if !got.Found && (len(e.wins) > 0 || len(e.spends) > 0) {
		what := fmt.Sprintf("member %s won %d codes (%d points)", m, len(e.wins), sum)
		if len(e.spends) > 0 {
			what += fmt.Sprintf(" and spent %d points", spent)
		}
		return append(out, what+" but has no account on the server")
	}
	for c, n := range ledger {
		if n > 1 {
			out = append(out, fmt.Sprintf("member %s: the ledger pays code %s %d times", m, c, n))
		}
	}
	missing := 0
	for c := range wonCodes {
		if ledger[c] == 0 {
			missing++
			if missing <= 3 {
				out = append(out, fmt.Sprintf("member %s won code %s but the ledger has no entry for it", m, c))
			}
		}
	}
	if missing > 3 {
		out = append(out, fmt.Sprintf("member %s: %d more won codes missing from the ledger", m, missing-3))
	}
	extra := 0
	for c := range ledger {
		if !wonCodes[c] {
			extra++
		}
	}

	// Spends in the ledger: each accepted one exactly once, and no others
	// beyond the uncertain ones.
	spendEntries := map[string]int{}
	for _, id := range got.Spends {
		spendEntries[id]++
	}
	accepted := map[string]bool{}
	for _, sp := range e.spends {
		accepted[sp.RequestID] = true
		if n := spendEntries[sp.RequestID]; n != 1 {
			out = append(out, fmt.Sprintf("member %s: spend %s (%d points) was answered 200 but the ledger records it %d times", m, sp.RequestID, sp.Points, n))
		}
	}
	extraSpends := 0
	for id, n := range spendEntries {
		if !accepted[id] {
			extraSpends += n
		} else if n > 1 {
			extraSpends += n - 1
		}
	}
	if extraSpends > len(e.uncertainSpends) {
		out = append(out, fmt.Sprintf("member %s: the ledger records %d spends the client never saw accepted, more than its %d uncertain ones", m, extraSpends, len(e.uncertainSpends)))
	}

	promised := sum - spent
	uncertainScans := e.uncertainScans
	switch {
	case uncertainScans == 0 && maybeSpent == 0 && got.Points != promised:
		out = append(out, fmt.Sprintf("member %s has %d points on the server; its 200s promised %d (%d earned, %d spent)", m, got.Points, promised, sum, spent))
	case got.Points < promised-maybeSpent:
		out = append(out, fmt.Sprintf("member %s has %d points on the server; its 200s promised at least %d", m, got.Points, promised-maybeSpent))
	case uncertainScans == 0 && got.Points > promised:
		out = append(out, fmt.Sprintf("member %s has %d points on the server; its 200s promised at most %d", m, got.Points, promised))
	}
	switch {
	case uncertainScans == 0 && extra > 0:
		out = append(out, fmt.Sprintf("member %s: the ledger pays %d codes the client never saw a 200 for", m, extra))
	case uncertainScans > 0 && extra > uncertainScans:
		out = append(out, fmt.Sprintf("member %s: the ledger pays %d codes the client never saw a 200 for, more than its %d uncertain scans", m, extra, uncertainScans))
	}
	return out
}

// parallel runs fn(0..n-1) on at most conns goroutines, stopping early when
// ctx is done.
// lookEach looks every key up with lookup, conns at a time, and hands each
// record to check; a lookup that fails goes to fail instead.
func lookEach[T any](ctx context.Context, keys []string, conns int, lookup func(context.Context, string) (T, error), fail func(error), check func(key string, got T)) {
	parallel(ctx, len(keys), conns, func(i int) {
		got, err := lookup(ctx, keys[i])
		if err != nil {
			fail(err)
			return
		}
		check(keys[i], got)
	})
}

func parallel(ctx context.Context, n, conns int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(conns, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// write prints the audit for people; a failure is loud.
func (a *AuditReport) write(b *strings.Builder) {
	if a.Passed {
		what := "all"
		if a.Sampled {
			what = "a sample of"
		}
		fmt.Fprintf(b, "audit: PASSED — %s winners, each code at most once; %s %s of them redeemed on the server; %s members' balances and ledgers match",
			thousands(int64(a.Winners)), what, thousands(int64(a.CodesChecked)), thousands(int64(a.Members)))
		if a.Spends > 0 {
			fmt.Fprintf(b, " (%s accepted spends, each once)", thousands(int64(a.Spends)))
		}
		fmt.Fprintf(b, "; %s contested codes, each exactly one winner", thousands(int64(a.Contested-a.Inconclusive-a.Unwon)))
		if a.Inconclusive > 0 {
			fmt.Fprintf(b, " (%d more inconclusive: no answer)", a.Inconclusive)
		}
		if a.Unwon > 0 {
			fmt.Fprintf(b, " (%d more refused to all, the code left unredeemed)", a.Unwon)
		}
		if a.Coupons > 0 || a.Verified > 0 {
			fmt.Fprintf(b, "; %s coupons issued, %s verified by exactly one 200, %s looked up on the server", thousands(int64(a.Coupons)), thousands(int64(a.Verified)), thousands(int64(a.CouponsChecked)))
		}
		if a.Guides > 0 {
			fmt.Fprintf(b, "; %d guides' commissions as promised", a.Guides)
		}
		if a.Campaign {
			how := "exactly"
			if !a.Exact {
				how = "at least (some answers were uncertain)"
			}
			fmt.Fprintf(b, "; campaign within budget and stock, its counters %s as promised", how)
		}
		if a.ServerAudit != "" {
			fmt.Fprintf(b, "; the server's own audit: %s", a.ServerAudit)
		}
		b.WriteString("\n")
		return
	}
	b.WriteString("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n")
	fmt.Fprintf(b, "AUDIT FAILED: %d violations", a.ViolationCount)
	if len(a.Errors) > 0 {
		fmt.Fprintf(b, ", %d lookups failed", len(a.Errors))
	}
	b.WriteString("\n")
	for _, v := range a.Violations {
		fmt.Fprintf(b, "  violation: %s\n", v)
	}
	if a.ViolationCount > len(a.Violations) {
		fmt.Fprintf(b, "  ... and %d more\n", a.ViolationCount-len(a.Violations))
	}
	for _, e := range a.Errors {
		fmt.Fprintf(b, "  lookup failed: %s\n", e)
	}
	b.WriteString("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n")
}

// sample returns keys, or when there are more than max of them a random
// max of them, drawn from seed and stream so that a run's audit can be
// repeated; sampled says which.
func sample(keys []string, max int, seed, stream uint64) (_ []string, sampled bool) {
	if len(keys) <= max {
		return keys, false
	}
	r := rand.New(rand.NewPCG(seed, stream))
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return keys[:max], true
}
