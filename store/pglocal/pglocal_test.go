package pglocal_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/yima-dev/yima/store/pglocal"
)

// TestBinHoldsTheServerPrograms: what Bin finds is a directory holding both
// programs a throwaway cluster needs; without PostgreSQL the error is
// ErrNotInstalled, which the callers turn into their own advice.
func TestBinHoldsTheServerPrograms(t *testing.T) {
	bin, err := pglocal.Bin()
	if errors.Is(err, pglocal.ErrNotInstalled) {
		t.Skip("PostgreSQL is not installed")
	}
	if err != nil {
		t.Fatalf("Bin: %v, want a directory or ErrNotInstalled", err)
	}
	for _, prog := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, prog)); err != nil {
			t.Errorf("Bin() = %s, which has no %s: %v", bin, prog, err)
		}
	}
}
