package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Kind is a kind of request in the workload. Each kind says what it sends
// and what a correct server answers; a new kind is added here, in
// Target.Do, in worker.do and in the audit.
type Kind uint8

const (
	// Fresh scans a code nobody scanned before: a correct server redeems it
	// (200).
	Fresh Kind = iota + 1
	// Duplicate scans a code this run already saw redeemed, as another
	// member: 409 already_redeemed.
	Duplicate
	// Contested sends Config.Contenders scans of one fresh code by different
	// members at the same moment: exactly one 200, the others 409.
	Contested
	// Forged scans a code whose tag is wrong: 400 invalid_code, before any
	// storage read.
	Forged
	// Verify is a guide verifying (核销) at the counter a gift coupon that
	// an earlier scan of the run was issued: 200 the first time, 409
	// already_used when the coupon was verified before. Needs the campaign
	// workload.
	Verify
	// Spend spends a few of a member's points (POST
	// /v1/members/{m}/spend with a fresh request_id): 200, or 409
	// insufficient_points, or 404 for a member with no points yet.
	Spend
	// Health is GET /healthz: the ceiling run's request, the cheapest round
	// trip the server has.
	Health
	// Floor is a scan-shaped POST to a handler that commits one key through
	// the server's store, synced like a redemption, and answers a fixed
	// body: the least a durable answer costs, with no rule and no record.
	// Only the in-process target has it.
	Floor
	// Landing is GET /C/{code} of a genuine code, with no cookie: the
	// consumer's landing page in Chinese, as a phone that opens the code's
	// link for the first time gets it. Only yima targets have it.
	Landing
	// Preloaded scans a code the store was preloaded with (--preload):
	// redeemed long ago by someone else, so 409 already_redeemed, after
	// the store read such a code costs: its scan record and its
	// redemption, from tables on disk.
	Preloaded

	numKinds = int(Preloaded) + 1
)

var kindNames = [numKinds]string{Fresh: "fresh", Duplicate: "duplicate", Contested: "contested", Forged: "forged", Verify: "verify", Spend: "spend", Health: "healthz", Floor: "floor", Landing: "landing", Preloaded: "preloaded"}

func (k Kind) String() string {
	if int(k) < numKinds && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the kind named s.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n != "" && n == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("bench: unknown kind %q; kinds are %s", s, strings.Join(kindNames[1:], ", "))
}

func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	*k = v
	return err
}

// scans reports whether the kind is a POST /v1/scans.
func (k Kind) scans() bool { return k >= Fresh && k <= Forged || k == Preloaded }

// Share is the fraction of requests of one kind.
type Share struct {
	Kind     Kind    `json:"kind"`
	Fraction float64 `json:"fraction"`
}

// DefaultMix is the mix of a campaign run that names none: mostly fresh
// codes, 5% duplicates, 10% contested scans, 2% forgeries, 5% coupon
// verifications and 5% point spends.
var DefaultMix = []Share{{Duplicate, 0.05}, {Contested, 0.10}, {Forged, 0.02}, {Verify, 0.05}, {Spend, 0.05}}

// FixedPointsMix is the mix of a run without a campaign (Config.FixedPoints)
// that names none: scans only, 5% duplicates, 10% contested scans, 2%
// forgeries.
var FixedPointsMix = []Share{{Duplicate, 0.05}, {Contested, 0.10}, {Forged, 0.02}}

// Mix draws the kind of each operation so that, over many draws, each kind
// gets its Share of requests. A contested operation sends several requests,
// so it is drawn less often than its share of requests.
type Mix struct {
	shares     []Share // fresh filled in, zero shares dropped
	cum        []float64
	contenders int
}

// NewMix validates shares (fractions of requests, at most 1 in all, each kind
// once) and gives the rest to Fresh. contenders is the number of requests of
// one contested operation.
func NewMix(shares []Share, contenders int) (*Mix, error) {
	if contenders < 2 {
		return nil, fmt.Errorf("bench: contenders must be at least 2 (one winner, at least one loser), not %d", contenders)
	}
	var seen [numKinds]bool
	total := 0.0
	var out []Share
	for _, s := range shares {
		if s.Kind == 0 || int(s.Kind) >= numKinds {
			return nil, fmt.Errorf("bench: mix names %v, which is not a kind", s.Kind)
		}
		if seen[s.Kind] {
			return nil, fmt.Errorf("bench: mix names %v twice", s.Kind)
		}
		seen[s.Kind] = true
		if s.Fraction < 0 || math.IsNaN(s.Fraction) || s.Fraction > 1 {
			return nil, fmt.Errorf("bench: the fraction of %v must be between 0 and 1, not %g", s.Kind, s.Fraction)
		}
		total += s.Fraction
		if s.Fraction > 0 {
			out = append(out, s)
		}
	}
	if total > 1+1e-9 {
		return nil, fmt.Errorf("bench: the mix's fractions add up to %.3f; they must add up to at most 1 (fresh codes take the rest)", total)
	}
	if rest := 1 - total; rest > 1e-9 && !seen[Fresh] {
		out = append([]Share{{Fresh, rest}}, out...)
	}
	if len(out) == 0 {
		return nil, errors.New("bench: the mix sends nothing")
	}
	m := &Mix{shares: out, contenders: contenders}
	// Weight each kind by operations, not requests.
	acc := 0.0
	for _, s := range out {
		acc += s.Fraction / float64(m.size(s.Kind))
		m.cum = append(m.cum, acc)
	}
	return m, nil
}

// Shares returns the fractions of requests by kind, fresh included.
func (m *Mix) Shares() []Share { return append([]Share(nil), m.shares...) }

// Has reports whether the mix draws kind k.
func (m *Mix) Has(k Kind) bool {
	for _, s := range m.shares {
		if s.Kind == k {
			return true
		}
	}
	return false
}

// size is the number of requests one operation of kind k sends.
func (m *Mix) size(k Kind) int {
	if k == Contested {
		return m.contenders
	}
	return 1
}

// Draw returns the kind of the next operation.
func (m *Mix) Draw(r *rand.Rand) Kind {
	u := r.Float64() * m.cum[len(m.cum)-1]
	for i, c := range m.cum {
		if u < c {
			return m.shares[i].Kind
		}
	}
	return m.shares[len(m.shares)-1].Kind
}

// String describes the mix for people: "fresh 83%, duplicate 5%, ...".
func (m *Mix) String() string {
	var b strings.Builder
	for i, s := range m.shares {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%v %.4g%%", s.Kind, s.Fraction*100)
		if s.Kind == Contested {
			fmt.Fprintf(&b, " (%d contenders)", m.contenders)
		}
	}
	return b.String()
}
