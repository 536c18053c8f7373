package reward

import (
	"fmt"
	"math"
	"time"
)

// Purchase orders from the brand's other channels (a marketplace store,
// the mini-program shop, a till) earn points at the brand-wide rate
// (Brand.OrderPointsPerYuan) times the member's tier multiplier, exactly
// once per order id; a refund takes back what the order earned, as far as
// the balance allows, and records the shortfall when it does not.

// Codes of purchase orders.
const (
	CodeOrderExists     Code = "order_exists"
	CodeAlreadyRefunded Code = "already_refunded"
	CodeOrderRateUnset  Code = "order_rate_unset"
)

// Ledger reasons of purchase orders.
const (
	ReasonOrder       = "order"
	ReasonOrderRefund = "order_refund"
)

// MaxOrderAmount bounds an order's amount, in fen (分): 100 million yuan.
const MaxOrderAmount = 10_000_000_000

// maxChannel bounds an order's channel name.
const maxChannel = 64

// OrderRequest is POST /v1/orders.
type OrderRequest struct {
	OrderID string `json:"order_id"`
	Member  string `json:"member"`
	// Amount is what the member paid, in fen (1 yuan = 100).
	Amount  int64  `json:"amount"`
	Channel string `json:"channel"`
}

// Order is the record of a purchase order and of its refund.
type Order struct {
	ID      string    `json:"order_id"`
	Member  string    `json:"member"`
	Amount  int64     `json:"amount"`
	Channel string    `json:"channel"`
	At      time.Time `json:"at"`
	// Rate is the brand's points per yuan when the order was recorded,
	// Multiplier the member's tier multiplier then.
	Rate       float64  `json:"rate"`
	Multiplier float64  `json:"multiplier"`
	Points     int64    `json:"points"`
	Ledger     []string `json:"ledger"`
	Refund     *Refund  `json:"refund,omitempty"`
}

// Refund is what a refund took back: Taken from the balance, and the
// Shortfall the member had already spent.
type Refund struct {
	At        time.Time `json:"at"`
	Reason    string    `json:"reason,omitempty"`
	Taken     int64     `json:"taken"`
	Shortfall int64     `json:"shortfall"`
}

// OrderResult is the answer to an order or a refund.
type OrderResult struct {
	Result  string `json:"result"` // earned, already_recorded, refunded
	Order   Order  `json:"order"`
	Balance int64  `json:"balance"`
}

func orderKey(id string) []byte { return append([]byte("ord/"), id...) }

// checkOrderID validates an order id: it is one segment of
// /v1/orders/{id}/refund.
func checkOrderID(id string) error {
	return checkPathID("order_id", id, "\"order_id\" %q may not contain \"/\" or be \".\" or \"..\": it is part of /v1/orders/{order_id}/refund")
}

// orderPoints is what amount (fen) earns at rate points per yuan and
// multiplier: rounded down, as a till rounds.
func orderPoints(amount int64, rate, multiplier float64) int64 {
	hundredths := int64(math.Round(rate * 100)) // points per 100 yuan
	base := amount * hundredths / 10000
	if multiplier == 1 {
		return base
	}
	// The small epsilon keeps 3 × 1.1 from rounding down to 3.
	return int64(math.Floor(float64(base)*multiplier + 1e-9))
}

// RecordOrder earns a purchase's points, once per order id: the same order
// again answers already_recorded with what it earned; the same id with
// another member, amount or channel is refused.
func (e *Engine) RecordOrder(req OrderRequest) (*OrderResult, error) {
	if err := checkOrderID(req.OrderID); err != nil {
		return nil, err
	}
	if err := checkID("member", req.Member, true); err != nil {
		return nil, err
	}
	if err := checkID("channel", req.Channel, true); err != nil {
		return nil, err
	}
	if len(req.Channel) > maxChannel {
		return nil, Errorf(CodeInvalidRequest, "\"channel\" is longer than %d bytes", maxChannel)
	}
	if req.Amount <= 0 || req.Amount > MaxOrderAmount {
		return nil, Errorf(CodeInvalidRequest, "\"amount\" %d: give what was paid in fen (1 yuan = 100), 1 to %d", req.Amount, int64(MaxOrderAmount))
	}
	var out *OrderResult
	err := e.update(func(tx Tx) error {
		now := e.now()
		var prev Order
		found, err := getJSON(tx, orderKey(req.OrderID), &prev)
		if err != nil {
			return err
		}
		m, err := loadMember(tx, req.Member, now)
		if err != nil {
			return err
		}
		if found {
			if prev.Member != m.ID || prev.Amount != req.Amount || prev.Channel != req.Channel {
				return &Error{Code: CodeOrderExists, Message: fmt.Sprintf("order %q was recorded for member %s, amount %d, channel %s; an order earns once. Use a new order_id for a new order", req.OrderID, prev.Member, prev.Amount, prev.Channel), Details: map[string]any{"order": prev}}
			}
			out = &OrderResult{Result: "already_recorded", Order: prev, Balance: m.Points}
			return nil
		}
		var b Brand
		if _, err := getJSON(tx, brandKey, &b); err != nil {
			return err
		}
		if b.OrderPointsPerYuan <= 0 {
			return Errorf(CodeOrderRateUnset, "the brand has set no points rate for purchases; set it with yima brand set --order-points-per-yuan N (or PUT /v1/brand {\"order_points_per_yuan\":N})")
		}
		// Orders earn outside any campaign: the brand's ladder decides.
		mult, _, err := e.PointMultiplier(tx, m, nil, now)
		if err != nil {
			return err
		}
		o := Order{ID: req.OrderID, Member: m.ID, Amount: req.Amount, Channel: req.Channel, At: now,
			Rate: b.OrderPointsPerYuan, Multiplier: mult, Points: orderPoints(req.Amount, b.OrderPointsPerYuan, mult), Ledger: []string{}}
		out, err = moveOrderPoints(tx, now, m, &o, o.Points, ReasonOrder, FeedOrderEarned, "earned")
		return err
	})
	return out, err
}

// moveOrderPoints posts delta points of order o to m's ledger (nothing
// when it is zero), stores both with the order's entries listed, and
// records the event typ; the answer says result.
func moveOrderPoints(tx Tx, now time.Time, m *Member, o *Order, delta int64, reason, typ, result string) (*OrderResult, error) {
	if delta != 0 {
		en, err := m.post(tx, now, AccountPoints, delta, reason, Entry{Order: o.ID})
		if err != nil {
			return nil, err
		}
		o.Ledger = append(o.Ledger, en.ID)
		putJSON(tx, memberKey(m.ID), m)
	}
	putJSON(tx, orderKey(o.ID), o)
	if err := record(tx, typ, now, o); err != nil {
		return nil, err
	}
	return &OrderResult{Result: result, Order: *o, Balance: m.Points}, nil
}

// RefundOrder takes back what an order earned, once: as much as the
// member's balance holds, the rest recorded as the refund's shortfall.
func (e *Engine) RefundOrder(id, reason string) (*OrderResult, error) {
	if err := checkOrderID(id); err != nil {
		return nil, err
	}
	if err := checkID("reason", reason, false); err != nil {
		return nil, err
	}
	var out *OrderResult
	err := e.update(func(tx Tx) error {
		now := e.now()
		o, err := getRecord[Order](tx, orderKey(id), func() error {
			return Errorf(CodeNotFound, "no order %q; an order is known once POST /v1/orders recorded it", id)
		})
		if err != nil {
			return err
		}
		if o.Refund != nil {
			return &Error{Code: CodeAlreadyRefunded, Message: fmt.Sprintf("order %q was refunded on %s: %d points taken back, %d short", id, o.Refund.At.In(e.Zone()).Format(time.RFC3339), o.Refund.Taken, o.Refund.Shortfall), Details: map[string]any{"refund": o.Refund}}
		}
		m, err := loadResolved(tx, o.Member, now)
		if err != nil {
			return err
		}
		if m.MergedInto != "" { // its balance moved with the merge
			if m, err = loadResolved(tx, m.MergedInto, now); err != nil {
				return err
			}
		}
		taken := min(o.Points, max(m.Points, 0))
		o.Refund = &Refund{At: now, Reason: reason, Taken: taken, Shortfall: o.Points - taken}
		out, err = moveOrderPoints(tx, now, m, o, -taken, ReasonOrderRefund, FeedOrderRefunded, "refunded")
		return err
	})
	return out, err
}

// OrderByID returns a purchase order.
func (e *Engine) OrderByID(id string) (*Order, error) {
	if err := checkOrderID(id); err != nil {
		return nil, err
	}
	o, err := getRecord[Order](e.db, orderKey(id), func() error { return Errorf(CodeNotFound, "no order %q", id) })
	return o, wrapStore(err)
}
