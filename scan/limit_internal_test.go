package scan

import (
	"strconv"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestLimiterMemoryIsBounded: callers past MaxCallers are forgotten, so a
// flood of fresh member ids or addresses cannot grow the limiter for ever.
func TestLimiterMemoryIsBounded(t *testing.T) {
	l := newLimiter(Limits{MaxCallers: 640})
	for i := range 100_000 {
		if err := l.allow("m:"+strconv.Itoa(i), 1, 1); err != nil {
			t.Fatalf("a fresh caller was refused: %v", err)
		}
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].m)
	}
	if n > 640 {
		t.Fatalf("%d callers remembered, want at most 640", n)
	}
	// A caller locked out stays locked while it is remembered.
	for range 25 {
		l.forged("a:1")
	}
	if err := l.allow("a:1", 100, 100); reward.ErrorCode(err) != codeLockedOut {
		t.Fatalf("after a run of forged codes: %v, want locked_out", err)
	}
}
