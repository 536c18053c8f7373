package pebblestore

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A key a decision writes more than once goes into the group's batch once,
// with its last value or its deletion: a memtable insert for each write
// would be read never. Both ways of finding repeats (a few writes compared,
// many looked up) are run.
func TestFlushWritesEachKeyOnce(t *testing.T) {
	pdb, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	for _, filler := range []int{0, 40} {
		t.Run(fmt.Sprint(filler, " other keys"), func(t *testing.T) {
			b := pdb.NewIndexedBatch()
			defer b.Close()
			tx := &Tx{db: pdb, hot: &hotCache{m: map[string][]byte{}, max: 1 << 10}}
			tx.reset(b)
			tx.Put([]byte("head"), []byte("1"))
			tx.Put([]byte("gone"), []byte("x"))
			for i := range filler {
				tx.Put(fmt.Appendf(nil, "k%02d", i), []byte("v"))
			}
			tx.Put([]byte("head"), []byte("2"))
			tx.Delete([]byte("gone"))
			tx.Delete([]byte("back"))
			tx.Put([]byte("back"), []byte("3"))
			if err := tx.flush(); err != nil {
				t.Fatal(err)
			}
			if got, want := int(b.Count()), 3+filler; got != want {
				t.Errorf("the batch holds %d writes, want %d", got, want)
			}
			want := map[string]string{"head": "2", "gone": "", "back": "3"}
			for k, v := range want {
				got, closer, err := b.Get([]byte(k))
				if v == "" {
					if err != pebble.ErrNotFound {
						t.Errorf("%s: %q, %v; want deleted", k, got, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v; want %q", k, err, v)
					continue
				}
				if string(got) != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
				closer.Close()
				if hv, _ := tx.hot.get([]byte(k)); string(hv) != v {
					t.Errorf("%s in the decider's cache: %q, want %q", k, hv, v)
				}
			}
		})
	}
}
