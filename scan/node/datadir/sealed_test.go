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
	"github.com/yima-dev/yima/reward/rewardtest"
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
	d := mustOpen(t, t.TempDir(), datadir.Options{Store: dsn, KEK: k})
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
	_, s := rewardtest.MustMint(t, a.Engine, reward.BatchSpec{Product: "SKU", Count: 1, Activate: true})
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
// keys (a data directory's records copied in) is not given a new keyset
// by a node with a key-encryption key; the old keys are uploaded with
// their admin token, and then every node with the key opens them, the old
// admin token is an admin token record, and the pages' secret is the one
// the old nodes derived, so that their cookies stay valid.
func TestSealedKeysNeedUpload(t *testing.T) {
	dsn := pgtest.Migrated(t)
	k := newKEK(t)
	// The old way's database: a data directory's records copied in (yima
	// migrate without a key-encryption key), its keys.json and
	// admin.token left beside them.
	old := mustOpen(t, t.TempDir(), datadir.Options{})
	_, s := rewardtest.MustMint(t, old.Engine, reward.BatchSpec{Product: "SKU", Count: 1, Activate: true})
	oldPath, oldKeys, adminTok := old.Path, old.Keys(), old.AdminToken()
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.CopyStore(oldPath, dsn, nil); err != nil {
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

// TestSharedDatabaseNeedsKEK: on a shared database a node or command
// without a key-encryption key is refused, whatever files lie beside it,
// and says what to do; it writes nothing, neither into the database nor
// into the directory.
func TestSharedDatabaseNeedsKEK(t *testing.T) {
	dsn := pgtest.Migrated(t)
	withFiles := t.TempDir()
	if err := datadir.Init(withFiles); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	for _, dir := range []string{withFiles, empty} {
		_, err := datadir.Open(dir, datadir.Options{Store: dsn})
		if !errors.Is(err, datadir.ErrNoKEK) {
			t.Fatalf("Open(%s) on a shared database without a key-encryption key: %v; want ErrNoKEK", dir, err)
		}
		for _, want := range []string{"yima keys kek", "YIMA_KEY_FILE", "YIMA_KEK", "yima keys upload"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal %q does not say %q", err, want)
			}
		}
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused node made its directory: %v", err)
	}
	// Nothing in the database: a node with the key then makes the keys.
	d := openSealed(t, dsn, newKEK(t))
	if n, err := reward.CountBatches(d.DB); err != nil || n != 0 {
		t.Errorf("batches after the refusals: %d, %v", n, err)
	}
}

// TestReseal re-seals a database's keys under a new key-encryption key:
// a node given the new key opens the same keys and pages' secret, and a
// code minted before verifies; the old key is refused, naming both keys'
// ids and what to do; a node still running with the old key keeps the
// keys it opened (its codes verify) but its reload fails clearly, never
// with garbage. A re-seal whose old key does not open a record changes
// nothing: one transaction.
func TestReseal(t *testing.T) {
	dsn := pgtest.Migrated(t)
	k1, k2 := newKEK(t), newKEK(t)
	a := openSealed(t, dsn, k1)
	_, s := rewardtest.MustMint(t, a.Engine, reward.BatchSpec{Product: "SKU", Count: 1, Activate: true})
	keys, pageKey := a.Keys(), a.PageKey()
	if _, err := datadir.Reseal(dsn, k1, k1); !errors.Is(err, datadir.ErrSameKEK) {
		t.Errorf("a re-seal under the key in use: %v, want ErrSameKEK", err)
	}
	if _, err := datadir.Reseal(dsn, newKEK(t), k2); !errors.Is(err, datadir.ErrWrongKEK) {
		t.Errorf("a re-seal given a wrong old key: %v, want ErrWrongKEK", err)
	}
	got, err := datadir.Reseal(dsn, k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	if *got != (datadir.Resealed{Records: 2, From: k1.ID(), To: k2.ID()}) {
		t.Errorf("Reseal = %+v", got)
	}
	b := openSealed(t, dsn, k2)
	if !sameKeys(t, b.Keys(), keys) || string(b.PageKey()) != string(pageKey) {
		t.Error("the keys or the pages' secret changed in the re-seal")
	}
	if _, err := b.Keys().Verify(s.Code(1)); err != nil {
		t.Errorf("a code minted before the re-seal, on a node with the new key: %v", err)
	}
	_, err = datadir.Open(t.TempDir(), datadir.Options{Store: dsn, KEK: k1})
	for _, want := range []string{"does not open the keys", k1.ID(), k2.ID(), "yima keys reseal"} {
		if !errors.Is(err, datadir.ErrWrongKEK) || !strings.Contains(err.Error(), want) {
			t.Errorf("a node started with the old key: %v; want ErrWrongKEK saying %q", err, want)
		}
	}
	if changed, err := a.ReloadKeys(); !errors.Is(err, datadir.ErrWrongKEK) || changed || !strings.Contains(err.Error(), k2.ID()) {
		t.Errorf("the running node's reload after the re-seal: %v, %v; want ErrWrongKEK naming the new key", changed, err)
	}
	if _, err := a.Keys().Verify(s.Code(1)); err != nil {
		t.Errorf("the running node lost its keys: %v", err)
	}
	if err := a.UpdateKeys(func(ks *codegen.Keyset) error { _, err := ks.Rotate(time.Now()); return err }); !errors.Is(err, datadir.ErrWrongKEK) {
		t.Errorf("a rotation through the node with the old key: %v, want ErrWrongKEK", err)
	}

	// All or nothing: the pages' secret changed so that the new key no
	// longer opens it; a re-seal to a third key fails and leaves the
	// keyset under the second.
	raw, _, err := b.DB.Get([]byte("meta/page-key"))
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), raw...)
	bad[len(bad)-1] ^= 0x01
	if err := b.DB.Update(func(tx store.Tx) error { tx.Put([]byte("meta/page-key"), bad); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.Reseal(dsn, k2, newKEK(t)); !errors.Is(err, datadir.ErrWrongKEK) || !strings.Contains(err.Error(), "meta/page-key") {
		t.Errorf("a re-seal meeting a changed record: %v, want ErrWrongKEK naming it", err)
	}
	if changed, err := b.ReloadKeys(); err != nil || changed {
		t.Errorf("after the failed re-seal the keyset is not the second key's as it was: %v, %v", changed, err)
	}
}
