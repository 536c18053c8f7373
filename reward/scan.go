package reward

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/store"
)

// ScanRequest is a consumer's claim of a code.
type ScanRequest struct {
	Code      string `json:"code"`
	Member    string `json:"member"`
	Guide     string `json:"guide,omitempty"`
	Region    string `json:"region,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// ScanResult is the answer to a redeemed scan.
type ScanResult struct {
	Result     string    `json:"result"`
	Code       string    `json:"code"`
	Member     string    `json:"member"`
	Product    string    `json:"product"`
	Batch      uint32    `json:"batch"`
	Serial     uint32    `json:"serial"`
	Points     int64     `json:"points"`
	Balance    int64     `json:"balance"`
	Coupon     any       `json:"coupon"`
	RedeemedAt time.Time `json:"redeemed_at"`
	RequestID  string    `json:"request_id,omitempty"`
}

// Scan verifies and redeems a code for a member. It returns the JSON answer:
// a retry with the same request_id gets the same bytes back. Every scan of
// a genuine code is counted, whatever its outcome.
func (e *Engine) Scan(req ScanRequest) (json.RawMessage, error) {
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"member", req.Member, true}, {"guide", req.Guide, false}, {"region", req.Region, false}, {"request_id", req.RequestID, false}} {
		if err := checkID(f.name, f.v, f.required); err != nil {
			return nil, err
		}
	}
	if req.Code == "" {
		return nil, Errorf(CodeInvalidRequest, `"code" is required`)
	}
	p, err := e.verify(req.Code)
	if err != nil {
		return nil, err
	}
	code := p.String()
	var out json.RawMessage
	var refusal error
	err = e.update(func(tx Tx) error {
		out, refusal = e.decideScan(tx, p, code, req)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, refusal
}

// requestHash identifies what a request asks for, in canonical form, so a
// retry spelled differently (lower-case code) is still the same request.
func requestHash(code string, req ScanRequest) []byte {
	h := sha256.New()
	for _, s := range []string{"scan", code, req.Member, req.Guide, req.Region} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// decideScan is the redemption rule. It returns the answer or a refusal;
// its writes (scan counts always, the payout only when redeemed) commit
// either way.
func (e *Engine) decideScan(tx Tx, p codegen.Parsed, code string, req ScanRequest) (json.RawMessage, error) {
	now := e.now()
	var hash []byte
	if req.RequestID != "" {
		hash = requestHash(code, req)
		var prev Stored
		found, err := getJSON(tx, requestKey(req.RequestID), &prev)
		if err != nil {
			return nil, err
		}
		if found {
			if !bytes.Equal(prev.Hash, hash) {
				return nil, Errorf(CodeIdempotencyReused, "request_id %q was already used for a different request; use a new request_id for a new scan", req.RequestID)
			}
			return prev.Result, nil
		}
	}
	if err := countScan(tx, code, req.Member, now); err != nil {
		return nil, err
	}
	batch, err := store.GetBatch(tx, p.Batch)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(CodeUnknownBatch, "the code is genuine but its batch %d is not known here; ask the brand to check its batch records", p.Batch)
	}
	if err != nil {
		return nil, err
	}
	if p.Serial > batch.Count {
		return nil, Errorf(CodeUnknownBatch, "serial %d is beyond batch %d's %d codes", p.Serial, p.Batch, batch.Count)
	}
	switch batch.State(p.Serial) {
	case store.Inactive:
		return nil, Errorf(CodeBatchInactive, "this code has not been activated yet; it becomes redeemable when its shipment is released — try again later")
	case store.Revoked:
		return nil, Errorf(CodeBatchRevoked, "this code was revoked by the brand and pays no reward")
	}
	var prev Redemption
	if found, err := getJSON(tx, redemptionKey(code), &prev); err != nil {
		return nil, err
	} else if found {
		return nil, &Error{
			Code:    CodeAlreadyRedeemed,
			Message: fmt.Sprintf("this code was already redeemed on %s", prev.At.Format(time.RFC3339)),
			Details: map[string]any{"redeemed_at": prev.At},
		}
	}

	m, err := loadMember(tx, req.Member, now)
	if err != nil {
		return nil, err
	}
	points := batch.Points
	red := Redemption{
		Code: code, Member: req.Member, Guide: req.Guide, Region: req.Region,
		Batch: p.Batch, Serial: p.Serial, Product: batch.Product, At: now,
		Points: points, RequestID: req.RequestID,
	}
	m.Redemptions++
	if points != 0 {
		entry := m.post(tx, now, "points", points, "scan", code)
		red.Ledger = append(red.Ledger, entry.ID)
	}
	putJSON(tx, memberKey(m.ID), m)
	putJSON(tx, redemptionKey(code), red)
	res := ScanResult{
		Result: "redeemed", Code: code, Member: req.Member, Product: batch.Product,
		Batch: p.Batch, Serial: p.Serial, Points: points, Balance: m.Points,
		RedeemedAt: now, RequestID: req.RequestID,
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	if hash != nil {
		putJSON(tx, requestKey(req.RequestID), Stored{Hash: hash, Result: out})
	}
	return out, nil
}

// countScan adds one to a code's scan count, and to its distinct scanners
// the first time who scans it.
func countScan(tx Tx, code, who string, now time.Time) error {
	var st ScanStats
	if _, err := getJSON(tx, scanStatsKey(code), &st); err != nil {
		return err
	}
	if st.Scans == 0 {
		st.First = now
	}
	st.Scans++
	st.Last = now
	if who != "" {
		k := scannerKey(code, who)
		if _, err := tx.Get(k); errors.Is(err, store.ErrNotFound) {
			st.Scanners++
			tx.Put(k, nil)
		} else if err != nil {
			return err
		}
	}
	putJSON(tx, scanStatsKey(code), st)
	return nil
}

// loadMember returns the member's record, or a fresh one.
func loadMember(tx store.Reader, id string, now time.Time) (*Member, error) {
	m := &Member{ID: id}
	found, err := getJSON(tx, memberKey(id), m)
	if err != nil {
		return nil, err
	}
	if !found {
		m.Created = now
	}
	return m, nil
}

// post appends a ledger entry and moves the member's balance with it. The
// caller writes the member record in the same decision.
func (m *Member) post(tx Tx, now time.Time, account string, delta int64, reason, code string) Entry {
	var bal *int64
	switch account {
	case "points":
		bal = &m.Points
	case "growth":
		bal = &m.Growth
	default:
		panic("reward: unknown account " + account)
	}
	*bal += delta
	m.Seq++
	e := Entry{
		ID: ksuid.New().String(), Seq: m.Seq, At: now, Member: m.ID,
		Account: account, Delta: delta, Balance: *bal, Reason: reason, Code: code,
	}
	putJSON(tx, ledgerKey(m.ID, m.Seq), e)
	return e
}

// CountVisit counts a landing-page view of a genuine code as a scan by
// visitor (an anonymous browser id). It pays nothing.
func (e *Engine) CountVisit(code, visitor string) error {
	p, err := e.verify(code)
	if err != nil {
		return err
	}
	if err := checkID("visitor", visitor, false); err != nil {
		return err
	}
	return e.update(func(tx Tx) error {
		return countScan(tx, p.String(), "v:"+visitor, e.now())
	})
}
