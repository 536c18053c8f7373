package reward_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/segmentio/ksuid"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// TestRules runs the rule scripts under testdata/rules: each file is one
// story on a fresh engine, and a test of its own, so a broken rule fails
// the stories that show it and no other. A command's output is what the
// engine answered, with the values that change from run to run (coupon ids,
// random seeds) replaced by names (coupon-1, seed-1) given in order of
// appearance, and codes written as batch#serial. After a deliberate change
// of a rule, go test ./reward/ -run TestRules -rewrite rewrites the
// expected outputs; read the diff before committing it. The scripts run on
// the store YIMA_TEST_STORE names, like every test here.
func TestRules(t *testing.T) {
	datadriven.Walk(t, "testdata/rules", func(t *testing.T, path string) {
		s := &script{t: t}
		datadriven.RunTest(t, path, s.run)
	})
}

// script is the state of one rule script.
type script struct {
	t *testing.T
	f *fixture
	// signers are the batches' signers by name: "" is the fixture's
	// batch, and codes are written serial (for it) or name#serial.
	signers map[string]*codegen.Signer
	// labels name the values that differ from run to run; values maps a
	// name back.
	labels map[string]string
	values map[string]string
	counts map[string]int
	// answers holds the first answer to each spend request id, so that a
	// replay can be shown to be the same answer.
	answers map[string]string
	// codeNames write the codes the script named back as it named them.
	codeNames map[string]string
}

func (s *script) run(t *testing.T, d *datadriven.TestData) string {
	if s.f == nil && d.Cmd != "fixture" {
		d.Fatalf(t, "the script must begin with fixture")
	}
	switch d.Cmd {
	case "fixture":
		// fixture codes=N points=P: a fresh engine with one active batch
		// of SKU-1 at 2026-05-01 10:00 UTC.
		var n, points int
		d.ScanArgs(t, "codes", &n)
		d.MaybeScanArgs(t, "points", &points)
		// shared-keys signs with a fixed secret, so that the codes, and
		// the draws keyed by them, are the same on every run.
		s.f = openFixture(t, uint32(n), int64(points), fixtureOptions{sharedKeys: d.HasArg("shared-keys")})
		s.signers = map[string]*codegen.Signer{"": s.f.signer}
		s.labels, s.values, s.counts, s.answers, s.codeNames = map[string]string{}, map[string]string{}, map[string]int{}, map[string]string{}, map[string]string{}
		return ""
	case "batch":
		// batch name=X product=P count=N [points=P] [region=R] [inactive]
		spec := reward.BatchSpec{Product: s.arg(d, "product"), Count: uint32(s.intArg(d, "count", 0)), Region: s.optArg(d, "region"), Activate: !d.HasArg("inactive")}
		if d.HasArg("points") {
			spec.Points = new(int64(s.intArg(d, "points", 0)))
		}
		b, err := s.f.eng.CreateBatch(spec)
		if err != nil {
			return errText(err)
		}
		sg, err := s.f.eng.Signer(b)
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		s.signers[s.arg(d, "name")] = sg
		return ""
	case "time":
		// time T (RFC 3339), or time +D (a Go duration, or Nd for days)
		arg := d.CmdArgs[0].Key
		if rest, ok := strings.CutPrefix(arg, "+"); ok {
			if days, ok := strings.CutSuffix(rest, "d"); ok {
				n, _ := strconv.Atoi(days)
				s.f.now = s.f.now.AddDate(0, 0, n)
			} else {
				dur, err := time.ParseDuration(rest)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				s.f.now = s.f.now.Add(dur)
			}
		} else {
			at, err := time.Parse(time.RFC3339, arg)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			s.f.now = at
		}
		return s.f.now.Format(time.RFC3339)
	case "campaign":
		// campaign: apply the default campaign ("promo", 10 points on
		// SKU-1, 2026 to 2029) with the input's JSON fields over it (null
		// removes one).
		var fields map[string]any
		if strings.TrimSpace(d.Input) != "" {
			if err := json.Unmarshal([]byte(d.Input), &fields); err != nil {
				d.Fatalf(t, "input: %v", err)
			}
		}
		c, err := reward.ParseCampaign([]byte(rewardtest.CampaignDoc(t, fields)))
		if err != nil {
			return errText(err)
		}
		v, err := s.f.eng.ApplyCampaign(c)
		if err != nil {
			return errText(err)
		}
		return s.campaignText(v)
	case "show-campaign":
		v, err := s.f.eng.Campaign(s.optArg(d, "id", "promo"))
		if err != nil {
			return errText(err)
		}
		return s.campaignText(v)
	case "scan":
		// scan code=C member=M [guide=G] [device=D] [request=R]
		res, raw, err := rewardtest.Scan(s.f.eng, reward.ScanRequest{
			Code: s.code(d, s.arg(d, "code")), Member: s.optArg(d, "member"), Guide: s.optArg(d, "guide"),
			Device: s.optArg(d, "device"), RequestID: s.optArg(d, "request"),
			Region: s.optArg(d, "region"), Source: s.optArg(d, "source"),
		})
		if err != nil {
			return errText(err)
		}
		out := s.scanText(res)
		if res.Coupon == nil && !strings.Contains(string(raw), `"coupon":null`) {
			// The answer says "no coupon" in so many words.
			out += " (the answer lacks \"coupon\":null)"
		}
		return out
	case "scans":
		// scans from=A to=B member=M: one line a scan.
		var out strings.Builder
		for i := s.intArg(d, "from", 0); i <= s.intArg(d, "to", 0); i++ {
			res, _, err := rewardtest.Scan(s.f.eng, reward.ScanRequest{Code: s.code(d, strconv.Itoa(i)), Member: s.arg(d, "member")})
			if err != nil {
				fmt.Fprintf(&out, "%d: %s\n", i, errText(err))
			} else {
				fmt.Fprintf(&out, "%d: %s\n", i, s.scanText(res))
			}
		}
		return out.String()
	case "status":
		st, err := s.f.eng.Status(s.code(d, s.arg(d, "code")))
		if err != nil {
			return errText(err)
		}
		return fmt.Sprintf("redeemed=%v scans=%d scanners=%d", st.Redeemed, st.Scans, st.Scanners)
	case "redemption":
		r := rewardtest.Redemption(t, s.f.db, s.code(d, s.arg(d, "code")))
		out := fmt.Sprintf("member=%s points=%d", r.Member, r.Points)
		if r.Campaign != "" {
			out += fmt.Sprintf(" campaign=%s version=%d", r.Campaign, r.Version)
		}
		if r.Voided {
			out += fmt.Sprintf(" voided at %s: %s", r.VoidedAt.Format(time.RFC3339), r.VoidReason)
		}
		return out
	case "member":
		// member id=M [limit=N]: with a limit, also how many entries the
		// newest page holds.
		v, err := s.f.eng.Member(s.arg(d, "id"), "", s.intArg(d, "limit", 1))
		if err != nil {
			return errText(err)
		}
		if d.HasArg("limit") {
			return s.memberText(v) + fmt.Sprintf("\npage of %d entries", len(v.Ledger))
		}
		return s.memberText(v)
	case "member-pages":
		// member-pages id=M limit=N: walks the ledger the API pages
		// newest first and compares it with the stored one.
		var paged []reward.Entry
		pages := 0
		for cursor := ""; ; {
			v, err := s.f.eng.Member(s.arg(d, "id"), cursor, s.intArg(d, "limit", 0))
			if err != nil {
				return errText(err)
			}
			pages++
			paged = append(paged, v.Ledger...)
			if cursor = v.Next; cursor == "" {
				break
			}
		}
		slices.Reverse(paged)
		stored := rewardtest.Ledger(t, s.f.db, "l/", s.arg(d, "id"))
		same := slices.EqualFunc(paged, stored, func(a, b reward.Entry) bool { return a.ID == b.ID })
		return fmt.Sprintf("%d pages, %d entries, the stored ledger newest first: %v", pages, len(paged), same)
	case "guide-pages":
		// guide-pages id=G limit=N: walks the bound members and the
		// ledger, each with its own cursor.
		var out []string
		page := reward.GuidePage{Limit: s.intArg(d, "limit", 0)}
		for n := 0; n < 10; n++ {
			v, err := s.f.eng.GuideView(s.arg(d, "id"), page)
			if err != nil {
				return errText(err)
			}
			out = append(out, "members: "+strings.Join(v.BoundMembers, " "))
			if page.MembersAfter = v.NextMembers; page.MembersAfter == "" {
				break
			}
		}
		page = reward.GuidePage{Limit: page.Limit}
		for n := 0; n < 10; n++ {
			v, err := s.f.eng.GuideView(s.arg(d, "id"), page)
			if err != nil {
				return errText(err)
			}
			var seqs []string
			for _, en := range v.Ledger {
				seqs = append(seqs, strconv.FormatUint(en.Seq, 10))
			}
			out = append(out, "ledger: "+strings.Join(seqs, " "))
			if page.LedgerBefore = v.NextLedger; page.LedgerBefore == "" {
				break
			}
		}
		return strings.Join(out, "\n")
	case "guide-view":
		// guide-view id=G ledger-before=C: one page from a given cursor.
		_, err := s.f.eng.GuideView(s.arg(d, "id"), reward.GuidePage{LedgerBefore: s.optArg(d, "ledger-before")})
		if err != nil {
			return errText(err)
		}
		return "ok"
	case "ledger":
		// ledger member=M | guide=G: the whole ledger from the store,
		// oldest first, checked line by line.
		prefix, holder := "l/", s.optArg(d, "member")
		if holder == "" {
			prefix, holder = "gl/", s.arg(d, "guide")
		}
		return s.ledgerText(rewardtest.Ledger(t, s.f.db, prefix, holder))
	case "alias":
		m, err := s.f.eng.LinkAlias(s.arg(d, "member"), s.optArg(d, "alias"))
		if err != nil {
			return errText(err)
		}
		return fmt.Sprintf("%s aliases=%s", m.ID, strings.Join(m.Aliases, ","))
	case "guide":
		// guide id=G [member=M] [store=S]: add a guide.
		rewardtest.MustStore(t, s.f.eng, s.optArg(d, "store", "store-1"))
		g, tok, err := s.f.eng.AddGuide(reward.Guide{ID: s.arg(d, "id"), Store: s.optArg(d, "store", "store-1"), Member: s.optArg(d, "member")})
		if err != nil {
			return errText(err)
		}
		if tok == "" {
			return fmt.Sprintf("%s at %s, no token", g.ID, g.Store)
		}
		return fmt.Sprintf("%s at %s", g.ID, g.Store)
	case "show-guide":
		g, err := s.f.eng.GuideByID(s.arg(d, "id"), 100)
		if err != nil {
			return errText(err)
		}
		out := fmt.Sprintf("%s commission=%d verified=%d members=%d bound=%s", g.ID, g.Commission, g.Verified, g.Members, strings.Join(g.BoundMembers, ","))
		for _, en := range g.Ledger {
			out += "\n" + s.entryText(en)
		}
		return out
	case "bind":
		m, err := s.f.eng.Bind(s.arg(d, "member"), s.arg(d, "guide"), d.HasArg("rebind"))
		if err != nil {
			return errText(err)
		}
		return fmt.Sprintf("%s bound to %s", m.ID, m.Guide)
	case "spend":
		// spend member=M points=P reason=R request=ID
		req := reward.SpendRequest{Points: int64(s.intArg(d, "points", 0)), Reason: s.optArg(d, "reason"), RequestID: s.optArg(d, "request")}
		raw, err := s.f.eng.Spend(s.arg(d, "member"), req)
		if err != nil {
			return errText(err)
		}
		var res reward.SpendResult
		if err := json.Unmarshal(raw, &res); err != nil {
			d.Fatalf(t, "%v", err)
		}
		out := fmt.Sprintf("%s spent %d, balance %d", res.Member, res.Points, res.Balance)
		if first, ok := s.answers[req.RequestID]; ok {
			if first != string(raw) {
				return out + " (a replay with an answer other than the first)"
			}
			return out + " (the first answer, replayed)"
		}
		s.answers[req.RequestID] = string(raw)
		return out
	case "verify-coupon":
		return s.couponText(s.f.eng.VerifyCoupon(s.value(d, s.arg(d, "coupon")), s.arg(d, "guide")))
	case "show-coupon":
		return s.couponText(s.f.eng.CouponByID(s.value(d, s.arg(d, "coupon"))))
	case "void-coupon":
		return s.couponText(s.f.eng.VoidCoupon(s.value(d, s.arg(d, "coupon")), s.arg(d, "reason")))
	case "void":
		r, err := s.f.eng.VoidRedemption(s.code(d, s.arg(d, "code")), s.arg(d, "reason"))
		if err != nil {
			return errText(err)
		}
		return fmt.Sprintf("voided=%v at %s: %s", r.Voided, r.VoidedAt.Format(time.RFC3339), r.VoidReason)
	case "put":
		// put key=K: write the input as the raw value of K, past the
		// engine, as a bug or a damaged record would leave it.
		key := s.arg(d, "key")
		if err := s.f.db.Update(func(tx store.Tx) error { tx.Put([]byte(key), []byte(d.Input)); return nil }); err != nil {
			d.Fatalf(t, "%v", err)
		}
		return ""
	case "brand":
		// brand time_zone=Z: the brand's time zone ("" clears it); with an
		// input, the input as a change of the brand's settings.
		if strings.TrimSpace(d.Input) == "" {
			tz := s.optArg(d, "time_zone")
			b, err := s.f.eng.SetBrand(reward.BrandChange{TimeZone: &tz})
			if err != nil {
				return errText(err)
			}
			return fmt.Sprintf("time_zone=%q zone=%s", b.TimeZone, s.f.eng.Zone())
		}
		// brand: apply the input as a change of the brand's settings.
		var c reward.BrandChange
		if err := json.Unmarshal([]byte(d.Input), &c); err != nil {
			d.Fatalf(t, "input: %v", err)
		}
		b, err := s.f.eng.SetBrand(c)
		if err != nil {
			return errText(err)
		}
		out := fmt.Sprintf("tiers=%d window=%d", len(b.Tiers), b.TierWindowMonths)
		if r := b.PointsExpiry; r != nil {
			out += fmt.Sprintf(" expiry=%s+%d", r.Unit, r.After)
		}
		return out
	case "standing":
		// standing id=M: the member's place on the brand's ladder, as the
		// member centre shows it.
		c, err := s.f.eng.MemberCentre(s.arg(d, "id"), "", 1)
		if err != nil {
			return errText(err)
		}
		out := fmt.Sprintf("%s growth=%d tier-growth=%d tier=%s", c.ID, c.Growth, c.TierGrowth, c.Tier)
		if c.TierBenefit != "" {
			out += fmt.Sprintf(" (%s)", c.TierBenefit)
		}
		if c.NextTier != "" {
			out += fmt.Sprintf(" next=%s at %d", c.NextTier, c.NextTierGrowth)
		}
		for _, x := range c.Expiring {
			out += fmt.Sprintf("\n%d points expire at %s", x.Points, x.At.Format(time.RFC3339))
		}
		return out
	case "first-touch":
		// first-touch id=M: where the member first came from.
		v, err := s.f.eng.Member(s.arg(d, "id"), "", 1)
		if err != nil {
			return errText(err)
		}
		ft := v.FirstTouch
		if ft == nil {
			return "none"
		}
		return fmt.Sprintf("source=%s guide=%s region=%s at %s", ft.Source, ft.Guide, ft.Region, ft.At.Format(time.RFC3339))
	case "expire":
		// expire [dry-run]: expire the points due by the brand's rule.
		rep, err := s.f.eng.ExpirePoints(d.HasArg("dry-run"))
		if err != nil {
			return errText(err)
		}
		out := fmt.Sprintf("dry-run=%v members=%d points=%d", rep.DryRun, rep.Members, rep.Points)
		for _, x := range rep.Expired {
			out += fmt.Sprintf("\n%s %d through %s", x.Member, x.Points, x.Through)
			if (x.Entry == "") != rep.DryRun {
				out += " (the entry is wrong for the run)"
			}
		}
		return out
	case "audit":
		rep, err := s.f.eng.Audit()
		if err != nil {
			return errText(err)
		}
		return violationsText(rep.Violations)
	case "replay":
		// replay: the feed's events alone rebuild the records.
		rep, err := s.f.eng.ReplayFeed()
		if err != nil {
			return errText(err)
		}
		return violationsText(rep.Violations)
	case "delete":
		// delete key=K: remove K past the engine, as a record written
		// before K's kind existed lacks it.
		key := s.arg(d, "key")
		if err := s.f.db.Update(func(tx store.Tx) error { tx.Delete([]byte(key)); return nil }); err != nil {
			d.Fatalf(t, "%v", err)
		}
		return ""
	case "bonus-paid-to":
		// bonus-paid-to identity=I: the member whose new-member bonus
		// the identity (a device, an alias, a person) was paid with.
		who, paid, err := s.f.eng.BonusPaidTo(s.arg(d, "identity"))
		if err != nil {
			return errText(err)
		}
		if !paid {
			return "not paid"
		}
		return "paid to " + who
	case "sign-in":
		// sign-in device=M identity=I: a browser proves an identity.
		r, err := s.f.eng.SignIn(s.arg(d, "device"), s.arg(d, "identity"))
		if err != nil {
			return errText(err)
		}
		return fmt.Sprintf("%s %s", r.Outcome, r.Member)
	case "guide-of":
		// guide-of identity=I: the guide whose own identity I is.
		g, err := s.f.eng.GuideOfIdentity(s.arg(d, "identity"))
		if err != nil {
			return errText(err)
		}
		if g == nil {
			return "no guide"
		}
		return g.ID
	case "guide-leaves":
		// guide-leaves id=G [successor=S]
		l, err := s.f.eng.GuideLeaves(s.arg(d, "id"), s.optArg(d, "successor"))
		if err != nil {
			return errText(err)
		}
		return fmt.Sprintf("%s left, %d members moved", l.Guide.ID, l.Moved)
	}
	d.Fatalf(t, "unknown command %s", d.Cmd)
	return ""
}

func (s *script) arg(d *datadriven.TestData, key string) string {
	var v string
	d.ScanArgs(s.t, key, &v)
	return v
}

func (s *script) optArg(d *datadriven.TestData, key string, def ...string) string {
	if !d.HasArg(key) {
		if len(def) > 0 {
			return def[0]
		}
		return ""
	}
	a, _ := d.Arg(key)
	if len(a.Vals) == 0 {
		return ""
	}
	return a.Vals[0]
}

func (s *script) intArg(d *datadriven.TestData, key string, def int) int {
	if !d.HasArg(key) {
		return def
	}
	var v int
	d.ScanArgs(s.t, key, &v)
	return v
}

// code reads a code argument: serial of the fixture's batch, name#serial
// of another, or anything else as the text scanned.
func (s *script) code(d *datadriven.TestData, text string) string {
	name, serial, ok := strings.Cut(text, "#")
	if !ok {
		name, serial = "", text
	}
	n, err := strconv.ParseUint(serial, 10, 32)
	sg := s.signers[name]
	if err != nil || sg == nil {
		return text
	}
	c := sg.Code(uint32(n))
	s.codeNames[c] = name + "#" + serial
	return c
}

// codeName writes a code as the scripts do.
func (s *script) codeName(code string) string {
	if name, ok := s.codeNames[code]; ok {
		return name
	}
	return code
}

// label names a value that changes from run to run: the first coupon id is
// coupon-1, and so on.
func (s *script) label(kind, value string) string {
	if value == "" {
		return ""
	}
	if l, ok := s.labels[value]; ok {
		return l
	}
	if kind == "coupon" || kind == "entry" {
		if _, err := ksuid.Parse(value); err != nil {
			return "not-a-ksuid:" + value
		}
	}
	s.counts[kind]++
	l := fmt.Sprintf("%s-%d", kind, s.counts[kind])
	s.labels[value], s.values[l] = l, value
	return l
}

// value turns a label back into its value, and "fresh-ksuid" into a new
// ksuid no record has; anything else is itself.
func (s *script) value(_ *datadriven.TestData, label string) string {
	if v, ok := s.values[label]; ok {
		return v
	}
	if label == "fresh-ksuid" {
		return ksuid.New().String()
	}
	return label
}

// violationsText is "ok", or what an audit or a replay found, a line each.
func violationsText(violations []string) string {
	if len(violations) == 0 {
		return "ok"
	}
	return strings.Join(violations, "\n")
}

func errText(err error) string {
	out := "error: " + string(reward.ErrorCode(err))
	var re *reward.Error
	if errors.As(err, &re) {
		for _, k := range slices.Sorted(maps.Keys(re.Details)) {
			v := re.Details[k]
			if tm, ok := v.(time.Time); ok {
				v = tm.Format(time.RFC3339)
			}
			out += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	return out
}

func (s *script) scanText(r reward.ScanResult) string {
	out := fmt.Sprintf("%s %s: points=%d", r.Result, r.Member, r.Points)
	if r.Bonus != 0 {
		out += fmt.Sprintf(" (bonus %d)", r.Bonus)
	}
	out += fmt.Sprintf(" balance=%d growth=%d", r.Balance, r.Growth)
	if r.Tier != "" {
		out += " tier=" + r.Tier
	}
	if r.Campaign != "" {
		out += " campaign=" + r.Campaign
	}
	if r.Guide != "" || r.Commission != 0 {
		out += fmt.Sprintf(" guide=%s commission=%d", r.Guide, r.Commission)
	}
	if r.Coupon != nil {
		out += fmt.Sprintf(" coupon=%s %q expires %s", s.label("coupon", r.Coupon.ID), r.Coupon.Title, r.Coupon.ExpiresAt.Format(time.RFC3339))
		if r.Coupon.Prize != "" {
			out += " prize=" + r.Coupon.Prize
		}
	}
	if len(r.Notes) > 0 {
		out += " notes=" + strings.Join(r.Notes, ",")
	}
	return out
}

func (s *script) campaignText(v *reward.CampaignView) string {
	out := fmt.Sprintf("%s v%d %s seed=%s", v.ID, v.Version, v.Status, s.seedName(v.Seed))
	if v.PointsLeft != nil {
		out += fmt.Sprintf(" points-left=%d", *v.PointsLeft)
	}
	if v.CouponsLeft != nil {
		out += fmt.Sprintf(" coupons-left=%d", *v.CouponsLeft)
	}
	c := v.Counters
	out += fmt.Sprintf("\ncounters: rewarded=%d paid=%d coupons=%d used=%d commission=%d", c.RewardedScans, c.PointsPaid, c.CouponsIssued, c.CouponsUsed, c.Commission)
	for _, p := range v.Prizes {
		out += fmt.Sprintf("\nprize %s: issued=%d of %d", p.Name, v.PrizesIssued[p.Name], p.Stock)
	}
	return out
}

// seedName shows a seed a document gave as itself, and a drawn one by its
// label: what matters is whether a later version kept it.
func (s *script) seedName(seed string) string {
	if seed == "" {
		return "(none)"
	}
	if _, err := hex.DecodeString(seed); err == nil && len(seed) >= 16 {
		return s.label("seed", seed)
	}
	return seed
}

func (s *script) memberText(v *reward.MemberView) string {
	out := fmt.Sprintf("%s points=%d growth=%d redemptions=%d entries=%d", v.ID, v.Points, v.Growth, v.Redemptions, v.Seq)
	if v.Guide != "" {
		out += " guide=" + v.Guide
	}
	if len(v.Aliases) > 0 {
		out += " aliases=" + strings.Join(v.Aliases, ",")
	}
	return out
}

// couponText is a coupon command's answer: the coupon a call returned, or
// its error.
func (s *script) couponText(c *reward.Coupon, err error) string {
	if err != nil {
		return errText(err)
	}
	out := fmt.Sprintf("%s %s %q member=%s code=%s expires %s", s.label("coupon", c.ID), c.Status, c.Title, c.Member, s.codeName(c.Code), c.Expires.Format(time.RFC3339))
	if c.UsedBy != "" {
		out += fmt.Sprintf(" used by %s at %s commission=%d", c.UsedBy, c.UsedAt.Format(time.RFC3339), c.Commission)
	}
	if c.VoidReason != "" {
		out += " void: " + c.VoidReason
	}
	return out
}

func (s *script) entryText(en reward.Entry) string {
	out := fmt.Sprintf("%d %s %+d =%d %s", en.Seq, en.Account, en.Delta, en.Balance, en.Reason)
	if en.Campaign != "" {
		out += " campaign=" + en.Campaign
	}
	if en.Code != "" {
		out += " code=" + s.codeName(en.Code)
	}
	if en.Coupon != "" {
		out += " coupon=" + s.label("coupon", en.Coupon)
	}
	if en.Request != "" {
		out += " request=" + en.Request
	}
	if en.Through != "" {
		out += " through=" + en.Through
	}
	return out
}

// ledgerText writes a ledger oldest first, and after it what is wrong
// with it: an id that is no ksuid, an entry without a time, a reason or an
// origin, a sequence out of order, a balance its entries do not sum to.
func (s *script) ledgerText(entries []reward.Entry) string {
	var out []string
	sums := map[string]int64{}
	for i, en := range entries {
		out = append(out, s.entryText(en))
		if _, err := ksuid.Parse(en.ID); err != nil {
			out = append(out, fmt.Sprintf("  ^ id %q is not a ksuid", en.ID))
		}
		if en.At.IsZero() {
			out = append(out, "  ^ no time")
		}
		if en.Reason == "" || (en.Code == "" && en.Coupon == "" && en.Request == "" && en.Through == "") {
			out = append(out, "  ^ no reason or no origin (code, coupon, request or expired months)")
		}
		if en.Seq != uint64(i+1) {
			out = append(out, fmt.Sprintf("  ^ seq %d at place %d", en.Seq, i+1))
		}
		sums[en.Account] += en.Delta
		if en.Balance != sums[en.Account] {
			out = append(out, fmt.Sprintf("  ^ balance %d, the entries sum to %d", en.Balance, sums[en.Account]))
		}
	}
	for _, acct := range slices.Sorted(maps.Keys(sums)) {
		out = append(out, fmt.Sprintf("sum %s=%d", acct, sums[acct]))
	}
	return strings.Join(out, "\n")
}
