package reward

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	json "github.com/segmentio/encoding/json"
	"github.com/yima-dev/yima/codegen"
)

// Kinds of flag: scans the brand should review.
const (
	// FlagDiverted is a redemption scanned outside its batch's intended
	// sales region (防窜货): which goods leaked from which distributor.
	FlagDiverted = "diverted"
	// FlagManyScanners is a code that flagScanners different people have
	// scanned: a copied code, a leaked code file, a recycled cap.
	FlagManyScanners = "many_scanners"
)

// flagScanners is how many different people must scan one code for it to
// be flagged. A buyer and one more person (a second phone, a relative) is
// ordinary; a third is what copies and recycled caps look like. One person
// retrying never counts twice.
const flagScanners = 3

// Flag is one scan put up for review. Flags are written by the decision
// that causes them, one per code and kind, and never change.
type Flag struct {
	Kind    string    `json:"kind"`
	Day     string    `json:"day"`
	At      time.Time `json:"at"`
	Code    string    `json:"code"`
	Batch   uint32    `json:"batch"`
	Serial  uint32    `json:"serial"`
	Product string    `json:"product,omitempty"`
	// Member redeemed the code (diverted) or made it reach flagScanners.
	Member string `json:"member,omitempty"`
	// Region is where a diverted code was scanned, Intended where its batch
	// was meant to be sold.
	Region   string `json:"region,omitempty"`
	Intended string `json:"intended_region,omitempty"`
	// Scanners and FirstScan are the code's counts when it was flagged.
	Scanners  uint64    `json:"scanners,omitempty"`
	FirstScan time.Time `json:"first_scan,omitzero"`
	// WrongPINs and LockedUntil are a pin_guessing code's wrong PINs so
	// far and the end of the lock they caused.
	WrongPINs   int       `json:"wrong_pins,omitempty"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// flagKinds are the kinds a query may name.
var flagKinds = map[string]bool{FlagDiverted: true, FlagManyScanners: true, FlagPINGuessing: true}

// flagKey orders flags by day, then kind, then code, so that a review reads
// a range of days in order.
func flagKey(day, kind, code string) []byte {
	return fmt.Appendf(nil, "fl/%s\x00%s\x00%s", day, kind, code)
}

// putFlag records f, dated in the brand's time zone.
func (e *Engine) putFlag(tx Tx, f Flag) error {
	f.Day = f.At.In(e.Zone()).Format("20060102")
	putJSON(tx, flagKey(f.Day, f.Kind, f.Code), f)
	emit(tx, Event{Kind: EventFlagged, Flag: f.Kind})
	return record(tx, FeedFlagRaised, f.At, f)
}

// flagScannersReached records a code that this scan brought to
// flagScanners different people; product comes from its batch when known.
func (e *Engine) flagScannersReached(tx Tx, p codegen.Parsed, who string, st ScanStats) error {
	f := Flag{Kind: FlagManyScanners, At: st.Last, Code: p.String(), Batch: p.Batch, Serial: p.Serial,
		Member: who, Scanners: st.Scanners, FirstScan: st.First}
	b, found, err := readFrozen[Batch](e, tx, batchKey(p.Batch))
	if err != nil {
		return err
	}
	if found {
		f.Product = b.Product
	}
	return e.putFlag(tx, f)
}

// FlagQuery picks flags to review.
type FlagQuery struct {
	// Kind is FlagDiverted or FlagManyScanners; empty for both.
	Kind string
	// From and To bound the days, YYYYMMDD in the brand's time zone,
	// inclusive; empty for no bound.
	From, To string
	// After is the Next of a previous page; empty starts at From.
	After string
	// Limit bounds the page, 1..MaxPage (otherwise 50).
	Limit int
}

// FlagPage is one page of flags, oldest first. Next, when set, is the
// After of the next page.
type FlagPage struct {
	Flags []Flag `json:"flags"`
	Next  string `json:"next,omitempty"`
	// TimeZone is the brand's time zone, whose days Day names: a listing
	// shows At in it too, so that a day and a time never disagree.
	TimeZone string `json:"time_zone"`
}

// LatestFlags returns up to limit flags (1..MaxPage), newest first, for a
// live view: the end of the list Flags pages through.
func (e *Engine) LatestFlags(limit int) ([]Flag, error) {
	limit = pageSize(limit)
	out := []Flag{}
	var derr error
	err := e.db.ScanReverse([]byte("fl/"), func(_, v []byte) bool {
		var f Flag
		if derr = json.Unmarshal(v, &f); derr != nil {
			return false
		}
		out = append(out, f)
		return len(out) < limit
	})
	err = firstErr(err, derr)
	if err != nil {
		return nil, wrapStore(fmt.Errorf("reading flags: %w", err))
	}
	return out, nil
}

// maxFlagsExamined bounds the flags one page reads, matching or not.
const maxFlagsExamined = 4 * MaxPage

// Flags lists flagged scans for review, oldest first. A page may hold
// fewer than the limit and still have a Next: follow it.
func (e *Engine) Flags(q FlagQuery) (*FlagPage, error) {
	if q.Kind != "" && !flagKinds[q.Kind] {
		return nil, Errorf(CodeInvalidRequest, "kind %q: use %s, %s or %s, or none for all", q.Kind, FlagDiverted, FlagManyScanners, FlagPINGuessing)
	}
	for _, d := range []string{q.From, q.To} {
		if _, err := time.Parse("20060102", d); d != "" && err != nil {
			return nil, Errorf(CodeInvalidRequest, "day %q: write days as YYYYMMDD (days of the brand's time zone, %s)", d, e.Zone())
		}
	}
	limit := pageSize(q.Limit)
	prefix := []byte("fl/")
	var start []byte
	if q.From != "" {
		start = append([]byte("fl/"), q.From...)
	}
	if q.After != "" {
		parts := strings.Split(q.After, "/")
		if _, err := time.Parse("20060102", parts[0]); len(parts) != 3 || err != nil || !flagKinds[parts[1]] || checkID("after", parts[2], true) != nil {
			return nil, Errorf(CodeInvalidRequest, "after %q is not a cursor this API returned", q.After)
		}
		// The least key after the cursor's: codes never hold 0x00.
		if k := append(flagKey(parts[0], parts[1], parts[2]), 0); bytes.Compare(k, start) > 0 {
			start = k
		}
	}
	page := &FlagPage{Flags: []Flag{}, TimeZone: e.Zone().String()}
	var derr error
	examined, last := 0, ""
	err := e.db.Scan(prefix, start, func(k, v []byte) bool {
		day, rest, _ := bytes.Cut(k[len(prefix):], []byte{0})
		kind, code, _ := bytes.Cut(rest, []byte{0})
		if q.To != "" && string(day) > q.To {
			return false
		}
		// A kind filter skips the other kind's flags; a page stops after
		// maxFlagsExamined of them with a cursor where it stopped, so a
		// request's work is bounded however many flags there are.
		if examined == maxFlagsExamined {
			page.Next = last
			return false
		}
		examined++
		last = string(day) + "/" + string(kind) + "/" + string(code)
		if q.Kind != "" && string(kind) != q.Kind {
			return true
		}
		if len(page.Flags) == limit {
			last := page.Flags[limit-1]
			page.Next = last.Day + "/" + last.Kind + "/" + last.Code
			return false
		}
		var f Flag
		if derr = json.Unmarshal(v, &f); derr != nil {
			return false
		}
		page.Flags = append(page.Flags, f)
		return true
	})
	err = firstErr(err, derr)
	if err != nil {
		return nil, wrapStore(fmt.Errorf("reading flags: %w", err))
	}
	return page, nil
}
