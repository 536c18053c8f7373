package bench_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yima-dev/yima/bench"
)

func TestMixProportions(t *testing.T) {
	const contenders = 4
	m, err := bench.NewMix(bench.DefaultMix, contenders)
	if err != nil {
		t.Fatal(err)
	}
	want := map[bench.Kind]float64{}
	for _, s := range m.Shares() {
		want[s.Kind] = s.Fraction
	}
	if math.Abs(want[bench.Fresh]-0.73) > 1e-9 {
		t.Fatalf("fresh gets %g of requests, want the rest of the default mix, 0.73", want[bench.Fresh])
	}
	if !m.Has(bench.Verify) || !m.Has(bench.Spend) || m.Has(bench.Health) {
		t.Fatalf("the default mix is %v", m)
	}
	fixed, err := bench.NewMix(bench.FixedPointsMix, contenders)
	if err != nil || fixed.Has(bench.Verify) || fixed.Has(bench.Spend) || math.Abs(fixed.Shares()[0].Fraction-0.83) > 1e-9 {
		t.Fatalf("the fixed-points mix is %v (%v)", fixed, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	requests := map[bench.Kind]float64{}
	total := 0.0
	for range 1_000_000 {
		k := m.Draw(r)
		n := 1.0
		if k == bench.Contested {
			n = contenders
		}
		requests[k] += n
		total += n
	}
	for k, f := range want {
		got := requests[k] / total
		if math.Abs(got-f) > 0.003 {
			t.Errorf("%v: %.4f of requests, want %.4f", k, got, f)
		}
	}
	if len(requests) != len(want) {
		t.Errorf("drew kinds %v, want only %v", requests, want)
	}
}

func TestMixDeterministic(t *testing.T) {
	m, err := bench.NewMix(bench.DefaultMix, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, b := rand.New(rand.NewPCG(42, 7)), rand.New(rand.NewPCG(42, 7))
	for i := range 10_000 {
		if x, y := m.Draw(a), m.Draw(b); x != y {
			t.Fatalf("draw %d: %v then %v from the same seed", i, x, y)
		}
	}
}

func TestMixValidation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		shares     []bench.Share
		contenders int
	}{
		{"over one", []bench.Share{{Kind: bench.Duplicate, Fraction: 0.6}, {Kind: bench.Forged, Fraction: 0.5}}, 4},
		{"negative", []bench.Share{{Kind: bench.Forged, Fraction: -0.1}}, 4},
		{"twice", []bench.Share{{Kind: bench.Forged, Fraction: 0.1}, {Kind: bench.Forged, Fraction: 0.1}}, 4},
		{"not a kind", []bench.Share{{Kind: 0, Fraction: 0.1}}, 4},
		{"one contender", bench.DefaultMix, 1},
		{"nothing", []bench.Share{{Kind: bench.Fresh, Fraction: 0}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bench.NewMix(tc.shares, tc.contenders); err == nil {
				t.Fatal("NewMix accepted it")
			}
		})
	}
	m, err := bench.NewMix([]bench.Share{{Kind: bench.Health, Fraction: 1}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if k := m.Draw(rand.New(rand.NewPCG(1, 1))); k != bench.Health {
			t.Fatalf("a healthz-only mix drew %v", k)
		}
	}
}

func TestKindText(t *testing.T) {
	for _, k := range []bench.Kind{bench.Fresh, bench.Duplicate, bench.Contested, bench.Forged, bench.Verify, bench.Spend, bench.Health} {
		b, _ := k.MarshalText()
		var back bench.Kind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("%v: round trip gave %v, %v", k, back, err)
		}
	}
	if _, err := bench.ParseKind("refund"); err == nil {
		t.Error("ParseKind accepted a kind that does not exist")
	}
}
