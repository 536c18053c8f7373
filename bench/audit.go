package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// Win is a 200 the client saw: code redeemed for member, Points promised.
type Win struct {
	Code   string `json:"code"`
	Member string `json:"member"`
	Points int64  `json:"points"`
	Kind   Kind   `json:"kind"`
}

// Contest is what the contenders of one contested code were told.
type Contest struct {
	Code       string `json:"code"`
	Contenders int    `json:"contenders"`
	Wins       int    `json:"wins"`
	// Refused counts definite refusals (4xx, 409 above all).
	Refused int `json:"refused"`
	// Uncertain counts contenders with no answer or a 5xx: the server may
	// or may not have acted.
	Uncertain int `json:"uncertain"`
}

// Observations are what the client saw during a run, for the audit.
type Observations struct {
	Wins     []Win
	Contests []Contest
	// Members are every member the run scanned as.
	Members []string
	// Uncertain counts, per member, scans whose outcome the client cannot
	// know (no answer, or a 5xx): the server may have redeemed them.
	Uncertain map[string]int
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
	// and a contender without a certain answer.
	Contested    int `json:"contested"`
	Inconclusive int `json:"inconclusive,omitempty"`
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
		case c.Wins == 0 && c.Uncertain == 0:
			a.violate("contested code %s: all %d contenders were refused and none won", c.Code, c.Contenders)
		case c.Wins == 0:
			a.Inconclusive++
		}
	}

	// Every 200 is a redemption on the server.
	codes := make([]string, 0, len(byCode))
	for code := range byCode {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	if len(codes) > opts.MaxCodes {
		r := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
		r.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
		codes = codes[:opts.MaxCodes]
		a.Sampled = true
	}
	a.CodesChecked = len(codes)
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(a.Errors) < maxViolations {
			a.Errors = append(a.Errors, err.Error())
		}
	}
	parallel(ctx, len(codes), opts.Conns, func(i int) {
		ok, err := chk.CodeRedeemed(ctx, codes[i])
		switch {
		case err != nil:
			fail(err)
		case !ok:
			mu.Lock()
			a.violate("code %s was answered 200 (for %s) but the server does not record it redeemed", codes[i], obs.Wins[byCode[codes[i]][0]].Member)
			mu.Unlock()
		}
	})

	// Every member's balance and ledger match its 200s.
	want := map[string][]Win{}
	for _, w := range obs.Wins {
		want[w.Member] = append(want[w.Member], w)
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
	parallel(ctx, len(members), opts.Conns, func(i int) {
		m := members[i]
		got, err := chk.Member(ctx, m)
		if err != nil {
			fail(err)
			return
		}
		problems := checkMember(m, want[m], obs.Uncertain[m], got)
		if len(problems) > 0 {
			mu.Lock()
			for _, p := range problems {
				a.violate("%s", p)
			}
			mu.Unlock()
		}
	})
	if ctx.Err() != nil {
		a.Errors = append(a.Errors, "audit interrupted: "+ctx.Err().Error())
	}
	a.Passed = a.ViolationCount == 0 && len(a.Errors) == 0
	return a
}

// checkMember compares one member's account with its 200s. uncertain is
// how many of its scans had no certain answer.
func checkMember(m string, wins []Win, uncertain int, got MemberState) []string {
	var out []string
	var sum int64
	wonCodes := map[string]bool{}
	for _, w := range wins {
		sum += w.Points
		// A scan that paid nothing writes no ledger entry to find.
		if w.Points != 0 {
			wonCodes[w.Code] = true
		}
	}
	ledger := map[string]int{}
	for _, c := range got.Codes {
		ledger[c]++
	}
	if !got.Found && len(wins) > 0 {
		return append(out, fmt.Sprintf("member %s won %d codes (%d points) but has no account on the server", m, len(wins), sum))
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
	switch {
	case uncertain == 0 && got.Points != sum:
		out = append(out, fmt.Sprintf("member %s has %d points on the server; its 200s promised %d", m, got.Points, sum))
	case uncertain == 0 && extra > 0:
		out = append(out, fmt.Sprintf("member %s: the ledger pays %d codes the client never saw a 200 for", m, extra))
	case uncertain > 0 && got.Points < sum:
		out = append(out, fmt.Sprintf("member %s has %d points on the server; its 200s promised at least %d", m, got.Points, sum))
	case uncertain > 0 && extra > uncertain:
		out = append(out, fmt.Sprintf("member %s: the ledger pays %d codes the client never saw a 200 for, more than its %d uncertain scans", m, extra, uncertain))
	}
	return out
}

// parallel runs fn(0..n-1) on at most conns goroutines, stopping early when
// ctx is done.
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
		fmt.Fprintf(b, "audit: PASSED — %s winners, each code at most once; %s %s of them redeemed on the server; %s members' balances and ledgers match; %s contested codes, each exactly one winner",
			thousands(int64(a.Winners)), what, thousands(int64(a.CodesChecked)), thousands(int64(a.Members)), thousands(int64(a.Contested-a.Inconclusive)))
		if a.Inconclusive > 0 {
			fmt.Fprintf(b, " (%d more inconclusive: no answer)", a.Inconclusive)
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
