package datadir_test

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/kek"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

func newKEK(t *testing.T) *kek.Key {
	t.Helper()
	k, err := kek.Parse([]byte(kek.Generate()))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sameKeys reports whether two keysets hold the same keys, secrets and
// primary.
func sameKeys(t *testing.T, a, b *codegen.Keyset) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func openSealed(t *testing.T, dsn string, k *kek.Key) *datadir.Dir {
	t.Helper()
	d, err := datadir.Open(t.TempDir(), datadir.Options{Store: dsn, KEK: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestSealedKeysShared opens two nodes with the key-encryption key and
// empty data directories on one database: the first makes the keyset in
// the database, the second reads the same one, neither writes a file, a
// code the first mints is genuine on the second, and a rotation through
// one is put in use by the other.
func TestSealedKeysShared(t *testing.T) {
	dsn := pgtest.Migrated(t)
	k := newKEK(t)
	a := openSealed(t, dsn, k)
	b := openSealed(t, dsn, k)
	for _, d := range []*datadir.Dir{a, b} {
		for _, f := range []string{datadir.KeysFile, datadir.AdminTokenFile} {
			if _, err := os.Stat(filepath.Join(d.Path, f)); err == nil {
				t.Errorf("a node with sealed keys wrote %s", f)
			}
		}
		if d.AdminToken() != "" || !d.SealedKeys() || len(d.PageKey()) != 32 {
			t.Errorf("node %s: admin token %q, sealed %v, page key of %d bytes", d.Path, d.AdminToken(), d.SealedKeys(), len(d.PageKey()))
		}
	}
	if !sameKeys(t, a.Keys(), b.Keys()) || string(a.PageKey()) != string(b.PageKey()) {
		t.Fatal("two nodes of one database hold different keys")
	}
	batch, err := a.Engine.CreateBatch(reward.BatchSpec{Product: "SKU", Count: 1, Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Engine.Signer(batch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Keys().Verify(s.Code(1)); err != nil {
		t.Fatalf("a code minted on one node, verified on the other: %v", err)
	}
	// The record holds no secret in clear.
	raw, found, err := a.DB.Get([]byte("meta/sealed-keys"))
	if err != nil || !found {
		t.Fatalf("the sealed keys' record: found %v, %v", found, err)
	}
	for _, key := range a.Keys().Keys {
		if strings.Contains(string(raw), string(key.Secret)) {
			t.Fatal("the database holds a signing key in clear")
		}
	}
	if err := a.UpdateKeys(func(ks *codegen.Keyset) error { _, err := ks.Rotate(time.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	if a.Keys().Primary != 2 {
		t.Fatalf("after a rotation the primary is %d, want 2", a.Keys().Primary)
	}
	if changed, err := b.ReloadKeys(); err != nil || !changed || b.Keys().Primary != 2 {
		t.Fatalf("the other node's reload: changed %v, %v, primary %d; want the rotated keyset", changed, err, b.Keys().Primary)
	}
	if changed, err := b.ReloadKeys(); err != nil || changed {
		t.Errorf("a second reload with nothing changed: %v, %v", changed, err)
	}
	if _, err := b.Keys().Verify(s.Code(1)); err != nil {
		t.Errorf("a code of the old primary after the rotation: %v", err)
	}
}

// TestSealedKeysRefused: a node without the key-encryption key, with
// another one, or facing a changed record does not start, and says why.
func TestSealedKeysRefused(t *testing.T) {
	dsn := pgtest.Migrated(t)
	k := newKEK(t)
	a := openSealed(t, dsn, k)
	if _, err := a.Engine.CreateBatch(reward.BatchSpec{Product: "SKU", Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := datadir.Open(t.TempDir(), datadir.Options{Store: dsn})
	if !errors.Is(err, datadir.ErrNoKEK) || !strings.Contains(err.Error(), "YIMA_KEY_FILE") {
		t.Errorf("a node without the key-encryption key: %v; want ErrNoKEK naming YIMA_KEY_FILE", err)
	}
	// Even with a keys.json of its own: it would sign with keys the
	// cluster does not use.
	old := t.TempDir()
	if err := datadir.Init(old); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.Open(old, datadir.Options{Store: dsn}); !errors.Is(err, datadir.ErrNoKEK) {
		t.Errorf("a node with a keys.json and no key-encryption key: %v; want ErrNoKEK", err)
	}
	const want = "the key-encryption key does not open the keys in the database"
	if _, err := datadir.Open(t.TempDir(), datadir.Options{Store: dsn, KEK: newKEK(t)}); !errors.Is(err, datadir.ErrWrongKEK) || !strings.Contains(err.Error(), want) {
		t.Errorf("a node with another key-encryption key: %v; want %q", err, want)
	}
	// One bit of the sealed record changed: refused, never used.
	for _, key := range []string{"meta/sealed-keys", "meta/page-key"} {
		raw, _, err := a.DB.Get([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte(nil), raw...)
		bad[len(bad)/2] ^= 0x04
		put := func(v []byte) {
			t.Helper()
			if err := a.DB.Update(func(tx store.Tx) error { tx.Put([]byte(key), v); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		put(bad)
		if _, err := datadir.Open(t.TempDir(), datadir.Options{Store: dsn, KEK: k}); !errors.Is(err, datadir.ErrWrongKEK) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s tampered with: %v; want ErrWrongKEK naming it", key, err)
		}
		if key == "meta/sealed-keys" {
			if changed, err := a.ReloadKeys(); !errors.Is(err, datadir.ErrWrongKEK) || changed {
				t.Errorf("a running node's reload of tampered keys: %v, %v; want the keys in use kept and ErrWrongKEK", changed, err)
			}
		}
		put(raw)
	}
	if _, err := datadir.Open(t.TempDir(), datadir.Options{Store: dsn, KEK: k}); err != nil {
		t.Errorf("with the record restored: %v", err)
	}
}

// TestSealedKeysNeedUpload: a database that holds batches but no sealed
// keys (a cluster set up with keys.json files) is not given a new keyset
// by a node with a key-encryption key; the old keys are uploaded with
// their admin token, and then every node with the key opens them, the old
// admin token is an admin token record, and the pages' secret is the one
// the old nodes derived, so that their cookies stay valid.
func TestSealedKeysNeedUpload(t *testing.T) {
	dsn := pgtest.Migrated(t)
	k := newKEK(t)
	old, err := datadir.Open(t.TempDir(), datadir.Options{Store: dsn})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := old.Engine.CreateBatch(reward.BatchSpec{Product: "SKU", Count: 1, Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := old.Engine.Signer(batch)
	if err != nil {
		t.Fatal(err)
	}
	oldPath, oldKeys, adminTok := old.Path, old.Keys(), old.AdminToken()
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.Open(t.TempDir(), datadir.Options{Store: dsn, KEK: k}); !errors.Is(err, datadir.ErrKeysMissing) || !strings.Contains(err.Error(), "yima keys upload") {
		t.Fatalf("a node with a key-encryption key on a database of the old way: %v; want ErrKeysMissing naming yima keys upload", err)
	}
	if _, err := datadir.Open(oldPath, datadir.Options{Store: dsn, KEK: k}); err == nil || !strings.Contains(err.Error(), "yima keys upload") {
		t.Fatalf("the old node given a key-encryption key before the upload: %v; want a refusal naming yima keys upload", err)
	}
	up, err := datadir.UploadKeys(oldPath, dsn, k)
	if err != nil {
		t.Fatal(err)
	}
	if up.Keys != len(oldKeys.Keys) || up.AdminToken != reward.TokenID(adminTok) || up.KEK != k.ID() {
		t.Errorf("uploaded %+v", up)
	}
	if _, err := datadir.UploadKeys(oldPath, dsn, k); !errors.Is(err, datadir.ErrKeysInDB) {
		t.Errorf("a second upload: %v, want ErrKeysInDB", err)
	}
	n := openSealed(t, dsn, k)
	if !sameKeys(t, n.Keys(), oldKeys) {
		t.Error("the uploaded keys differ from keys.json's")
	}
	if _, err := n.Keys().Verify(s.Code(1)); err != nil {
		t.Errorf("a code minted the old way, verified on a node with sealed keys: %v", err)
	}
	if h := sha256.Sum256([]byte(adminTok)); string(n.PageKey()) != string(h[:]) {
		t.Error("the pages' secret is not the one the old nodes derived from admin.token")
	}
	tok, err := n.Engine.Token(adminTok)
	if err != nil || tok == nil || tok.Role != reward.RoleAdmin {
		t.Errorf("admin.token after the upload: %+v, %v; want a token record of role admin", tok, err)
	}
	// The old node's directory, given the key, now opens the sealed keys
	// (its files are ignored).
	d, err := datadir.Open(oldPath, datadir.Options{Store: dsn, KEK: k})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}
