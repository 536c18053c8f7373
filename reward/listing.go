package reward

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/yima-dev/yima/store"
)

// Pages of the brand's listings: batches, tokens and campaigns. Each page
// reads at most limit+1 records from where the cursor points, or
// readBudget records when a caller may see only some of them (a factory
// among the brand's batches), so a page costs the same whatever the
// listing holds and whatever cursor a caller makes up.

// readBudget bounds the records one page reads, taken or skipped. A page
// that runs out of it before it is full ends early, with the cursor of the
// last record read, so the next page goes on from there.
const readBudget = 2 * MaxPage

// pageSize is limit within 1..MaxPage, DefaultPage otherwise.
func pageSize(limit int) int {
	if limit <= 0 || limit > MaxPage {
		return DefaultPage
	}
	return limit
}

// idPage pages through the keys prefix+id in id order after the id after
// (empty: from the first), handing each id to take, which says whether
// the page shows it; it returns the cursor of the next page.
func idPage(r store.Reader, prefix []byte, after string, limit int, take func(id string) (bool, error)) (string, error) {
	start := prefix
	if after != "" {
		// The least key after the id's: ids never hold 0x00.
		start = append(append(slices.Clip(prefix), after...), 0)
	}
	return scanPage(r, prefix, start, pageSize(limit), func(k, _ []byte) (string, bool, error) {
		id := string(k[len(prefix):])
		ok, err := take(id)
		return id, ok, err
	})
}

// scanPage calls take on up to limit records of prefix from start, reading
// at most readBudget records, and returns the cursor of the next page: the
// cursor take gave the last record read, when one more record follows.
// take returns false to skip a record (it does not count toward limit, but
// it was read), and gives every record's cursor, skipped or not.
func scanPage(r store.Reader, prefix, start []byte, limit int, take func(k, v []byte) (cursor string, ok bool, err error)) (string, error) {
	n, read, last, next := 0, 0, "", ""
	var terr error
	err := r.Scan(prefix, start, func(k, v []byte) bool {
		if n == limit || read == readBudget {
			next = last
			return false
		}
		read++
		c, ok, err := take(k, v)
		if err != nil {
			terr = err
			return false
		}
		last = c
		if ok {
			n++
		}
		return true
	})
	err = firstErr(err, terr)
	return next, wrapStore(err)
}

// BatchPage returns up to limit of the batches o may see, in id order after
// the batch named after (empty: from the first), and the cursor of the next
// page.
func (e *Engine) BatchPage(after string, limit int, o Owner) ([]*Batch, string, error) {
	start := batchKey(1)
	if after != "" {
		id, err := strconv.ParseUint(after, 10, 32)
		if err != nil {
			return nil, "", Errorf(CodeInvalidRequest, "after %q is not a batch id; give the \"next\" of the previous page", after)
		}
		start = batchKey(uint32(id) + 1)
		if id == 1<<32-1 {
			return []*Batch{}, "", nil
		}
	}
	out := []*Batch{}
	next, err := scanPage(e.db, batchPrefix, start, pageSize(limit), func(_, v []byte) (string, bool, error) {
		var b Batch
		if err := json.Unmarshal(v, &b); err != nil {
			return "", false, err
		}
		cursor := strconv.FormatUint(uint64(b.ID), 10)
		if !o.IsBrand() && !o.Owns(&b) {
			return cursor, false, nil
		}
		out = append(out, &b)
		return cursor, true, nil
	})
	return out, next, err
}

// TokenPage returns up to limit tokens in id order after the token id
// after (empty: from the first), and the cursor of the next page.
func (e *Engine) TokenPage(after string, limit int) ([]Token, string, error) {
	start := tokenPrefix
	if after != "" {
		raw, err := hex.DecodeString(after)
		if err != nil || len(raw) != tokenIDBytes {
			return nil, "", Errorf(CodeInvalidRequest, "after %q is not a token id (16 hex digits); give the \"next\" of the previous page", after)
		}
		start = append(append([]byte(nil), tokenPrefix...), raw...)
	}
	out := []Token{}
	next, err := scanPage(e.db, tokenPrefix, start, pageSize(limit), func(k, v []byte) (string, bool, error) {
		t, err := decodeToken(k, v)
		if err != nil {
			return "", false, err
		}
		if t.ID == after {
			return t.ID, false, nil
		}
		out = append(out, *t)
		return t.ID, true, nil
	})
	return out, next, err
}

// CampaignPage returns up to limit campaigns in id order after the
// campaign id after (empty: from the first), and the cursor of the next
// page.
func (e *Engine) CampaignPage(after string, limit int) ([]*CampaignView, string, error) {
	if err := checkID("campaign", after, false); err != nil {
		return nil, "", err
	}
	var ids []string
	next, err := idPage(e.db, campaignPrefix, after, limit, func(id string) (bool, error) {
		ids = append(ids, id)
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]*CampaignView, 0, len(ids))
	for _, id := range ids {
		v, err := e.Campaign(id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}
