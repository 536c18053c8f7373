package reward_test

import (
	"fmt"
	"testing"
)

func TestRandomPointsAreSeededDraws(t *testing.T) {
	const n = 200
	doc := func(seed string) string {
		return campaignDoc(t, map[string]any{"points": map[string]any{"min": 5, "max": 20}, "seed": seed})
	}
	a := openFixture(t, n+50, 0, fixtureOptions{sharedKeys: true})
	b := openFixture(t, n+50, 0, fixtureOptions{sharedKeys: true})
	other := openFixture(t, n+50, 0, fixtureOptions{sharedKeys: true})
	if v := mustApply(t, a, doc("seed-one")); v.Seed != "seed-one" {
		t.Fatalf("a document's seed was not kept: %q", v.Seed)
	}
	mustApply(t, b, doc("seed-one"))
	mustApply(t, other, doc("seed-two"))

	seen := map[int64]int{}
	differ := 0
	for s := uint32(1); s <= n; s++ {
		c := a.signer.Code(s)
		if c != b.signer.Code(s) || c != other.signer.Code(s) {
			t.Fatal("fixtures with shared keys mint different codes")
		}
		pa := mustRedeem(t, a, c, "alice").Points
		pb := mustRedeem(t, b, c, fmt.Sprintf("member-%d", s)).Points
		po := mustRedeem(t, other, c, "alice").Points
		if pa != pb {
			t.Fatalf("code %s: %d points in one store, %d in another with the same seed", c, pa, pb)
		}
		if pa < 5 || pa > 20 || po < 5 || po > 20 {
			t.Fatalf("code %s: %d and %d points, outside [5,20]", c, pa, po)
		}
		seen[pa]++
		if pa != po {
			differ++
		}
	}
	if len(seen) != 16 {
		t.Fatalf("%d scans drew only %d distinct values of [5,20]: %v", n, len(seen), seen)
	}
	for v, k := range seen {
		if k > n/16*3 { // 12.5 expected
			t.Errorf("%d drawn %d times of %d: not uniform", v, k, n)
		}
	}
	if differ < n/2 {
		t.Fatalf("another seed changed only %d of %d draws", differ, n)
	}
	// A new version keeps the seed, so draws do not move with it.
	mustApply(t, a, doc("seed-three"))
	for s := uint32(n + 1); s <= n+20; s++ {
		c := a.signer.Code(s)
		if pa, pb := mustRedeem(t, a, c, "alice").Points, mustRedeem(t, b, c, "bob").Points; pa != pb {
			t.Fatalf("after re-applying, code %s draws %d, before %d", c, pa, pb)
		}
	}
	for _, f := range []*fixture{a, b, other} {
		mustAudit(t, f)
	}
}
