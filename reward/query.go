package reward

import (
	"errors"
	"strconv"
	"time"
)

// CodeStatus is the public description of a code, for the anti-counterfeit
// display. It reveals nothing about who redeemed it.
type CodeStatus struct {
	Valid      bool       `json:"valid"`
	Code       string     `json:"code"`
	Reason     string     `json:"reason,omitempty"`
	Message    string     `json:"message,omitempty"`
	Product    string     `json:"product,omitempty"`
	GTIN       string     `json:"gtin,omitempty"`
	Produced   string     `json:"produced,omitempty"`
	Batch      uint32     `json:"batch,omitempty"`
	Serial     uint32     `json:"serial,omitempty"`
	State      string     `json:"state,omitempty"`
	Redeemed   bool       `json:"redeemed"`
	RedeemedAt *time.Time `json:"redeemed_at,omitempty"`
	Scans      uint64     `json:"scans"`
	Scanners   uint64     `json:"scanners"`
	FirstScan  *time.Time `json:"first_scan,omitempty"`
	// Promotion is the status of the campaign that would pay a claim of
	// the code now: live, scheduled or ended; empty when no campaign
	// covers it (the batch's fixed points pay); "exhausted" when the live
	// campaign's points budget is used up. A page offers a claim only when
	// there is something to claim.
	Promotion string `json:"promotion,omitempty"`
	// PayoutHeld says the code's batch is a factory's the brand has not
	// released for payout yet: a claim is refused with payout_held.
	PayoutHeld bool `json:"payout_held,omitempty"`
	// Claim is "pin" when the reward is claimed with the inner PIN
	// printed inside the package, PINDigits long.
	Claim     string `json:"claim,omitempty"`
	PINDigits uint8  `json:"pin_digits,omitempty"`

	// redeemedAt and firstScan hold what RedeemedAt and FirstScan point
	// to: a status is one allocation, not three.
	redeemedAt, firstScan time.Time
}

// Status describes a code. A code that is not genuine is not an error here:
// the answer says valid:false and why.
func (e *Engine) Status(text string) (*CodeStatus, error) {
	p, err := e.verify(text)
	if err != nil {
		var re *Error
		errors.As(err, &re)
		reason := string(re.Code)
		if r, ok := re.Details["reason"].(string); ok {
			reason = r
		}
		st := &CodeStatus{Valid: false, Reason: reason, Message: re.Message}
		if p.Canonical[0] != 0 { // it parsed: show the one spelling of what was asked
			st.Code = p.String()
		}
		return st, nil
	}
	code := p.String()
	st := &CodeStatus{Valid: true, Code: code, Batch: p.Batch, Serial: p.Serial}
	batch, found, err := e.statusBatch(p.Batch)
	switch {
	case err != nil:
		return nil, wrapStore(err)
	case !found:
		st.Valid = false
		st.Reason = string(CodeUnknownBatch)
		st.Message = "the signature is right but this deployment has no record of the batch"
		return st, nil
	case NotMinted(batch, p) != "":
		st.Valid = false
		st.Reason = string(CodeUnknownBatch)
		st.Message = "the signature is right but " + NotMinted(batch, p)
		return st, nil
	}
	st.Product, st.GTIN, st.State, st.Produced = batch.Product, batch.GTIN, string(batch.State(p.Serial)), batch.Produced
	st.PayoutHeld = batch.PayoutHeld
	st.Claim, st.PINDigits = batch.Claim, batch.PINDigits
	if st.Promotion, err = e.promotion(batch); err != nil {
		return nil, wrapStore(err)
	}
	// The scan record and the redemption: a code redeemed by its first
	// scan has no scan record, its redemption implies it (see ScanStats).
	var stats ScanStats
	scanned, red, err := readScanStats(e.db, code, &stats)
	if err != nil {
		return nil, wrapStore(err)
	}
	if scanned && red == nil {
		red = new(Redemption)
		if found, err := getJSON(e.db, redemptionKey(code), red); err != nil {
			return nil, wrapStore(err)
		} else if !found {
			red = nil
		}
	}
	if red != nil {
		st.Redeemed = true
		st.redeemedAt = red.At
		st.RedeemedAt = &st.redeemedAt
	}
	if err := e.pendingVisits(code, &stats); err != nil {
		return nil, wrapStore(err)
	}
	st.Scans, st.Scanners = stats.Scans, stats.Scanners
	if stats.Scans > 0 {
		st.firstScan = stats.First
		st.FirstScan = &st.firstScan
	}
	return st, nil
}

// promotion is the status of the campaign that governs a scan of batch's
// codes now, chosen as campaignFor chooses it; empty when none does, and
// "exhausted" for a live one whose points budget is used up, where a claim
// is refused with budget_exhausted. It reads outside any decision, through
// the records Status keeps (statusrecords.go) rather than the decider's
// frozen ones.
func (e *Engine) promotion(b *Batch) (string, error) {
	var buf [64]byte
	ids := []string{b.Campaign}
	if b.Campaign == "" {
		list, _, err := readStatusRecord[[]string](e, append(append(buf[:0], productCampaignsPrefix...), b.Product...), "product's campaign list")
		if err != nil || list == nil {
			return "", err
		}
		ids = *list
	}
	now, status := e.now(), ""
	for _, id := range ids {
		c, found, err := readStatusRecord[Campaign](e, append(append(buf[:0], campaignPrefix...), id...), "campaign")
		if err != nil {
			return "", err
		}
		if !found {
			continue
		}
		switch s := c.status(now); {
		case s == "live":
			return c.liveStatus(e.db)
		case status == "" || s == "scheduled":
			status = s
		}
	}
	return status, nil
}

// liveStatus is a live campaign's promotion status: "exhausted" once its
// points budget is used up, as payCampaign then refuses every scan that
// would pay points.
func (c *Campaign) liveStatus(r getter) (string, error) {
	if c.PointsBudget <= 0 {
		return "live", nil
	}
	ctr, _, err := campaignTotals(r, c.ID, false)
	if err != nil {
		return "", err
	}
	if ctr.PointsPaid >= c.PointsBudget {
		return "exhausted", nil
	}
	return "live", nil
}

// MemberView is a member's balances and one page of their ledger, newest
// first.
type MemberView struct {
	Member
	Ledger []Entry `json:"ledger"`
	// Next is the cursor of the following page, empty on the last.
	Next string `json:"next,omitempty"`
	// Standing is the member's place on the brand's tier ladder, absent
	// when the brand has none (see tier.go).
	Standing *Standing `json:"standing,omitempty"`
}

// MaxPage bounds a page of any listing; DefaultPage is a page's size when
// the caller gives none.
const (
	MaxPage     = 200
	DefaultPage = 50
)

// Member returns a member's balances and a page of their ledger. cursor is
// the Next of a previous page, or empty for the newest entries.
func (e *Engine) Member(id, cursor string, limit int) (*MemberView, error) {
	if err := checkID("member", id, true); err != nil {
		return nil, err
	}
	limit = pageSize(limit)
	// An alias reads the member it belongs to, as scans and spends under
	// it credit and debit that member.
	id, err := resolve(e.db, id)
	if err != nil {
		return nil, wrapStore(err)
	}
	var v MemberView
	found, err := getJSON(e.db, memberKey(id), &v.Member)
	if err != nil {
		return nil, wrapStore(err)
	}
	if !found {
		return nil, Errorf(CodeNotFound, "member %q has no account yet; it is created by the first redeemed scan", id)
	}
	if v.Standing, err = e.MemberStanding(&v.Member); err != nil {
		return nil, err
	}
	before := v.Seq + 1
	if cursor != "" {
		c, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil || c == 0 {
			return nil, Errorf(CodeInvalidRequest, "cursor %q is not one this API returned", cursor)
		}
		// A cursor past the newest entry starts at the newest: a page
		// never walks numbers no entry has.
		before = min(c, before)
	}
	var err2 error
	v.Ledger, v.Next, err2 = ledgerPage(e.db, func(seq uint64) []byte { return ledgerKey(id, seq) }, before, limit)
	if err2 != nil {
		return nil, err2
	}
	return &v, nil
}

// ledgerPage reads up to limit entries numbered below before, newest
// first, by point lookups (cheap pages without a reverse iterator), and the
// cursor of the next page. It looks up at most limit numbers, so a page's
// work is bounded whatever gaps the ledger has.
func ledgerPage(r getter, key func(seq uint64) []byte, before uint64, limit int) ([]Entry, string, error) {
	out := []Entry{}
	seq := before - 1
	for probes := 0; seq >= 1 && probes < limit; probes, seq = probes+1, seq-1 {
		var en Entry
		if found, err := getJSON(r, key(seq), &en); err != nil {
			return nil, "", wrapStore(err)
		} else if found {
			out = append(out, en)
		}
	}
	next := ""
	if seq >= 1 {
		next = strconv.FormatUint(seq+1, 10)
	}
	return out, next, nil
}
