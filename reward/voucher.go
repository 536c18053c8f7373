package reward

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Vouchers are codes a third party issued (a coffee shop's, a
// marketplace's) that the brand uploads for a reward of kind voucher. Each
// code is stored twice: under its number in the reward's queue, which a
// redemption reads in order (a decision reads keys, it cannot search), and
// under the code itself, which refuses a duplicate and records who got it.
// A code is handed out once: the queue's cursor only moves forward, and a
// position goes to one exchange, or one node's slice of the reward, in
// the decision that takes it (see rewardescrow.go).

// CodeVoucherDuplicate refuses an upload with a code already uploaded, or
// twice in the list.
const CodeVoucherDuplicate Code = "voucher_duplicate"

// MaxVoucherUpload bounds the codes of one upload, which is one decision.
const MaxVoucherUpload = 5000

// maxVoucherCode bounds a voucher code.
const maxVoucherCode = 128

// VoucherPool counts a reward's uploaded codes and those handed out. On
// one node Issued is also the queue's cursor. Where nodes hold runs of the
// queue (rewardescrow.go), Next is the cursor (every position up to it
// handed out, held by a slice, or in Free, the runs slices gave back), and
// Issued counts the codes handed out outside slices and by slices ended.
type VoucherPool struct {
	Uploaded int64        `json:"uploaded"`
	Issued   int64        `json:"issued"`
	Next     int64        `json:"next,omitempty"`
	Free     []voucherRun `json:"free,omitempty"`
}

// cursor is the last position of the queue taken.
func (p *VoucherPool) cursor() int64 {
	if p.Next > 0 {
		return p.Next
	}
	return p.Issued
}

// left counts the codes neither handed out nor held by a slice.
func (p *VoucherPool) left() int64 { return p.Uploaded - p.cursor() + runsLen(p.Free) }

// take takes n positions (left holds them): the runs given back first,
// then the next of the queue. A grant to a slice starts the cursor Next;
// a hand-out outside slices before any grant moves Issued, the caller's.
func (p *VoucherPool) take(n int64, grant bool) []voucherRun {
	k := min(n, runsLen(p.Free))
	var runs []voucherRun
	runs, p.Free = splitRuns(p.Free, k)
	if n -= k; n > 0 {
		from := p.cursor() + 1
		runs = append(runs, voucherRun{from, from + n - 1})
		if grant || p.Next > 0 {
			p.Next = from + n - 1
		}
	}
	return runs
}

// Voucher is one uploaded code and, once handed out, to whom.
type Voucher struct {
	Reward   string    `json:"reward"`
	Code     string    `json:"code"`
	Seq      int64     `json:"seq"`
	Uploaded time.Time `json:"uploaded_at"`
	// Set when handed out.
	Exchange string    `json:"exchange,omitempty"`
	Member   string    `json:"member,omitempty"`
	IssuedAt time.Time `json:"issued_at,omitzero"`
}

// VoucherUpload is the answer to an upload.
type VoucherUpload struct {
	Reward   string `json:"reward"`
	Added    int    `json:"added"`
	Uploaded int64  `json:"uploaded"`
	Left     int64  `json:"left"`
}

func voucherPoolKey(reward string) []byte { return append([]byte("vcp/"), reward...) }
func voucherQueueKey(reward string, seq int64) []byte {
	k := append(append([]byte("vcq/"), reward...), 0)
	return binary.BigEndian.AppendUint64(k, uint64(seq))
}
func voucherKey(reward, code string) []byte {
	return append(append(append([]byte("vch/"), reward...), 0), code...)
}

// AddVouchers uploads codes for reward id, a reward of kind voucher. The
// whole list is refused, and nothing stored, if a code is malformed,
// appears twice in it, or was uploaded before.
func (e *Engine) AddVouchers(id string, codes []string) (*VoucherUpload, error) {
	if err := checkID("id", id, true); err != nil {
		return nil, err
	}
	if len(codes) == 0 || len(codes) > MaxVoucherUpload {
		return nil, Errorf(CodeInvalidRequest, "give 1 to %d voucher codes in \"codes\" (%d given); upload a longer list in parts", MaxVoucherUpload, len(codes))
	}
	seen := make(map[string]int, len(codes))
	for i, c := range codes {
		if c == "" || len(c) > maxVoucherCode || checkID("code", c, false) != nil {
			return nil, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("voucher code %q (line %d): 1 to %d bytes of text without control characters; nothing was stored", c, i+1, maxVoucherCode), Details: map[string]any{"index": i}}
		}
		if j, dup := seen[c]; dup {
			return nil, &Error{Code: CodeVoucherDuplicate, Message: fmt.Sprintf("voucher code %q appears twice in the list (lines %d and %d); each code is handed out once, so remove the copy. Nothing was stored", c, j+1, i+1), Details: map[string]any{"code": c}}
		}
		seen[c] = i
	}
	var out *VoucherUpload
	err := e.update(func(tx Tx) error {
		now := e.now()
		var rw Reward
		found, err := getJSON(tx, rewardKey(id), &rw)
		if err != nil {
			return err
		}
		if !found {
			return Errorf(CodeNotFound, "no reward %q; apply it (kind voucher) before uploading its codes", id)
		}
		if rw.Kind != KindVoucher {
			return Errorf(CodeInvalidRequest, "reward %q is a %s; codes are uploaded for rewards of kind voucher", id, rw.Kind)
		}
		var p VoucherPool
		if _, err := getJSON(tx, voucherPoolKey(id), &p); err != nil {
			return err
		}
		// Codes handed out in all: the list's and its slices'.
		_, total, err := rewardTotals(tx, id)
		if err != nil {
			return err
		}
		for _, c := range codes {
			_, dup, err := tx.Get(voucherKey(id, c))
			if err != nil {
				return err
			}
			if dup {
				return &Error{Code: CodeVoucherDuplicate, Message: fmt.Sprintf("voucher code %q was uploaded before; remove it from the list. Nothing was stored", c), Details: map[string]any{"code": c}}
			}
		}
		for _, c := range codes {
			p.Uploaded++
			putJSON(tx, voucherKey(id, c), Voucher{Reward: id, Code: c, Seq: p.Uploaded, Uploaded: now})
			putJSON(tx, voucherQueueKey(id, p.Uploaded), c)
		}
		putJSON(tx, voucherPoolKey(id), p)
		out = &VoucherUpload{Reward: id, Added: len(codes), Uploaded: p.Uploaded, Left: p.Uploaded - total.Issued}
		return record(tx, FeedVouchersUploaded, now, out)
	})
	return out, err
}

// takeVouchers hands out the next n codes of reward id to member, for
// exchange x, in the decision tx runs; ok is false when fewer than n are
// left.
func takeVouchers(tx Tx, id string, n int64, member, x string, now time.Time) (codes []string, ok bool, err error) {
	var p VoucherPool
	if _, err := getJSON(tx, voucherPoolKey(id), &p); err != nil {
		return nil, false, err
	}
	if p.left() < n {
		return nil, false, nil
	}
	runs := p.take(n, false)
	p.Issued += n
	if codes, err = handOut(tx, id, runs, member, x, now); err != nil {
		return nil, false, err
	}
	putJSON(tx, voucherPoolKey(id), p)
	return codes, true, nil
}

// handOut hands the codes at the positions runs hold to member, for
// exchange x.
func handOut(tx Tx, id string, runs []voucherRun, member, x string, now time.Time) (codes []string, err error) {
	for _, r := range runs {
		for pos := r.From; pos <= r.To; pos++ {
			var c string
			found, err := getJSON(tx, voucherQueueKey(id, pos), &c)
			if err != nil {
				return nil, err
			}
			var v Voucher
			if found {
				found, err = getJSON(tx, voucherKey(id, c), &v)
			}
			if err != nil {
				return nil, err
			}
			if !found || v.Exchange != "" {
				// The queue and the codes disagree: refuse rather than
				// hand a code out twice. The audit names the record.
				return nil, Errorf(CodeInternal, "voucher %d of reward %q is missing or already handed out", pos, id)
			}
			v.Exchange, v.Member, v.IssuedAt = x, member, now
			putJSON(tx, voucherKey(id, c), v)
			codes = append(codes, c)
		}
	}
	return codes, nil
}
