package reward

import "hash/maphash"

// The audit reads the store in key order and keeps only what stays small
// as the store grows. Its checks that join records kept in different
// orders (a redemption, keyed by code, and its ledger entries, keyed by
// member; a member and the redemptions that count to it; a coupon and the
// guide entries that paid for verifying it) cannot then hold one side
// while reading the other. They compare the two sides instead: each side
// adds a hash of every fact it asserts (redemption R lists entry E of
// member M) to a sum, the other side subtracts it, and the sums are kept
// per bucket of the join's key. A clean store leaves every bucket at zero;
// a bucket that is not holds a fact only one side asserts, and the audit
// reads that bucket's records again, whole, and runs the same checks on
// them as on a store held in memory (see auditWalk.localize). So the
// findings are the same and what is held grows with the damage, not with
// the store. Two different sets of facts leave equal sums only by a hash
// collision of 64 bits, about one chance in 10^19 a damaged bucket.

// joinBuckets is how many buckets a join's sums are kept in (512 KiB): a
// damaged record costs a second reading of 1/joinBuckets of the store.
const joinBuckets = 1 << 16

// joinSums are the sums of one join.
type joinSums struct {
	seed maphash.Seed
	sum  []uint64
}

func newJoinSums(seed maphash.Seed) *joinSums {
	return &joinSums{seed: seed, sum: make([]uint64, joinBuckets)}
}

func (j *joinSums) bucket(key string) int { return int(maphash.String(j.seed, key) % joinBuckets) }

// add adds times the fact (key, parts...) to key's bucket: 1 for a fact
// one side asserts, -1 for the other side's, an amount for a sum both
// sides must agree on.
func (j *joinSums) add(times int64, key string, parts ...string) {
	var h maphash.Hash
	h.SetSeed(j.seed)
	h.WriteString(key)
	for _, p := range parts {
		h.WriteByte(0)
		h.WriteString(p)
	}
	// Odd, so that a multiple is zero only for an amount that is.
	j.sum[j.bucket(key)] += (h.Sum64() | 1) * uint64(times)
}

// dirty returns the buckets whose facts did not cancel, nil for none.
func (j *joinSums) dirty() map[int]bool {
	var d map[int]bool
	for b, s := range j.sum {
		if s != 0 {
			if d == nil {
				d = map[int]bool{}
			}
			d[b] = true
		}
	}
	return d
}

// in reports whether key's bucket is in d.
func (j *joinSums) in(d map[int]bool, key string) bool { return d != nil && d[j.bucket(key)] }

// idFilter finds ledger entry ids that may have been seen before, for the
// check that no id is written twice: a Bloom filter of about 10 bits an
// id (7 probes: one id in 120 seen for the first time is taken for a
// repeat, and read again to be sure). It is sized for the entries
// expected (expect) and, past them, grows by filters of twice the size;
// an id is tested against each, so a filter too small at first would
// raise the share of ids read again.
type idFilter struct {
	seed    maphash.Seed
	first   int
	filters []bloom
}

// expect sizes the filter for n ids.
func (f *idFilter) expect(n int) { f.first = max(n, bloomFirst) }

type bloom struct {
	bits     []uint64
	n, limit int
}

const (
	bloomProbes  = 7
	bloomBitsPer = 10
	bloomFirst   = 1 << 14
)

// seen adds id and reports whether it may have been added before.
func (f *idFilter) seen(id string) bool {
	h := maphash.String(f.seed, id)
	h1, h2 := h, h>>32|1
	maybe := false
	for i := range f.filters {
		if f.filters[i].has(h1, h2) {
			maybe = true
			break
		}
	}
	if n := len(f.filters); n == 0 || f.filters[n-1].n == f.filters[n-1].limit {
		limit := max(f.first, bloomFirst)
		if n > 0 {
			limit = 2 * f.filters[n-1].limit
		}
		f.filters = append(f.filters, bloom{bits: make([]uint64, limit*bloomBitsPer/64), limit: limit})
	}
	f.filters[len(f.filters)-1].put(h1, h2)
	return maybe
}

func (b *bloom) has(h1, h2 uint64) bool {
	m := uint64(len(b.bits) * 64)
	for i := range uint64(bloomProbes) {
		if p := (h1 + i*h2) % m; b.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

func (b *bloom) put(h1, h2 uint64) {
	m := uint64(len(b.bits) * 64)
	for i := range uint64(bloomProbes) {
		p := (h1 + i*h2) % m
		b.bits[p/64] |= 1 << (p % 64)
	}
	b.n++
}
