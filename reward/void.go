package reward

import (
	"fmt"
	"slices"
	"time"
)

// CodeAlreadyVoided is returned for a second void.
const CodeAlreadyVoided Code = "already_voided"

// VoidRedemption reverses a redemption's payout with compensating ledger
// entries — points, bonus, growth, the guide's commission — and voids its
// coupon if unused. The code stays redeemed: a voided code pays nothing
// again. A member who already spent the points cannot be voided below zero;
// the operator must settle that by hand first.
func (e *Engine) VoidRedemption(text, reason string) (*Redemption, error) {
	if err := checkID("reason", reason, true); err != nil {
		return nil, err
	}
	p, err := e.verify(text)
	if err != nil {
		return nil, err
	}
	code := p.String()
	var out *Redemption
	err = e.update(func(tx Tx) error {
		now := e.now()
		r, err := getRecord[Redemption](tx, redemptionKey(code), func() error {
			return Errorf(CodeNotFound, "code %s was never redeemed", code)
		})
		if err != nil {
			return err
		}
		if r.Voided {
			return Errorf(CodeAlreadyVoided, "the redemption was voided on %s", r.VoidedAt.In(e.Zone()).Format(time.RFC3339))
		}
		// The entries are in the ledger of the member who redeemed; the
		// reversal debits whoever holds the points now, which differs when
		// that member was merged into a signed-in one (see SignIn).
		holder, err := loadResolved(tx, r.Member, now)
		if err != nil {
			return err
		}
		entries, err := entriesOf(tx, ledgerKey, holder.ID, holder.Seq, r.Ledger)
		if err != nil {
			return err
		}
		m := holder
		if holder.MergedInto != "" {
			if m, err = loadMember(tx, r.Member, now); err != nil {
				return err
			}
		}
		var points int64
		for _, en := range entries {
			if en.Account == AccountPoints {
				points += en.Delta
			}
		}
		if m.Points < points {
			return &Error{Code: CodeInsufficientPoints, Message: fmt.Sprintf("the member has %d points left of the %d to reverse; settle the difference first", m.Points, points)}
		}
		ref := Entry{Code: code, Campaign: r.Campaign}
		for _, en := range entries {
			if _, err := m.post(tx, now, en.Account, -en.Delta, "void: "+reason, ref); err != nil {
				return err
			}
		}
		putJSON(tx, memberKey(m.ID), m)
		var ctr CampaignCounters
		if r.Campaign != "" {
			if _, err := getJSON(tx, campaignCountersKey(r.Campaign), &ctr); err != nil {
				return err
			}
			ctr.PointsPaid -= r.Points
			ctr.RewardedScans--
		}
		if r.Commission != 0 && r.Guide != "" {
			g, err := loadGuide(tx, r.Guide)
			if err != nil {
				return err
			}
			if g != nil {
				if _, err := g.owe(tx, now, guideTally{}, -r.Commission, "void: "+reason, ref); err != nil {
					return err
				}
				ctr.Commission -= r.Commission
			}
		}
		if r.Coupon != "" {
			var c Coupon
			if ok, err := getJSON(tx, couponKey(r.Coupon), &c); err != nil {
				return err
			} else if ok && c.Status == CouponIssued {
				c.Status, c.VoidedAt, c.VoidReason = CouponVoid, now, reason
				putJSON(tx, couponKey(c.ID), c)
				if err := record(tx, FeedCouponVoided, now, c); err != nil {
					return err
				}
				if err := unissuePrize(tx, &c); err != nil {
					return err
				}
				ctr.CouponsIssued--
			}
		}
		if r.Campaign != "" {
			putJSON(tx, campaignCountersKey(r.Campaign), ctr)
		}
		r.Voided, r.VoidedAt, r.VoidReason = true, now, reason
		putJSON(tx, redemptionKey(code), r)
		if err := record(tx, FeedRedemptionVoided, now, r); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// VoidCoupon voids a coupon. An unused coupon returns to the campaign's
// stock; a used one also reverses the verifying guide's commission.
func (e *Engine) VoidCoupon(id, reason string) (*Coupon, error) {
	if err := checkID("reason", reason, true); err != nil {
		return nil, err
	}
	if err := checkID("coupon", id, true); err != nil {
		return nil, err
	}
	var out *Coupon
	err := e.update(func(tx Tx) error {
		now := e.now()
		c, err := loadCoupon(tx, id)
		if err != nil {
			return err
		}
		if c.Status == CouponVoid {
			return Errorf(CodeAlreadyVoided, "the coupon was voided on %s", c.VoidedAt.In(e.Zone()).Format(time.RFC3339))
		}
		var ctr CampaignCounters
		if _, err := getJSON(tx, campaignCountersKey(c.Campaign), &ctr); err != nil {
			return err
		}
		if c.Status == CouponUsed {
			ctr.CouponsUsed--
			if c.Commission != 0 {
				g, err := loadGuide(tx, c.UsedBy)
				if err != nil {
					return err
				}
				if g != nil {
					if _, err := g.owe(tx, now, guideTally{}, -c.Commission, "void: "+reason, Entry{Coupon: c.ID, Code: c.Code, Campaign: c.Campaign}); err != nil {
						return err
					}
					ctr.Commission -= c.Commission
				}
			}
		}
		if err := unissuePrize(tx, c); err != nil {
			return err
		}
		ctr.CouponsIssued--
		c.Status, c.VoidedAt, c.VoidReason = CouponVoid, now, reason
		putJSON(tx, couponKey(c.ID), c)
		if c.Reward == "" { // a mall coupon belongs to no campaign (exchange.go)
			putJSON(tx, campaignCountersKey(c.Campaign), ctr)
		}
		if err := record(tx, FeedCouponVoided, now, c); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// entriesOf reads the entries with the given ids from a ledger, newest
// first. Ledgers are read backwards from seq because the entries of one
// redemption are recent relative to most reads of it.
func entriesOf(tx getter, key func(string, uint64) []byte, holder string, seq uint64, ids []string) ([]Entry, error) {
	var out []Entry
	for s := seq; s >= 1 && len(out) < len(ids); s-- {
		var en Entry
		found, err := getJSON(tx, key(holder, s), &en)
		if err != nil {
			return nil, err
		}
		if found && slices.Contains(ids, en.ID) {
			out = append(out, en)
		}
	}
	// A redemption's commission entry is in its guide's ledger, so fewer
	// entries than ids is expected here.
	return out, nil
}
