package reward

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"
)

// The points mall (积分商城): a catalog of rewards a member buys with
// points. A reward is a coupon verified at the counter (the gift coupon's
// flow), a code from a list the brand uploads (a third-party voucher), or
// goods the brand ships. The catalog record is the brand's; what was
// taken from its stock is a counter the redemptions keep (RewardCounters),
// so that applying the document again never forgets a redemption.

// Reward kinds.
const (
	KindCoupon  = "coupon"
	KindVoucher = "voucher"
	KindGoods   = "goods"
)

// Codes of the mall.
const (
	CodeOutOfStock       Code = "out_of_stock"
	CodeLimitReached     Code = "limit_reached"
	CodeRewardNotStarted Code = "reward_not_started"
	CodeRewardEnded      Code = "reward_ended"
)

// Bounds of the catalog: a price a member can save up for and an amount no
// sum of them leaves int64 with.
const (
	MaxRewardPrice    = 100_000_000
	MaxRewardStock    = 100_000_000
	MaxRedeemQuantity = 100
	maxRewardTitle    = 80
)

// Reward is one item of the mall's catalog.
type Reward struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Picture is an https URL, or a path on this site, of its image.
	Picture string `json:"picture,omitempty"`
	// Price is in points, for one unit.
	Price int64 `json:"price"`
	// Stock is how many units the brand offers in all; redeemed units
	// count against it, cancelled goods orders give theirs back.
	Stock int64 `json:"stock"`
	// Limit is how many units one member may hold in all (cancelled
	// orders not counted); 0 means no limit.
	Limit int64 `json:"limit_per_member,omitempty"`
	// The window: redeemable from StartsAt (zero: at once) until EndsAt
	// (zero: for ever).
	StartsAt time.Time `json:"starts_at,omitzero"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
	// Kind is what the member gets: coupon, voucher or goods.
	Kind string `json:"kind"`
	// ValidDays is how long a coupon stays valid (kind coupon); 0 is 30.
	ValidDays   int    `json:"valid_days,omitempty"`
	Description string `json:"description,omitempty"`

	// Set by the engine.
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RewardCounters are what the redemptions took from a reward's stock.
type RewardCounters struct {
	// Redeemed counts units taken and not given back by a cancelled order.
	Redeemed int64 `json:"redeemed"`
	// Redemptions counts the redemptions ever made.
	Redemptions int64 `json:"redemptions"`
}

// RewardView is a reward as the API shows it: its counters, the stock
// left and, for vouchers, the codes uploaded and not yet handed out.
type RewardView struct {
	*Reward
	Counters RewardCounters `json:"counters"`
	Left     int64          `json:"left"`
	// VouchersLeft is the uploaded codes not yet handed out (kind voucher).
	VouchersLeft *int64 `json:"vouchers_left,omitempty"`
	Status       string `json:"status"` // live, scheduled, ended, sold_out
}

func rewardKey(id string) []byte         { return append([]byte("rw/"), id...) }
func rewardCountersKey(id string) []byte { return append([]byte("rwc/"), id...) }
func rewardLimitKey(id, member string) []byte {
	return append(append(append([]byte("rwl/"), id...), 0), member...)
}

var rewardPrefix = []byte("rw/")

// ParseReward decodes and validates a reward document applied under id
// (PUT /v1/rewards/{id}): a document without an id takes it, one with
// another is refused. Unknown fields are refused, so a typo does not
// silently change a price.
func ParseReward(raw []byte, id string) (*Reward, error) {
	var r Reward
	if err := parseDocument(raw, "reward", id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Reward) idField() *string { return &r.ID }

func (r *Reward) check() error {
	if err := checkID("id", r.ID, true); err != nil {
		return err
	}
	if r.Title == "" || utf8.RuneCountInString(r.Title) > maxRewardTitle || checkID("title", r.Title, false) != nil {
		return Errorf(CodeInvalidRequest, "\"title\" is required: at most %d characters, no control characters", maxRewardTitle)
	}
	if utf8.RuneCountInString(r.Description) > 500 || !plainText(r.Description) {
		return Errorf(CodeInvalidRequest, "\"description\": at most 500 characters, no control characters but line breaks")
	}
	if r.Picture != "" {
		if err := checkImageURL("picture", r.Picture); err != nil {
			return err
		}
	}
	switch {
	case r.Price <= 0 || r.Price > MaxRewardPrice:
		return Errorf(CodeInvalidRequest, "\"price\" %d: give the points one unit costs, 1 to %d", r.Price, MaxRewardPrice)
	case r.Stock < 0 || r.Stock > MaxRewardStock:
		return Errorf(CodeInvalidRequest, "\"stock\" %d: give the units on offer, 0 to %d", r.Stock, MaxRewardStock)
	case r.Limit < 0 || r.Limit > MaxRewardStock:
		return Errorf(CodeInvalidRequest, "\"limit_per_member\" %d: 0 (no limit) to %d", r.Limit, MaxRewardStock)
	case !r.StartsAt.IsZero() && !r.EndsAt.IsZero() && !r.EndsAt.After(r.StartsAt):
		return Errorf(CodeInvalidRequest, "\"ends_at\" must be after \"starts_at\"")
	case r.ValidDays < 0 || r.ValidDays > 3660:
		return Errorf(CodeInvalidRequest, "\"valid_days\" %d: 0 (30 days) to 3660", r.ValidDays)
	}
	switch r.Kind {
	case KindCoupon:
	case KindVoucher, KindGoods:
		if r.ValidDays != 0 {
			return Errorf(CodeInvalidRequest, "\"valid_days\" is for coupons; a %s has none", r.Kind)
		}
	default:
		return Errorf(CodeInvalidRequest, "\"kind\" %q: give coupon (verified at the counter), voucher (a code from a list you upload) or goods (shipped to an address)", r.Kind)
	}
	return nil
}

// plainText reports whether s is UTF-8 without control characters other
// than line breaks and tabs.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// PutReward creates or changes a catalog item. Its stock may not go below
// what was already redeemed, and its kind may not change once redeemed: a
// coupon already issued is not a parcel.
func (e *Engine) PutReward(r *Reward) (*RewardView, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	var out *RewardView
	err := e.update(func(tx Tx) error {
		var cur Reward
		found, err := getJSON(tx, rewardKey(r.ID), &cur)
		if err != nil {
			return err
		}
		// Slices of several nodes (rewardescrow.go) keep only what they
		// took: the new stock holds against the rest at once.
		if err := syncRewardSlices(tx, r.ID); err != nil {
			return err
		}
		ctr, _, err := rewardTotals(tx, r.ID)
		if err != nil {
			return err
		}
		if r.Stock < ctr.Redeemed {
			return Errorf(CodeInvalidRequest, "\"stock\" %d is below the %d units already redeemed; give at least %d", r.Stock, ctr.Redeemed, ctr.Redeemed)
		}
		if found && cur.Kind != r.Kind && ctr.Redemptions > 0 {
			return Errorf(CodeInvalidRequest, "reward %q was redeemed as a %s; its kind cannot change. Add a new reward instead", r.ID, cur.Kind)
		}
		nr := *r
		nr.Version = cur.Version + 1
		nr.UpdatedAt = e.now()
		putJSON(tx, rewardKey(r.ID), &nr)
		if err := record(tx, FeedRewardChanged, nr.UpdatedAt, &nr); err != nil {
			return err
		}
		out, err = rewardView(tx, &nr, nr.UpdatedAt)
		return err
	})
	return out, err
}

// rewardView adds the counters (every node's slice counted), what is
// left and the status.
func rewardView(r getter, rw *Reward, now time.Time) (*RewardView, error) {
	ctr, p, err := rewardTotals(r, rw.ID)
	if err != nil {
		return nil, err
	}
	v := &RewardView{Reward: rw, Counters: ctr, Left: max(rw.Stock-ctr.Redeemed, 0)}
	if rw.Kind == KindVoucher {
		n := p.Uploaded - p.Issued
		v.VouchersLeft = &n
		v.Left = min(v.Left, n)
	}
	switch {
	case !rw.StartsAt.IsZero() && now.Before(rw.StartsAt):
		v.Status = "scheduled"
	case !rw.EndsAt.IsZero() && !now.Before(rw.EndsAt):
		v.Status = "ended"
	case v.Left == 0:
		v.Status = "sold_out"
	default:
		v.Status = "live"
	}
	return v, nil
}

// RewardByID returns a catalog item with its counters.
func (e *Engine) RewardByID(id string) (*RewardView, error) {
	if err := checkID("id", id, true); err != nil {
		return nil, err
	}
	var rw Reward
	found, err := getJSON(e.db, rewardKey(id), &rw)
	if err != nil {
		return nil, wrapStore(err)
	}
	if !found {
		return nil, Errorf(CodeNotFound, "no reward %q in the mall; GET /v1/rewards lists them", id)
	}
	v, err := rewardView(e.db, &rw, e.now())
	return v, wrapStore(err)
}

// MaxRewards bounds the catalog a listing reads: a mall is a page, not a
// warehouse.
const MaxRewards = 1000

// Rewards lists the catalog for the mall: the cheapest first (the
// low-threshold items most members can afford), then by id. With all
// false it lists only what a member can redeem or will soon (live and
// scheduled items, sold-out ones last); with all it lists every item.
func (e *Engine) Rewards(all bool) ([]*RewardView, error) {
	now := e.now()
	var out []*RewardView
	var derr error
	err := e.db.Scan(rewardPrefix, nil, func(_, raw []byte) bool {
		var rw Reward
		if derr = json.Unmarshal(raw, &rw); derr != nil {
			return false
		}
		var v *RewardView
		if v, derr = rewardView(e.db, &rw, now); derr != nil {
			return false
		}
		if all || v.Status != "ended" {
			out = append(out, v)
		}
		return len(out) < MaxRewards
	})
	err = firstErr(err, derr)
	if err != nil {
		return nil, wrapStore(err)
	}
	soldOut := func(v *RewardView) int {
		if v.Status == "sold_out" || v.Status == "ended" {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(out, func(a, b *RewardView) int {
		if d := soldOut(a) - soldOut(b); d != 0 {
			return d
		}
		if a.Price != b.Price {
			if a.Price < b.Price {
				return -1
			}
			return 1
		}
		return bytes.Compare([]byte(a.ID), []byte(b.ID))
	})
	if out == nil {
		out = []*RewardView{}
	}
	return out, nil
}
