package reward

import (
	"fmt"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// ClaimPIN is a batch's claim mode where a code's reward needs the inner
// PIN printed inside the package (暗码): the outer code (明码) on the shelf
// proves the product genuine, and only the buyer, who opened the package,
// can claim. Batches without it claim with the code alone.
const ClaimPIN = "pin"

// Codes of PIN claims.
const (
	// CodePINRequired refuses a claim of a PIN batch's code without a PIN.
	CodePINRequired Code = "pin_required"
	// CodeWrongPIN refuses a claim whose PIN is not the code's; it counts
	// towards the lock.
	CodeWrongPIN Code = "wrong_pin"
	// CodePINLocked refuses every claim of a code while it is locked after
	// too many wrong PINs, the right PIN included, until the lock ends.
	CodePINLocked Code = "pin_locked"
)

// The lock after wrong PINs (docs/code-format.md, "Inner PINs", says why
// these numbers make an online guess hopeless). A code takes
// PINTriesBeforeLock wrong PINs, then locks for PINFirstLock; each further
// lock of the same code lasts twice the one before, up to PINMaxLock. A
// lock only ever delays: it ends by itself, pays no one, and leaves the
// code unredeemed for the buyer's right PIN.
const (
	PINTriesBeforeLock = 5
	PINFirstLock       = 15 * time.Minute
	PINMaxLock         = 24 * time.Hour
)

// FlagPINGuessing is a code that locked after wrong PINs: someone holds the
// outer code and is guessing the inner one.
const FlagPINGuessing = "pin_guessing"

// pinState is a code's wrong-PIN count, kept only once a wrong PIN came.
type pinState struct {
	// Wrong counts wrong PINs since the last lock (or ever).
	Wrong int `json:"wrong"`
	// Total counts every wrong PIN, for the flag.
	Total int `json:"total"`
	// Locks counts the locks so far; Until is when the last one ends.
	Locks int       `json:"locks"`
	Until time.Time `json:"until,omitzero"`
}

func pinKey(code string) []byte { return append([]byte("pin/"), code...) }

// lockFor is how long the n-th lock lasts: PINFirstLock doubled n-1 times,
// at most PINMaxLock.
func lockFor(n int) time.Duration {
	d := PINFirstLock
	for i := 1; i < n && d < PINMaxLock; i++ {
		d *= 2
	}
	return min(d, PINMaxLock)
}

// checkPIN decides the PIN of a claim of a PIN batch's code, inside the
// scan's decision so that concurrent guesses count one by one. A refusal's
// writes (the count, the lock, the flag) commit with it; the right PIN
// clears the count.
func (e *Engine) checkPIN(tx Tx, p codegen.Parsed, b *Batch, req ScanRequest, who string, now time.Time) error {
	code := p.String()
	var st pinState
	found, err := getJSON(tx, pinKey(code), &st)
	if err != nil {
		return err
	}
	if now.Before(st.Until) {
		wait := st.Until.Sub(now).Round(time.Minute)
		return &Error{Code: CodePINLocked, Message: fmt.Sprintf("this code is locked after %d wrong PINs; it was not used, and the right PIN claims it from %s (in about %s)", PINTriesBeforeLock, st.Until.In(e.Zone()).Format(time.RFC3339), wait),
			Details: map[string]any{"locked_until": st.Until, "retry_after_seconds": int(st.Until.Sub(now).Seconds()) + 1}}
	}
	if req.PIN == "" {
		return Errorf(CodePINRequired, "this code's reward is claimed with the %d-digit PIN printed inside the package; send it as \"pin\"", b.PINDigits)
	}
	ok, err := e.Keys().CheckPIN(&p, int(b.PINDigits), req.PIN)
	if err != nil {
		return fmt.Errorf("reward: checking the PIN of batch %d: %w", b.ID, err)
	}
	if ok {
		if found {
			tx.Delete(pinKey(code))
		}
		return nil
	}
	st.Wrong++
	st.Total++
	left := PINTriesBeforeLock - st.Wrong
	details := map[string]any{"tries_left": left}
	if left <= 0 {
		st.Locks++
		st.Wrong = 0
		st.Until = now.Add(lockFor(st.Locks))
		details = map[string]any{"tries_left": 0, "locked_until": st.Until}
		e.putFlag(tx, Flag{Kind: FlagPINGuessing, At: now, Code: code, Batch: p.Batch, Serial: p.Serial, Product: b.Product,
			Member: who, WrongPINs: st.Total, LockedUntil: st.Until})
	}
	putJSON(tx, pinKey(code), st)
	msg := fmt.Sprintf("that is not this code's PIN; %d tries left before the code locks for a while", left)
	if left <= 0 {
		msg = fmt.Sprintf("that is not this code's PIN; after %d wrong PINs the code is locked until %s. It was not used: the right PIN claims it then", PINTriesBeforeLock, st.Until.In(e.Zone()).Format(time.RFC3339))
	}
	return &Error{Code: CodeWrongPIN, Message: msg, Details: details}
}
