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
// A code is handed out once: the queue's cursor (VoucherPool.Issued) only
// moves forward, in the decision that takes the points.

// CodeVoucherDuplicate refuses an upload with a code already uploaded, or
// twice in the list.
const CodeVoucherDuplicate Code = "voucher_duplicate"

// MaxVoucherUpload bounds the codes of one upload, which is one decision.
const MaxVoucherUpload = 5000

// maxVoucherCode bounds a voucher code.
const maxVoucherCode = 128

// VoucherPool counts a reward's uploaded codes and those handed out.
type VoucherPool struct {
	Uploaded int64 `json:"uploaded"`
	Issued   int64 `json:"issued"`
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
		if err := record(tx, FeedVouchersUploaded, now, VoucherUpload{Reward: id, Added: len(codes), Uploaded: p.Uploaded, Left: p.Uploaded - p.Issued}); err != nil {
			return err
		}
		out = &VoucherUpload{Reward: id, Added: len(codes), Uploaded: p.Uploaded, Left: p.Uploaded - p.Issued}
		return nil
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
	if p.Uploaded-p.Issued < n {
		return nil, false, nil
	}
	for range n {
		p.Issued++
		var c string
		found, err := getJSON(tx, voucherQueueKey(id, p.Issued), &c)
		if err != nil {
			return nil, false, err
		}
		var v Voucher
		if found {
			found, err = getJSON(tx, voucherKey(id, c), &v)
		}
		if err != nil {
			return nil, false, err
		}
		if !found || v.Exchange != "" {
			// The queue and the codes disagree: refuse rather than hand
			// a code out twice. The audit names the record.
			return nil, false, Errorf(CodeInternal, "voucher %d of reward %q is missing or already handed out", p.Issued, id)
		}
		v.Exchange, v.Member, v.IssuedAt = x, member, now
		putJSON(tx, voucherKey(id, c), v)
		codes = append(codes, c)
	}
	putJSON(tx, voucherPoolKey(id), p)
	return codes, true, nil
}
