package reward

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/ksuid"
)

// An exchange is one redemption in the mall: a member's points for some
// units of a reward. One decision takes the points, the stock (and the
// vouchers), counts the member's limit and makes what the member gets:
// coupons, voucher codes, or the goods order the brand ships. A goods
// order the brand cancels gives its points and its stock back, once.

// Exchange statuses: a coupon or voucher exchange is done at once; goods
// wait for the brand (pending), then ship or are cancelled.
const (
	ExchangeDone      = "done"
	ExchangePending   = "pending"
	ExchangeShipped   = "shipped"
	ExchangeCancelled = "cancelled"
)

// Codes of goods orders.
const (
	CodeAlreadyShipped   Code = "already_shipped"
	CodeAlreadyCancelled Code = "already_cancelled"
)

// Ledger reasons of the mall.
const (
	ReasonRedeem       = "redeem"
	ReasonRedeemRefund = "redeem_refund"
)

// Address is where goods are shipped.
type Address struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
}

func (a *Address) check() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"name", a.Name, 40}, {"phone", a.Phone, 32}, {"address", a.Address, 200}} {
		if f.v == "" || utf8.RuneCountInString(f.v) > f.max || checkID(f.name, f.v, false) != nil {
			return Errorf(CodeInvalidRequest, "address %q is required: 1 to %d characters, no control characters", f.name, f.max)
		}
	}
	return nil
}

// Exchange is the record of one redemption in the mall.
type Exchange struct {
	ID       string    `json:"id"`
	Member   string    `json:"member"`
	Reward   string    `json:"reward"`
	Kind     string    `json:"kind"`
	Title    string    `json:"title"`
	Quantity int64     `json:"quantity"`
	Price    int64     `json:"price"`
	Points   int64     `json:"points"`
	At       time.Time `json:"at"`
	Status   string    `json:"status"`
	// Ledger lists the entries it wrote: the points taken, then the
	// refund of a cancelled order.
	Ledger    []string `json:"ledger"`
	RequestID string   `json:"request_id,omitempty"`
	Coupons   []string `json:"coupons,omitempty"`
	Vouchers  []string `json:"vouchers,omitempty"`
	Address   *Address `json:"address,omitempty"`
	// Goods: set by the brand.
	ShippedAt    time.Time `json:"shipped_at,omitzero"`
	Tracking     string    `json:"tracking,omitempty"`
	CancelledAt  time.Time `json:"cancelled_at,omitzero"`
	CancelReason string    `json:"cancel_reason,omitempty"`
	Refunded     int64     `json:"refunded,omitempty"`
}

func exchangeKey(id string) []byte { return append([]byte("xch/"), id...) }
func memberExchangePrefix(member string) []byte {
	return append(append([]byte("mxch/"), member...), 0)
}

// memberExchangeKey orders a member's exchanges by the ledger entry that
// took their points (ids of one second do not sort by time).
func memberExchangeKey(member string, seq uint64) []byte {
	return fmt.Appendf(memberExchangePrefix(member), "%020d", seq)
}

var exchangePrefix = []byte("xch/")

// RedeemRequest is POST /v1/members/{m}/redeem.
type RedeemRequest struct {
	Reward    string   `json:"reward"`
	Quantity  int64    `json:"quantity"`
	RequestID string   `json:"request_id"`
	Address   *Address `json:"address,omitempty"`
	// Scope is whose request_id it is (see ScanRequest.Scope).
	Scope string `json:"-"`
}

// RedeemResult is the answer to a redemption: the exchange, the coupons it
// issued and the balance after it.
type RedeemResult struct {
	Result   string   `json:"result"`
	Member   string   `json:"member"`
	Balance  int64    `json:"balance"`
	Exchange Exchange `json:"exchange"`
	Coupons  []Coupon `json:"coupons,omitempty"`
}

// Redeem exchanges a member's points for req.Quantity units of a reward,
// exactly once per request_id: a retry answers the stored result.
func (e *Engine) Redeem(member string, req RedeemRequest) (json.RawMessage, error) {
	if err := checkIDs(true, [][2]string{{"member", member}, {"reward", req.Reward}, {"request_id", req.RequestID}}); err != nil {
		return nil, err
	}
	if req.Quantity == 0 {
		req.Quantity = 1
	}
	if req.Quantity < 1 || req.Quantity > MaxRedeemQuantity {
		return nil, Errorf(CodeInvalidRequest, "\"quantity\" %d: redeem 1 to %d units at a time", req.Quantity, MaxRedeemQuantity)
	}
	if req.Address != nil {
		if err := req.Address.check(); err != nil {
			return nil, err
		}
	}
	parts := []string{"redeem", member, req.Reward, fmt.Sprint(req.Quantity)}
	if a := req.Address; a != nil {
		parts = append(parts, a.Name, a.Phone, a.Address)
	}
	hash := hashOf(parts...)
	var out json.RawMessage
	// One member's exchanges and scans share a lane.
	lane, leave := e.enterLane(e.laneOf(member), memberLane(member))
	defer leave()
	err := e.untilCovered(func(final bool) (topUpper, error) {
		var short *rewardShortfall
		err := e.updateIn(lane, nil, func(tx Tx) error {
			if prev, found, err := replay(tx, req.Scope, req.RequestID, hash); err != nil || found {
				out = prev
				return err
			}
			res, err := e.redeem(tx, e.now(), member, req, final)
			if errors.As(err, &short) || err != nil {
				return err
			}
			if out, err = json.Marshal(res); err != nil {
				return err
			}
			remember(tx, req.Scope, req.RequestID, hash, out)
			emit(tx, Event{Kind: EventSpent, Points: res.Exchange.Points})
			return nil
		})
		if short != nil {
			// The node's slice of the reward is short: nothing was written.
			return short, nil
		}
		return nil, err
	})
	return out, err
}

// redeem is the decision of Redeem; its messages tell times in the
// brand's time zone. final is untilCovered's.
func (e *Engine) redeem(tx Tx, now time.Time, member string, req RedeemRequest, final bool) (*RedeemResult, error) {
	loc := e.Zone()
	var rw Reward
	found, err := getJSON(tx, rewardKey(req.Reward), &rw)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, Errorf(CodeNotFound, "no reward %q in the mall; GET /v1/rewards lists them", req.Reward)
	}
	switch {
	case !rw.StartsAt.IsZero() && now.Before(rw.StartsAt):
		return nil, &Error{Code: CodeRewardNotStarted, Message: fmt.Sprintf("%s can be redeemed from %s", rw.Title, rw.StartsAt.In(loc).Format(time.RFC3339)), Details: map[string]any{"starts_at": rw.StartsAt}}
	case !rw.EndsAt.IsZero() && !now.Before(rw.EndsAt):
		return nil, &Error{Code: CodeRewardEnded, Message: fmt.Sprintf("%s could be redeemed until %s", rw.Title, rw.EndsAt.In(loc).Format(time.RFC3339)), Details: map[string]any{"ended_at": rw.EndsAt}}
	}
	if rw.Kind == KindGoods && req.Address == nil {
		return nil, Errorf(CodeInvalidRequest, "%s is shipped: give \"address\": {\"name\",\"phone\",\"address\"}", rw.Title)
	}
	if rw.Kind != KindGoods && req.Address != nil {
		return nil, Errorf(CodeInvalidRequest, "%s is a %s, not shipped: leave out \"address\"", rw.Title, rw.Kind)
	}
	m, err := loadMember(tx, member, now)
	if err != nil {
		return nil, err
	}
	acct, err := e.openRewardAccount(tx, &rw, req.Quantity, final)
	if err != nil {
		return nil, err
	}
	if acct.left() < req.Quantity {
		if err := acct.short(tx, req.Quantity); err != nil {
			return nil, err
		}
	}
	if left := acct.left(); left < req.Quantity {
		return nil, &Error{Code: CodeOutOfStock, Message: fmt.Sprintf("%s has %d left, %d asked; nothing was taken", rw.Title, max(left, 0), req.Quantity), Details: map[string]any{"left": max(left, 0)}}
	}
	var held int64
	if _, err := getJSON(tx, rewardLimitKey(rw.ID, m.ID), &held); err != nil {
		return nil, err
	}
	if rw.Limit > 0 && held+req.Quantity > rw.Limit {
		return nil, &Error{Code: CodeLimitReached, Message: fmt.Sprintf("a member may redeem %d of %s; you have %d; nothing was taken", rw.Limit, rw.Title, held), Details: map[string]any{"limit": rw.Limit, "held": held}}
	}
	cost := rw.Price * req.Quantity // both bounded: no overflow
	if m.Points < cost {
		return nil, &Error{Code: CodeInsufficientPoints, Message: fmt.Sprintf("%d points needed, the member has %d; nothing was taken", cost, m.Points), Details: map[string]any{"balance": m.Points, "needed": cost}}
	}
	x := Exchange{ID: ksuid.New().String(), Member: m.ID, Reward: rw.ID, Kind: rw.Kind, Title: rw.Title, Quantity: req.Quantity,
		Price: rw.Price, Points: cost, At: now, Status: ExchangeDone, RequestID: req.RequestID}
	res := &RedeemResult{Result: "redeemed", Member: m.ID}
	switch rw.Kind {
	case KindVoucher:
		codes, ok, err := acct.takeVouchers(tx, req.Quantity, m.ID, x.ID, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &Error{Code: CodeOutOfStock, Message: fmt.Sprintf("%s has fewer than %d codes left; nothing was taken", rw.Title, req.Quantity), Details: map[string]any{"left": 0}}
		}
		x.Vouchers = codes
	case KindGoods:
		x.Status, x.Address = ExchangePending, req.Address
	}
	en, err := m.post(tx, now, AccountPoints, -cost, ReasonRedeem+": "+rw.ID, Entry{Request: req.RequestID, Exchange: x.ID})
	if err != nil {
		return nil, err
	}
	x.Ledger = []string{en.ID}
	if rw.Kind == KindCoupon {
		days := rw.ValidDays
		if days == 0 {
			days = 30
		}
		for range req.Quantity {
			c := Coupon{ID: ksuid.New().String(), Title: rw.Title, Member: m.ID, Reward: rw.ID, Exchange: x.ID,
				Issued: now, Expires: now.AddDate(0, 0, days), Status: CouponIssued}
			putJSON(tx, couponKey(c.ID), c)
			x.Coupons = append(x.Coupons, c.ID)
			res.Coupons = append(res.Coupons, c)
		}
	}
	acct.take(req.Quantity)
	acct.save(tx, now)
	putJSON(tx, rewardLimitKey(rw.ID, m.ID), held+req.Quantity)
	putJSON(tx, exchangeKey(x.ID), x)
	tx.Put(memberExchangeKey(m.ID, en.Seq), []byte(x.ID))
	putJSON(tx, memberKey(m.ID), m)
	if err := record(tx, FeedRewardRedeemed, now, x); err != nil {
		return nil, err
	}
	for _, c := range res.Coupons {
		if err := record(tx, FeedCouponIssued, now, c); err != nil {
			return nil, err
		}
	}
	for _, code := range x.Vouchers {
		if err := record(tx, FeedVoucherIssued, now, Voucher{Reward: rw.ID, Code: code, Exchange: x.ID, Member: m.ID, IssuedAt: now}); err != nil {
			return nil, err
		}
	}
	res.Balance, res.Exchange = m.Points, x
	return res, nil
}

// ExchangeByID returns one exchange.
func (e *Engine) ExchangeByID(id string) (*Exchange, error) {
	if err := checkID("exchange", id, true); err != nil {
		return nil, err
	}
	x, err := loadExchange(e.db, id)
	return x, wrapStore(err)
}

// loadExchange reads an exchange, or answers not_found.
func loadExchange(r getter, id string) (*Exchange, error) {
	return getRecord[Exchange](r, exchangeKey(id), func() error {
		return Errorf(CodeNotFound, "no exchange %q; GET /v1/exchanges lists them", id)
	})
}

// ShipExchange records that a goods order was shipped.
func (e *Engine) ShipExchange(id, tracking string) (*Exchange, error) {
	return e.changeOrder(id, "shipped", checkID("tracking", tracking, false), FeedExchangeShipped, func(tx Tx, x *Exchange, now time.Time) error {
		if x.Status == ExchangeShipped {
			return &Error{Code: CodeAlreadyShipped, Message: fmt.Sprintf("this order was shipped on %s", x.ShippedAt.In(e.Zone()).Format(time.RFC3339)), Details: map[string]any{"shipped_at": x.ShippedAt}}
		}
		x.Status, x.ShippedAt, x.Tracking = ExchangeShipped, now, tracking
		return nil
	})
}

// changeOrder is the one decision that moves goods order id on: with the
// request's own field already checked (argErr, nil when it is valid), it
// loads the order, refuses one no longer open to action, lets change
// update it, then stores it and records typ on the feed.
func (e *Engine) changeOrder(id, action string, argErr error, typ string, change func(tx Tx, x *Exchange, now time.Time) error) (*Exchange, error) {
	if err := checkID("exchange", id, true); err != nil {
		return nil, err
	}
	if argErr != nil {
		return nil, argErr
	}
	var out *Exchange
	err := e.update(func(tx Tx) error {
		x, err := loadExchange(tx, id)
		if err != nil {
			return err
		}
		if err := x.open(action, e.Zone()); err != nil {
			return err
		}
		now := e.now()
		if err := change(tx, x, now); err != nil {
			return err
		}
		putJSON(tx, exchangeKey(x.ID), x)
		out = x
		return record(tx, typ, now, x)
	})
	return out, err
}

// open refuses an action on an exchange that is not a goods order still
// open, telling times in loc, the brand's time zone.
func (x *Exchange) open(action string, loc *time.Location) error {
	if x.Kind != KindGoods {
		return Errorf(CodeInvalidRequest, "exchange %s is a %s; only goods orders are %s", x.ID, x.Kind, action)
	}
	if x.Status == ExchangeCancelled {
		return &Error{Code: CodeAlreadyCancelled, Message: fmt.Sprintf("this order was cancelled on %s and its %d points refunded", x.CancelledAt.In(loc).Format(time.RFC3339), x.Refunded), Details: map[string]any{"cancelled_at": x.CancelledAt}}
	}
	return nil
}

// CancelExchange cancels a goods order, pending or shipped (and sent
// back), and refunds its points and its stock, exactly once.
func (e *Engine) CancelExchange(id, reason string) (*Exchange, error) {
	return e.changeOrder(id, "cancelled", checkID("reason", reason, true), FeedExchangeCancelled, func(tx Tx, x *Exchange, now time.Time) error {
		m, err := loadResolved(tx, x.Member, now)
		if err != nil {
			return err
		}
		en, err := m.post(tx, now, AccountPoints, x.Points, ReasonRedeemRefund, Entry{Exchange: x.ID})
		if err != nil {
			return err
		}
		putJSON(tx, memberKey(m.ID), m)
		var ctr RewardCounters
		if _, err := getJSON(tx, rewardCountersKey(x.Reward), &ctr); err != nil {
			return err
		}
		ctr.Redeemed -= x.Quantity
		putJSON(tx, rewardCountersKey(x.Reward), ctr)
		var held int64
		if _, err := getJSON(tx, rewardLimitKey(x.Reward, x.Member), &held); err != nil {
			return err
		}
		putJSON(tx, rewardLimitKey(x.Reward, x.Member), max(held-x.Quantity, 0))
		x.Status, x.CancelledAt, x.CancelReason, x.Refunded = ExchangeCancelled, now, reason, x.Points
		x.Ledger = append(x.Ledger, en.ID)
		return nil
	})
}

// ExchangePage is a page of exchanges, newest first.
type ExchangePage struct {
	Exchanges []Exchange `json:"exchanges"`
	Next      string     `json:"next,omitempty"`
}

// Exchanges lists exchanges newest first: a member's (member set), or
// every one (by id: newest first to the second) with status (empty: any),
// from the cursor before, a previous page's Next.
func (e *Engine) Exchanges(member, status, before string, limit int) (*ExchangePage, error) {
	limit = pageSize(limit)
	switch status {
	case "", ExchangeDone, ExchangePending, ExchangeShipped, ExchangeCancelled:
	default:
		return nil, Errorf(CodeInvalidRequest, "status %q: give done, pending, shipped or cancelled", status)
	}
	page := &ExchangePage{Exchanges: []Exchange{}}
	prefix := exchangePrefix
	if member != "" {
		if err := checkID("member", member, true); err != nil {
			return nil, err
		}
		canonical, err := resolve(e.db, member)
		if err != nil {
			return nil, wrapStore(err)
		}
		prefix = memberExchangePrefix(canonical)
	}
	const maxExamined = 20 * MaxPage
	examined, last := 0, ""
	var derr error
	err := e.db.ScanReverse(prefix, func(k, v []byte) bool {
		id := string(k[len(prefix):])
		if before != "" && strings.Compare(id, before) >= 0 {
			return true
		}
		examined++
		if examined > maxExamined || len(page.Exchanges) == limit {
			page.Next = last // the next page starts before the last one read
			return false
		}
		last = id
		var x *Exchange
		if member != "" {
			if x, derr = loadExchange(e.db, string(v)); derr != nil {
				return false
			}
		} else {
			x = &Exchange{}
			if derr = json.Unmarshal(v, x); derr != nil {
				return false
			}
		}
		if status == "" || x.Status == status {
			page.Exchanges = append(page.Exchanges, *x)
		}
		return true
	})
	err = firstErr(err, derr)
	return page, wrapStore(err)
}

// SameMember reports whether two identities stand for one member (each
// itself or an alias of it): a signed-in browser acts for its own member
// only.
func (e *Engine) SameMember(a, b string) (bool, error) {
	for _, id := range []string{a, b} {
		if err := checkID("member", id, true); err != nil {
			return false, err
		}
	}
	ra, err := resolve(e.db, a)
	if err != nil {
		return false, wrapStore(err)
	}
	rb, err := resolve(e.db, b)
	return ra == rb, wrapStore(err)
}
