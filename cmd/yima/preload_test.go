package main

import (
	"slices"
	"testing"
)

// TestParseSizes reads --preload's sizes, with k and M, and refuses what
// is not a number of codes a batch can hold.
func TestParseSizes(t *testing.T) {
	got, err := parseSizes([]string{"0", "250k", "1M", "10_000", " 50M "})
	if want := []int{0, 250_000, 1_000_000, 10_000, 50_000_000}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("parseSizes = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "-1", "1G", "200M", "ten", "1.5M"} {
		if _, err := parseSizes([]string{bad}); err == nil {
			t.Errorf("parseSizes(%q) succeeded", bad)
		}
	}
}
