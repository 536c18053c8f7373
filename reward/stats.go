package reward

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/yima-dev/yima/store"
)

// Stat is one line of the operators' view: redemptions and what they paid,
// for one value of a dimension on one day (UTC).
type Stat struct {
	Dimension  string `json:"dimension"`
	Value      string `json:"value"`
	Day        string `json:"day,omitempty"`
	Redeemed   int64  `json:"redeemed"`
	Points     int64  `json:"points"`
	Coupons    int64  `json:"coupons"`
	Commission int64  `json:"commission"`
	// Diverted counts redemptions outside the batch's intended region.
	Diverted int64 `json:"diverted"`
}

// Dimensions a redemption is counted under.
var Dimensions = []string{"product", "batch", "region", "guide", "campaign"}

func statKey(dim, value, day string) []byte {
	k := append(append([]byte("st/"), dim...), 0)
	return append(append(append(k, value...), 0), day...)
}

// countStats adds a redemption to its product, batch, region, guide and
// campaign lines for the day.
func countStats(tx Tx, b *store.Batch, r *Redemption) error {
	day := r.At.Format("20060102")
	region := r.Region
	if region == "" {
		region = "unknown"
	}
	values := map[string]string{
		"product": r.Product, "batch": strconv.FormatUint(uint64(r.Batch), 10),
		"region": region, "guide": r.Guide, "campaign": r.Campaign,
	}
	for _, dim := range Dimensions {
		v := values[dim]
		if v == "" {
			continue
		}
		k := statKey(dim, v, day)
		var s Stat
		if _, err := getJSON(tx, k, &s); err != nil {
			return err
		}
		s.Dimension, s.Value, s.Day = dim, v, day
		s.Redeemed++
		s.Points += r.Points
		s.Commission += r.Commission
		if r.Coupon != "" {
			s.Coupons++
		}
		if r.Diverted {
			s.Diverted++
		}
		putJSON(tx, k, s)
	}
	return nil
}

// Stats sums redemptions by one dimension over days from..to (YYYYMMDD,
// inclusive; empty for no bound). With daily, one line per value and day.
func (e *Engine) Stats(dim, from, to string, daily bool) ([]Stat, error) {
	known := false
	for _, d := range Dimensions {
		known = known || d == dim
	}
	if !known {
		return nil, Errorf(CodeInvalidRequest, "dimension %q: use one of %v", dim, Dimensions)
	}
	for _, d := range []string{from, to} {
		if _, err := time.Parse("20060102", d); d != "" && err != nil {
			return nil, Errorf(CodeInvalidRequest, "day %q: write days as YYYYMMDD (UTC)", d)
		}
	}
	prefix := append(append([]byte("st/"), dim...), 0)
	sums := map[string]*Stat{}
	var derr error
	err := e.db.Scan(prefix, nil, func(k, v []byte) bool {
		rest := k[len(prefix):]
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return true
		}
		day := string(rest[i+1:])
		if (from != "" && day < from) || (to != "" && day > to) {
			return true
		}
		var s Stat
		if derr = json.Unmarshal(v, &s); derr != nil {
			return false
		}
		key := s.Value
		if daily {
			key += "\x00" + day
		} else {
			s.Day = ""
		}
		if t, ok := sums[key]; ok {
			t.Redeemed += s.Redeemed
			t.Points += s.Points
			t.Coupons += s.Coupons
			t.Commission += s.Commission
			t.Diverted += s.Diverted
		} else {
			sums[key] = &s
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, wrapStore(fmt.Errorf("reading stats: %w", err))
	}
	out := make([]Stat, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value < out[j].Value
		}
		return out[i].Day < out[j].Day
	})
	return out, nil
}
