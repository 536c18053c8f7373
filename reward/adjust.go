package reward

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/ksuid"
)

// Adjustments are the brand's grants and corrections of a member's points
// and growth: each with a reason, kept as a record the audit matches to
// its ledger entries, and never taking a balance below zero.

// CodeInsufficientGrowth refuses an adjustment that would take growth
// below zero.
const CodeInsufficientGrowth Code = "insufficient_growth"

// MaxAdjust bounds one adjustment, either way.
const MaxAdjust = 1_000_000_000

// ReasonAdjust starts the ledger reason of an adjustment: "adjust: " and
// the operator's reason.
const ReasonAdjust = "adjust"

// AdjustRequest is POST /v1/members/{m}/adjust.
type AdjustRequest struct {
	Points    int64  `json:"points"`
	Growth    int64  `json:"growth"`
	Reason    string `json:"reason"`
	RequestID string `json:"request_id"`
	Scope     string `json:"-"`
}

// Adjustment is the record of one adjustment.
type Adjustment struct {
	ID        string    `json:"id"`
	Member    string    `json:"member"`
	Points    int64     `json:"points"`
	Growth    int64     `json:"growth"`
	Reason    string    `json:"reason"`
	RequestID string    `json:"request_id"`
	At        time.Time `json:"at"`
	Ledger    []string  `json:"ledger"`
	// Balances after it.
	PointsBalance int64 `json:"points_balance"`
	GrowthBalance int64 `json:"growth_balance"`
}

func adjustmentKey(id string) []byte { return append([]byte("adj/"), id...) }

// Adjust grants (positive) or takes back (negative) points and growth,
// exactly once per request_id. A change that would take either balance
// below zero is refused whole.
func (e *Engine) Adjust(member string, req AdjustRequest) (json.RawMessage, error) {
	if err := checkIDs(true, [][2]string{{"member", member}, {"reason", req.Reason}, {"request_id", req.RequestID}}); err != nil {
		return nil, err
	}
	switch {
	case req.Points == 0 && req.Growth == 0:
		return nil, Errorf(CodeInvalidRequest, "give \"points\" or \"growth\" (or both): a positive number grants, a negative one takes back")
	case req.Points < -MaxAdjust || req.Points > MaxAdjust || req.Growth < -MaxAdjust || req.Growth > MaxAdjust:
		return nil, Errorf(CodeInvalidRequest, "an adjustment moves at most %d points and %d growth either way", MaxAdjust, MaxAdjust)
	}
	hash := hashOf("adjust", member, fmt.Sprint(req.Points), fmt.Sprint(req.Growth), req.Reason)
	return e.updateOnce(req.Scope, req.RequestID, hash, func(tx Tx, now time.Time) (json.RawMessage, error) {
		m, err := loadMember(tx, member, now)
		if err != nil {
			return nil, err
		}
		if m.MergedInto != "" {
			return nil, Errorf(CodeInvalidRequest, "member %q was merged into %q; adjust that member", m.ID, m.MergedInto)
		}
		if m.Points+req.Points < 0 {
			return nil, &Error{Code: CodeInsufficientPoints, Message: fmt.Sprintf("the member has %d points, %d would take the balance below zero; nothing was changed", m.Points, -req.Points), Details: map[string]any{"balance": m.Points}}
		}
		if m.Growth+req.Growth < 0 {
			return nil, &Error{Code: CodeInsufficientGrowth, Message: fmt.Sprintf("the member has %d growth, %d would take it below zero; nothing was changed", m.Growth, -req.Growth), Details: map[string]any{"growth": m.Growth}}
		}
		a := Adjustment{ID: ksuid.New().String(), Member: m.ID, Points: req.Points, Growth: req.Growth, Reason: req.Reason, RequestID: req.RequestID, At: now}
		for _, p := range []struct {
			account string
			delta   int64
		}{{AccountPoints, req.Points}, {AccountGrowth, req.Growth}} {
			if p.delta == 0 {
				continue
			}
			en, err := m.post(tx, now, p.account, p.delta, ReasonAdjust+": "+req.Reason, Entry{Request: req.RequestID, Adjustment: a.ID})
			if err != nil {
				return nil, err
			}
			a.Ledger = append(a.Ledger, en.ID)
		}
		a.PointsBalance, a.GrowthBalance = m.Points, m.Growth
		putJSON(tx, memberKey(m.ID), m)
		putJSON(tx, adjustmentKey(a.ID), a)
		return json.Marshal(struct {
			Result string `json:"result"`
			Adjustment
		}{"adjusted", a})
	})
}
