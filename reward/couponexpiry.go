package reward

import (
	"context"
	"encoding/binary"
	"slices"
	"time"
)

// A coupon expires by the clock: its state turns from unused to expired
// when expires_at passes, and no decision is made at that moment. The
// feed still tells of it, so that a brand's CRM can say "your gift
// expired" or release what it reserved: a sweep (ExpireCoupons, run by the
// server every minute) records coupon.expired for each coupon whose expiry
// passed unused. The rule that makes the event exactly once: every issued
// coupon has a key in an expiry index, written by the decision that
// issues it; the decision that records the event deletes that key, so a
// sweep run twice, or two sweeps at once, record one event. A coupon used
// or voided before its expiry loses its key without an event. The coupon's
// record does not change: its state was expired from expires_at on, and
// the event is when the sweep saw it (data.expires_at says when it took
// effect).

const (
	FeedCouponExpired = "coupon.expired"
	// expiryChunk is how many coupons one sweep decision settles, so that
	// scans queued behind it wait for one small chunk at most.
	expiryChunk = 256
)

var (
	couponPrefix       = []byte("cpn/")
	couponExpiryPrefix = []byte("cx/")
	// couponExpiryIndexedKey is set once every coupon issued before the
	// index existed has its key (see indexCouponExpiries).
	couponExpiryIndexedKey = []byte("meta/coupon-expiry-indexed")
)

// issueCoupon writes a new coupon and its key in the expiry index: every
// decision that issues a coupon goes through it, or the coupon's expiry
// would never reach the feed.
func issueCoupon(tx Tx, c *Coupon) {
	putJSON(tx, couponKey(c.ID), c)
	tx.Put(couponExpiryKey(c), []byte{1})
}

// couponExpiryKey orders a coupon's index key by its expiry.
func couponExpiryKey(c *Coupon) []byte {
	k := binary.BigEndian.AppendUint64(slices.Clip(couponExpiryPrefix), uint64(c.Expires.UnixNano()))
	return append(k, c.ID...)
}

// ExpireCoupons records coupon.expired for every coupon whose expiry has
// passed unused, and returns how many it recorded. Data kept from before
// the expiry index existed is indexed first, once.
func (e *Engine) ExpireCoupons(ctx context.Context) (int, error) {
	if err := e.indexCouponExpiries(ctx); err != nil {
		return 0, err
	}
	total := 0
	for ctx.Err() == nil {
		now := e.now()
		end := binary.BigEndian.AppendUint64(slices.Clip(couponExpiryPrefix), uint64(now.UnixNano()))
		// Find the chunk outside the decider: a read, so scans do not
		// wait for it; the decision reads each coupon again.
		var due [][]byte
		err := e.db.Scan(couponExpiryPrefix, nil, func(k, _ []byte) bool {
			if string(k) > string(end) {
				return false
			}
			due = append(due, slices.Clone(k))
			return len(due) < expiryChunk
		})
		if err != nil {
			return total, wrapStore(err)
		}
		if len(due) == 0 {
			return total, nil
		}
		n := 0
		err = e.update(func(tx Tx) error {
			n = 0
			for _, k := range due {
				_, found, err := tx.Get(k)
				if err != nil {
					return err
				}
				if !found {
					continue // another sweep settled it
				}
				tx.Delete(k)
				c, err := loadCoupon(tx, string(k[len(couponExpiryPrefix)+8:]))
				if err != nil || c == nil {
					if err == nil {
						continue // a dangling key: nothing to tell
					}
					return err
				}
				if c.Status != CouponIssued || now.Before(c.Expires) {
					continue
				}
				if err := record(tx, FeedCouponExpired, now, c); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// indexCouponExpiries gives every unused coupon issued before the expiry
// index existed its key, in small decisions, and then marks the index
// complete. A coupon issued meanwhile gets its key from its own decision.
func (e *Engine) indexCouponExpiries(ctx context.Context) error {
	if _, done, err := e.db.Get(couponExpiryIndexedKey); err != nil || done {
		return wrapStore(err)
	}
	var after []byte
	for ctx.Err() == nil {
		var ids []string
		err := e.db.Scan(couponPrefix, after, func(k, _ []byte) bool {
			if after != nil && string(k) == string(after) {
				return true
			}
			ids = append(ids, string(k[len(couponPrefix):]))
			return len(ids) < expiryChunk
		})
		if err != nil {
			return wrapStore(err)
		}
		err = e.update(func(tx Tx) error {
			for _, id := range ids {
				c, err := loadCoupon(tx, id)
				if err != nil {
					return err
				}
				if c != nil && c.Status == CouponIssued {
					tx.Put(couponExpiryKey(c), []byte{1})
				}
			}
			if len(ids) < expiryChunk {
				tx.Put(couponExpiryIndexedKey, []byte{1})
			}
			return nil
		})
		if err != nil || len(ids) < expiryChunk {
			return err
		}
		after = couponKey(ids[len(ids)-1])
	}
	return ctx.Err()
}

// CouponExpirySweep is how often the server runs ExpireCoupons.
const CouponExpirySweep = time.Minute
