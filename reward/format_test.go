package reward_test

import (
	"errors"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestCheckFormat marks a store with the engine's format, accepts it again,
// and refuses a store marked with another format rather than misread it.
func TestCheckFormat(t *testing.T) {
	db, eng := newEngine(t, reward.Options{})
	for range 2 {
		if err := eng.CheckFormat(); err != nil {
			t.Fatalf("a store of this format: %v", err)
		}
	}
	if raw, found, err := db.Get([]byte("meta/format")); err != nil || !found || string(raw) != "1" {
		t.Fatalf("format marker %q, %v, %v; want 1", raw, found, err)
	}
	putBytes(t, db, []byte("meta/format"), []byte("2"))
	if err := eng.CheckFormat(); !errors.Is(err, reward.ErrDataFormat) {
		t.Fatalf("a store of format 2: %v, want ErrDataFormat", err)
	}
}
