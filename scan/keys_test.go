package scan_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// TestKeyChangesNeedNoRestart edits the keyset file as yima keys does while
// the server runs: a rotation makes new batches use the new key, and a
// retirement makes the old key's codes stop verifying, both without a
// restart.
func TestKeyChangesNeedNoRestart(t *testing.T) {
	ts := startServer(t, scan.Options{})
	old := ts.MintActive(2, 5)
	if st := ts.CodeStatus(old[0]); !st.Valid {
		t.Fatalf("a fresh code does not verify: %+v", st)
	}
	ts.editKeys(func(ks *codegen.Keyset) error { _, err := ks.Rotate(time.Now()); return err })
	eventually(t, "a batch made after the rotation to use key 2", func() bool {
		var b scan.BatchView
		r := ts.Do("POST", "/v1/batches", ts.Admin, reward.BatchSpec{Product: "SKU-NEW", Count: 1})
		return r.Status == 201 && json.Unmarshal(r.Body, &b) == nil && b.KeyID == 2
	})

	ts.editKeys(func(ks *codegen.Keyset) error { return ks.Retire(1, time.Now()) })
	eventually(t, "codes of the retired key 1 to stop verifying", func() bool {
		return ts.Scan(old[0], "m-keys").ErrCode() == string(reward.CodeKeyRetired)
	})
	if st := ts.CodeStatus(old[1]); st.Valid || st.Reason != string(reward.CodeKeyRetired) {
		t.Errorf("status of a retired key's code: %+v", st)
	}
	if r := ts.Scan(old[0], "m-keys"); r.ErrCode() != string(reward.CodeKeyRetired) {
		t.Errorf("scan of a retired key's code: %v", r)
	}

	// A keyset file that cannot be read leaves the keys in use alone.
	if err := os.WriteFile(filepath.Join(ts.Dir, datadir.KeysFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := ts.App.ReloadKeys(); err == nil || changed {
		t.Fatalf("ReloadKeys of a broken file: changed %v, err %v", changed, err)
	}
	if ks := ts.App.Engine.Keys(); ks.Primary != 2 || len(ks.Keys) != 2 {
		t.Fatalf("keys after a broken file: primary %d, %d keys", ks.Primary, len(ks.Keys))
	}
}

// eventually polls cond until it holds, failing the test after ten seconds
// with what it waited for. It bounds a wait; it asserts no speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKeyReloadDuringScans swaps the keyset while scans verify codes, for
// the race detector: every scan of a code under a key still in the set
// keeps verifying, and each is redeemed once.
func TestKeyReloadDuringScans(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(200, 1)
	path := filepath.Join(ts.Dir, datadir.KeysFile)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			ks, err := datadir.LoadKeys(ts.Dir)
			if err == nil {
				_, err = ks.Rotate(time.Now())
			}
			if err == nil {
				err = ks.Save(path)
			}
			if err == nil {
				_, err = ts.App.ReloadKeys()
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(codes); i += 4 {
				if r := ts.Scan(codes[i], "m-reload"); r.Status != 200 {
					t.Errorf("scan of code %d during key rotations: %v", i+1, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	<-done
	if ks := ts.App.Engine.Keys(); len(ks.Keys) != 6 || ks.Primary != 6 {
		t.Errorf("after five rotations: %d keys, primary %d", len(ks.Keys), ks.Primary)
	}
}
