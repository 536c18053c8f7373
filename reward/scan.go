package reward

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	fastjson "github.com/segmentio/encoding/json"

	"github.com/yima-dev/yima/codegen"
)

// Codes of scan outcomes that campaigns add.
const (
	CodeDailyLimit         Code = "daily_limit"
	CodeCampaignEnded      Code = "campaign_ended"
	CodeCampaignNotStarted Code = "campaign_not_started"
	CodeBudgetExhausted    Code = "budget_exhausted"
)

// ScanRequest is a consumer's claim of a code.
type ScanRequest struct {
	Code      string `json:"code"`
	Member    string `json:"member"`
	Guide     string `json:"guide,omitempty"`
	Region    string `json:"region,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Device is the scanning phone's id as the app knows it, for
	// campaigns' daily_limit_per_device.
	Device string `json:"device,omitempty"`
	// PIN is the inner PIN printed inside the package, for a batch minted
	// with --claim pin (see ClaimPIN).
	PIN string `json:"pin,omitempty"`
	// Source is the channel the scan came through (a marketplace, a
	// store, an ad, a QR poster; see checkSource).
	Source string `json:"source,omitempty"`
	// Scope is whose request_id it is: the calling token's id, set by the
	// server, never by the body. Two integrators' "1" are two requests;
	// empty is the admin's (and the CLI's) namespace.
	Scope string `json:"-"`
	// final is set once top-ups of the node's campaign slice could not
	// cover the scan: it then pays what the slice holds (see escrow.go).
	final bool
}

// ScanResult is the answer to a redeemed scan.
type ScanResult struct {
	Result  string `json:"result"`
	Code    string `json:"code"`
	Member  string `json:"member"`
	Product string `json:"product"`
	Batch   uint32 `json:"batch"`
	Serial  uint32 `json:"serial"`
	// Points is everything the scan credited: base × tier multiplier, plus
	// the new-member bonus; Growth is the growth value it added.
	Points     int64          `json:"points"`
	Bonus      int64          `json:"bonus,omitempty"`
	Balance    int64          `json:"balance"`
	Growth     int64          `json:"growth,omitempty"`
	Tier       string         `json:"tier,omitempty"`
	Coupon     *CouponSummary `json:"coupon"`
	Campaign   string         `json:"campaign,omitempty"`
	Guide      string         `json:"guide,omitempty"`
	Commission int64          `json:"commission,omitempty"`
	// Notes say why part of a reward did not come (stock or budget ran
	// out), so the consumer is told rather than left guessing.
	Notes      []string  `json:"notes,omitempty"`
	Diverted   bool      `json:"diverted,omitempty"`
	RedeemedAt time.Time `json:"redeemed_at"`
	RequestID  string    `json:"request_id,omitempty"`
}

// CouponSummary is what a consumer is shown of a new coupon.
type CouponSummary struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Prize     string    `json:"prize,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Notes in a scan answer.
const (
	NoteCouponStockExhausted = "coupon_stock_exhausted"
	NotePointsBudgetPartial  = "points_budget_nearly_exhausted"
	NoteSelfCommission       = "no_commission_on_own_scan"
	NoteUnknownGuide         = "unknown_guide_ignored"
	NoteGuideLeft            = "guide_left_no_commission"
)

// Scan verifies and redeems a code for a member. It returns the JSON answer:
// a retry with the same request_id gets the same bytes back. Every scan of
// a genuine code is counted, whatever its outcome.
func (e *Engine) Scan(req ScanRequest) (json.RawMessage, error) {
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"member", req.Member, true}, {"guide", req.Guide, false}, {"region", req.Region, false}, {"request_id", req.RequestID, false}, {"device", req.Device, false}} {
		if err := checkID(f.name, f.v, f.required); err != nil {
			return nil, err
		}
	}
	if req.Code == "" {
		return nil, Errorf(CodeInvalidRequest, `"code" is required`)
	}
	if req.Source != "" {
		if err := checkSource("source", req.Source); err != nil {
			return nil, err
		}
	}
	p, err := e.verify(req.Code)
	if err != nil {
		return nil, err
	}
	code := p.String()
	// The request's fingerprint is only needed to replay a request_id, and
	// is computed here rather than on the decider goroutine.
	var hash []byte
	if req.RequestID != "" {
		parts := []string{"scan", code, req.Member, req.Guide, req.Region}
		if req.Device != "" {
			// Only when given, so that fingerprints stored before devices
			// existed still match their retries.
			parts = append(parts, "device", req.Device)
		}
		if req.Source != "" {
			parts = append(parts, "source", req.Source)
		}
		hash = hashOf(parts...)
	}
	lane, leave := e.enterLane(e.laneOf(code), memberLane(req.Member), codeLane(code))
	defer leave()
	run := &scanRun{e: e, p: p, code: code, req: req, hash: hash, lane: lane}
	err = e.untilCovered(func(final bool) (topUpper, error) {
		run.req.final = final
		err := e.updateIn(run.lane, run.hints, run.decide)
		if run.short != nil {
			return run.short, nil
		}
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	if run.red != nil {
		// Statistics are engine memory: counted once the payout is
		// committed, so a retried decision counts once. A failure to
		// write them fails no payout.
		e.countStats(run.red)
	}
	return run.out, run.refusal
}

// scanRun is one scan's decision and its outcome, in one allocation: the
// decision runs once per scan, on the decider.
type scanRun struct {
	e       *Engine
	p       codegen.Parsed
	code    string
	req     ScanRequest
	hash    []byte
	out     json.RawMessage
	red     *Redemption
	refusal error
	// short is the node's campaign slice falling short (see topUp).
	short *shortfall
	// lane is the store's lane the scan decides on: the one holding its
	// member or its code, else its code's (enterLane).
	lane int
}

// hints names, for a store that reads a group's keys ahead in one round
// trip (store.Hints), what the scan's decision will probably read: the
// scanner's alias, the code's batch and the brand's settings; then, through the
// records the decider decoded last (hints only, see hint), the batch's
// campaign and the campaign's counters or this node's slice. Apart, as
// claims, what it will probably write too: the code's scan count (written
// unless the code's first scan redeems it; pgstore then removes the
// placeholder it claimed, see ScanStats) and redemption, the member, the
// request and, under a live campaign, the member's count of the day. Reading those made nodes conflict on
// PostgreSQL (docs/cluster.md): a fresh code's records, or a member's
// first count of the day, are absent, beside the keys other nodes write
// at the same time. None of them is ever deleted, as store.Claimer
// requires (the node's slice is, by a recall: it is only read).
func (r *scanRun) hints() (reads, claims [][]byte) {
	e := r.e
	stats, red := statusKeys(r.code)
	claims = [][]byte{stats, red, memberKey(r.req.Member)}
	reads = [][]byte{aliasKey(r.req.Member), batchKey(r.p.Batch), brandKey}
	if r.req.RequestID != "" {
		claims = append(claims, requestKey(r.req.Scope, r.req.RequestID))
	}
	b := hint[Batch](e, batchKey(r.p.Batch))
	if b == nil {
		return reads, claims
	}
	ids := []string{b.Campaign}
	if b.Campaign == "" {
		reads = append(reads, productCampaignsKey(b.Product))
		ids = nil
		if list := hint[[]string](e, productCampaignsKey(b.Product)); list != nil {
			ids = *list
		}
	}
	now := e.now()
	for _, id := range ids {
		reads = append(reads, campaignKey(id))
		c := hint[Campaign](e, campaignKey(id))
		if c == nil || c.status(now) != "live" {
			continue
		}
		claims = append(claims, dailyKey(c.ID, r.req.Member, c.day(now, e.Zone())))
		if e.node != "" {
			reads = append(reads, campaignEscrow.slice(c.ID, e.sliceName(r.lane)))
		} else {
			reads = append(reads, campaignCountersKey(c.ID))
		}
		break
	}
	return reads, claims
}

func (r *scanRun) decide(tx Tx) error {
	r.out, r.red, r.refusal = r.e.decideScan(tx, r.p, r.code, r.req, r.hash)
	// A refusal keeps its writes (scan counts). Any other error can come
	// after the payout began (a corrupt guide or stats record), so it
	// drops them all: no ledger entry without its redemption. So does a
	// shortfall of the node's campaign slice.
	r.short = asShortfall(r.refusal)
	var re *Error
	if r.refusal != nil && !errors.As(r.refusal, &re) {
		return r.refusal
	}
	if re != nil && refusedToFeed[re.Code] {
		return record(tx, FeedScanRefused, r.e.now(), ScanRefusal{Code: r.code, Member: r.req.Member, Reason: re.Code})
	}
	return nil
}

// decideScan is the redemption rule. It returns the answer, with the
// redemption when it paid, or a refusal;
// its writes (scan counts always, the payout only when redeemed) commit
// either way, so a refusal must not have written anything but counts.
func (e *Engine) decideScan(tx Tx, p codegen.Parsed, code string, req ScanRequest, hash []byte) (json.RawMessage, *Redemption, error) {
	now := e.now()
	if prev, found, err := replay(tx, req.Scope, req.RequestID, hash); err != nil || found {
		if found {
			emit(tx, Event{Kind: EventReplayed})
		}
		return prev, nil, err
	}
	// A person is one scanner under whichever of their ids they scan with.
	who, err := resolve(tx, req.Member)
	if err != nil {
		return nil, nil, err
	}
	st, scannedBefore, prev, err := e.countScan(tx, p, who, now)
	if err != nil {
		return nil, nil, err
	}
	out, red, err := e.redeemCounted(tx, p, code, req, hash, who, scannedBefore, prev, now)
	// The scan is counted whatever the outcome; but a code's first scan
	// that redeemed it is what its redemption implies, and writes no scan
	// record (one record fewer for most scans, see ScanStats).
	if red == nil || !st.impliedBy(red) {
		putJSON(tx, scanStatsKey(code), st)
	}
	return out, red, err
}

// redeemCounted is the rest of the redemption rule, once the scan is counted:
// prev is the code's redemption when counting read it.
func (e *Engine) redeemCounted(tx Tx, p codegen.Parsed, code string, req ScanRequest, hash []byte, who string, scannedBefore bool, prev *Redemption, now time.Time) (json.RawMessage, *Redemption, error) {
	batch, found, err := readFrozen[Batch](e, tx, batchKey(p.Batch))
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, Errorf(CodeUnknownBatch, "the code is genuine but its batch %d is not known here; ask the brand to check its batch records", p.Batch)
	}
	if why := NotMinted(batch, p); why != "" {
		return nil, nil, Errorf(CodeUnknownBatch, "%s", why)
	}
	switch batch.State(p.Serial) {
	case Inactive:
		return nil, nil, Errorf(CodeBatchInactive, "this code has not been activated yet; it becomes redeemable when its shipment is released — try again later")
	case Revoked:
		return nil, nil, Errorf(CodeBatchRevoked, "this code was revoked by the brand and pays no reward")
	}
	if batch.PayoutHeld {
		return nil, nil, Errorf(CodePayoutHeld, "this code is genuine, but the brand has not released its batch for rewards yet; the code was not used — try again later")
	}
	// A code never scanned before has no redemption: skip the lookup of a
	// record that cannot exist, which would reach the disk.
	redeemed := prev != nil
	if scannedBefore && !redeemed {
		prev = new(Redemption)
		if redeemed, err = getJSON(tx, redemptionKey(code), prev); err != nil {
			return nil, nil, err
		}
	}
	if redeemed {
		return nil, nil, &Error{
			Code:    CodeAlreadyRedeemed,
			Message: fmt.Sprintf("this code was already redeemed on %s", prev.At.In(e.Zone()).Format(time.RFC3339)),
			Details: map[string]any{"redeemed_at": prev.At},
		}
	}
	if batch.Claim == ClaimPIN {
		if err := e.checkPIN(tx, p, batch, req, who, now); err != nil {
			return nil, nil, err
		}
	}
	m, err := e.loadScanMember(tx, who, now)
	if err != nil {
		return nil, nil, err
	}
	camp, found, err := e.campaignFor(tx, batch.Campaign, batch.Product, now)
	if err != nil {
		return nil, nil, err
	}
	red := &Redemption{
		Code: code, Member: m.ID, Region: req.Region, Source: req.Source,
		Batch: p.Batch, Serial: p.Serial, Product: batch.Product, At: now,
		RequestID: req.RequestID,
	}
	intended := batch.RegionOf(p.Serial)
	red.Diverted = req.Region != "" && intended != "" && req.Region != intended
	res := &ScanResult{
		Result: "redeemed", Code: code, Member: m.ID, Product: batch.Product,
		Batch: p.Batch, Serial: p.Serial, RedeemedAt: now, RequestID: req.RequestID,
		Diverted: red.Diverted,
	}
	ref := Entry{Code: code}
	if !found {
		// No campaign covers the product: the batch's fixed points, times
		// the member's tier on the brand's ladder.
		points := batch.Points
		mult, t, err := e.PointMultiplier(tx, m, nil, now)
		if err != nil {
			return nil, nil, err
		}
		if t != nil {
			points, res.Tier = multiply(points, mult), t.Name
		}
		if points > 0 {
			en, err := m.post(tx, now, AccountPoints, points, "scan", ref)
			if err != nil {
				return nil, nil, err
			}
			red.Ledger = append(red.Ledger, en.ID)
		}
		red.Points, res.Points = points, points
	} else if err := e.payCampaign(tx, camp, m, req, red, res, now); err != nil {
		return nil, nil, err
	}
	if red.Guide == "" && (m.Guide != "" || req.Guide != "") {
		// No campaign paid the guide (payGuide names the store when one
		// does): the sale still belongs to the guide's store.
		if red.Store, err = saleStore(tx, m, req); err != nil {
			return nil, nil, err
		}
	}
	if m.Redemptions == 0 && m.FirstTouch == nil {
		guide := req.Guide
		if m.Guide != "" {
			guide = m.Guide
		}
		m.FirstTouch = &Touch{Source: req.Source, Guide: guide, Store: red.Store, Region: req.Region, At: now}
		red.newMember = true
	}
	if m.Redemptions == 0 && m.Guide == "" && req.Guide != "" {
		if err := bindOnFirstScan(tx, m, req.Guide, now); err != nil {
			return nil, nil, err
		}
	}
	m.Redemptions++
	res.Balance = m.Points
	// The last change to m: the member cache keeps it.
	if err := e.putScanMember(tx, m); err != nil {
		return nil, nil, err
	}
	raw := marshalRecord(red)
	tx.Put(redemptionKey(code), raw)
	if err := record(tx, FeedCodeRedeemed, now, encodedBody(raw)); err != nil {
		return nil, nil, err
	}
	if red.Diverted {
		err = e.putFlag(tx, Flag{Kind: FlagDiverted, At: now, Code: code, Batch: p.Batch, Serial: p.Serial, Product: batch.Product,
			Member: m.ID, Region: req.Region, Intended: intended})
		if err != nil {
			return nil, nil, err
		}
	}
	out, err := fastjson.Marshal(res)
	if err != nil {
		return nil, nil, err
	}
	remember(tx, req.Scope, req.RequestID, hash, out)
	emit(tx, Event{Kind: EventRedeemed, Points: res.Points})
	if res.Coupon != nil {
		emit(tx, Event{Kind: EventCouponIssued})
	}
	return out, red, nil
}

// payCampaign applies a campaign's rules to a redemption: window, daily
// limit, points with tier multiplier and budget, new-member bonus, growth,
// coupon, guide commission. A refusal returns before any write.
func (e *Engine) payCampaign(tx Tx, c *Campaign, m *Member, req ScanRequest, red *Redemption, res *ScanResult, now time.Time) error {
	switch c.status(now) {
	case "scheduled":
		return &Error{Code: CodeCampaignNotStarted, Message: fmt.Sprintf("the promotion starts on %s; this code stays valid until then", c.StartsAt.In(e.Zone()).Format("2006-01-02")), Details: map[string]any{"starts_at": c.StartsAt}}
	case "ended":
		return &Error{Code: CodeCampaignEnded, Message: fmt.Sprintf("the promotion ended on %s; the product is genuine and the code was not used", c.EndsAt.In(e.Zone()).Format("2006-01-02")), Details: map[string]any{"ended_at": c.EndsAt}}
	}
	if err := e.target(tx, c, m, req, now); err != nil {
		return err
	}
	dk := dailyKey(c.ID, m.ID, c.day(now, e.Zone()))
	var today int
	if _, err := getJSON(tx, dk, &today); err != nil {
		return err
	}
	if c.DailyLimit > 0 && today >= c.DailyLimit {
		return &Error{Code: CodeDailyLimit, Message: fmt.Sprintf("the limit of %d rewarded scans a day is reached; this code stays valid, scan it again tomorrow", c.DailyLimit), Details: map[string]any{"limit": c.DailyLimit}}
	}
	// The device's count is kept only where a limit asks for it.
	var devKey []byte
	var devToday int
	if c.DailyLimitPerDevice > 0 && req.Device != "" {
		devKey = deviceDailyKey(c.ID, req.Device, c.day(now, e.Zone()))
		if _, err := getJSON(tx, devKey, &devToday); err != nil {
			return err
		}
		if devToday >= c.DailyLimitPerDevice {
			return &Error{Code: CodeDailyLimit, Message: fmt.Sprintf("this device has reached the limit of %d rewarded scans a day; this code stays valid, scan it again tomorrow", c.DailyLimitPerDevice), Details: map[string]any{"limit": c.DailyLimitPerDevice, "per": "device"}}
		}
	}
	acct, err := e.openAccount(tx, c, req.final)
	if err != nil {
		return err
	}
	ctr := acct.ctr
	base := c.basePoints(red.Code)
	points := base
	mult, t, err := e.PointMultiplier(tx, m, c, now)
	if err != nil {
		return err
	}
	if t != nil {
		points = multiply(base, mult)
		res.Tier = t.Name
	}
	var bonus int64
	var bonusIDs []string
	if m.Redemptions == 0 && c.NewMemberBonus > 0 {
		bonusIDs = bonusIdentities(m, req)
		paid, err := bonusPaid(tx, bonusIDs)
		if err != nil {
			return err
		}
		if paid {
			res.Notes = append(res.Notes, NoteBonusAlreadyPaid)
		} else {
			bonus = c.NewMemberBonus
		}
	}
	if c.PointsBudget > 0 {
		left := acct.pointsLeft()
		if points+bonus > left {
			if err := acct.short(tx, points+bonus, 0, ""); err != nil {
				return err
			}
			left = acct.pointsLeft()
		}
		if left <= 0 && points+bonus > 0 {
			return &Error{Code: CodeBudgetExhausted, Message: "this promotion's points budget is used up; the product is genuine and the code was not used, so it can still earn in a later promotion"}
		}
		// The last scan is paid what is left, so the budget ends at exactly
		// zero and never below.
		if points+bonus > left {
			res.Notes = append(res.Notes, NotePointsBudgetPartial)
			points = min(points, left)
			bonus = min(bonus, left-points)
		}
	}
	ref := Entry{Code: red.Code, Campaign: c.ID}
	for _, p := range []struct {
		account, reason string
		delta           int64
	}{{AccountPoints, "scan", points}, {AccountPoints, "new_member_bonus", bonus}, {AccountGrowth, "scan", base}} {
		if p.delta <= 0 {
			continue
		}
		en, err := m.post(tx, now, p.account, p.delta, p.reason, ref)
		if err != nil {
			return err
		}
		red.Ledger = append(red.Ledger, en.ID)
	}
	paid, err := addAmount(ctr.PointsPaid, points+bonus)
	if err != nil {
		return err
	}
	ctr.PointsPaid = paid
	ctr.RewardedScans++
	if bonus > 0 {
		markBonusPaid(tx, bonusIDs, m.ID)
		m.Bonus = bonus
	}
	red.Points, red.Campaign, red.Version = points+bonus, c.ID, c.Version
	res.Points, res.Bonus, res.Growth, res.Campaign = points+bonus, bonus, base, c.ID

	if cr := c.Coupon; cr != nil && c.draw("coupon", red.Code) < cr.Probability {
		if acct.couponsLeft() <= 0 {
			if err := acct.short(tx, 0, 1, ""); err != nil {
				return err
			}
		}
		if acct.couponsLeft() <= 0 {
			res.Notes = append(res.Notes, NoteCouponStockExhausted)
		} else {
			cp := Coupon{
				ID: e.newID(), Campaign: c.ID, Title: cr.Title, Member: m.ID, Code: red.Code,
				Issued: now, Expires: now.AddDate(0, 0, cr.ValidDays), Status: CouponIssued,
			}
			issueCoupon(tx, &cp)
			if err := record(tx, FeedCouponIssued, now, cp); err != nil {
				return err
			}
			ctr.CouponsIssued++
			red.Coupon = cp.ID
			res.Coupon = &CouponSummary{ID: cp.ID, Title: cp.Title, ExpiresAt: cp.Expires}
		}
	}

	if len(c.Prizes) > 0 {
		if err := e.payPrize(tx, c, m, red, res, acct, now, m.Redemptions == 0); err != nil {
			return err
		}
	}

	if err := e.payGuide(tx, c, m, req, red, res, ctr, now); err != nil {
		return err
	}
	putJSON(tx, dk, today+1)
	if devKey != nil {
		putJSON(tx, devKey, devToday+1)
	}
	acct.save(tx, now)
	return nil
}

// payGuide credits the per-scan commission to the member's guide: the bound
// one, or the scan's guide when the member is unbound (a new member is
// then bound to it, see bindOnFirstScan). A guide never earns on their own
// scans.
func (e *Engine) payGuide(tx Tx, c *Campaign, m *Member, req ScanRequest, red *Redemption, res *ScanResult, ctr *CampaignCounters, now time.Time) error {
	id := m.Guide
	if id == "" {
		id = req.Guide
	}
	if id == "" {
		return nil
	}
	g, err := loadGuide(tx, id)
	if err != nil {
		return err
	}
	if g == nil {
		res.Notes = append(res.Notes, NoteUnknownGuide)
		return nil
	}
	if !g.LeftAt.IsZero() {
		// A member still bound to them while their members move, or a
		// scan naming them from an old poster: the brand pays no one.
		res.Notes = append(res.Notes, NoteGuideLeft)
		return nil
	}
	red.Guide, red.Store, res.Guide = g.ID, g.Store, g.ID
	per := c.GuideCommission.PerScan
	if per <= 0 {
		return nil
	}
	if self, err := g.isSelf(tx, m.ID); err != nil {
		return err
	} else if self {
		res.Notes = append(res.Notes, NoteSelfCommission)
		return nil
	}
	// On a shared database the guide's record is left alone: every node's
	// scans of its members would rewrite it (see guidetally.go).
	en, err := g.owe(tx, now, guideTally{}, per, "scan_commission", Entry{Code: red.Code, Campaign: c.ID})
	if err != nil {
		return err
	}
	if ctr.Commission, err = addAmount(ctr.Commission, per); err != nil {
		return err
	}
	red.Ledger = append(red.Ledger, en.ID)
	red.Commission, res.Commission = per, per
	return nil
}

// bindOnFirstScan binds a new member, on their first redeemed scan, to the
// guide the scan names: the guide who served them at the sale recruited
// them, and earns on their later scans. A guide that is unknown, has left
// or is the member themselves binds no one. It runs once the payout is
// decided, so a refused scan binds nobody.
func bindOnFirstScan(tx Tx, m *Member, guide string, now time.Time) error {
	return bindToGuide(tx, m, guide, now, now, "first_scan")
}

// countScan adds one to a code's scan count, and to its distinct scanners
// the first time who scans it; the scan that brings the code to
// flagScanners people, or the first scan after views did, flags it. It
// returns the count for the caller to write, whether the code was scanned
// before and, when it read it, the code's redemption.
func (e *Engine) countScan(tx Tx, p codegen.Parsed, who string, now time.Time) (st ScanStats, before bool, red *Redemption, err error) {
	code := p.String()
	if !e.seen.absent(p.Batch, p.Serial) {
		if before, red, err = readScanStats(tx, code, &st); err != nil {
			return st, false, nil, err
		}
	}
	if !before {
		e.seen.set(p.Batch, p.Serial)
	}
	if st.Scans == 0 {
		st.First = now
	}
	st.Scans++
	st.Last = now
	if (st.addScanner(who) && st.Scanners == flagScanners) || st.FlagDue {
		st.FlagDue = false
		if err := e.flagScannersReached(tx, p, who, st); err != nil {
			return st, false, nil, err
		}
	}
	return st, before, red, nil
}

// fnv32a is FNV-1a over s, without hash/fnv's heap-allocated state: it
// runs once per scan on the decider.
func fnv32a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
