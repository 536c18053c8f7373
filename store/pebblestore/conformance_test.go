package pebblestore_test

import (
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/storetest"
)

// TestConformance holds the engine to the store contract.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(tb testing.TB) store.DB { return MustOpen(tb) },
		Disk: func(tb testing.TB) storetest.Disk { return newDisk(vfs.NewCrashableMem(), 1) },
	})
}

// disk is a crashable in-memory file system whose writes can be made to
// fail.
type disk struct {
	mem    *vfs.MemFS
	broken *errorfs.Toggle
	rng    *rand.Rand
}

func newDisk(mem *vfs.MemFS, seed int64) *disk {
	writes := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			return errorfs.ErrInjected
		}
		return nil
	})
	return &disk{mem: mem, broken: &errorfs.Toggle{Injector: writes}, rng: rand.New(rand.NewPCG(uint64(seed), 0))}
}

func (d *disk) Open(tb testing.TB) store.DB {
	tb.Helper()
	db, err := pebblestore.Open("db", &pebblestore.Options{FS: errorfs.Wrap(d.mem, d.broken)})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// Crash keeps what was synced and, at random, half of what was not.
func (d *disk) Crash(testing.TB) storetest.Disk {
	return newDisk(d.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: d.rng}), d.rng.Int64())
}

func (d *disk) Break() { d.broken.On() }
