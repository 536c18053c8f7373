package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestPrintViolations: both audits (of the records, and --from-events)
// print the same verdict: their clean line, or the number of violations
// and the first twenty of them.
func TestPrintViolations(t *testing.T) {
	var b strings.Builder
	if printViolations(&b, "audit", "clean", nil) || b.String() != "audit: clean\n" {
		t.Fatalf("no violations: printed %q", b.String())
	}
	var many []string
	for i := range 25 {
		many = append(many, fmt.Sprintf("v%d", i))
	}
	b.Reset()
	if !printViolations(&b, "audit --from-events", "the feed rebuilds every record", many) {
		t.Fatal("25 violations reported as none")
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 22 || lines[0] != "audit --from-events: 25 VIOLATIONS" || lines[1] != "  - v0" || lines[20] != "  - v19" || lines[21] != "  ... and 5 more" {
		t.Fatalf("25 violations printed as:\n%s", b.String())
	}
}
