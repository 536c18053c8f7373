package datadir

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/kek"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore"
)

// On a shared database the keyset and the pages' secret are records,
// sealed under the operator's key-encryption key (package kek) with the
// record's key as associated data: the database never holds them in
// clear, and a node needs only the database's URL and the KEK.
var (
	sealedKeysKey = []byte("meta/sealed-keys")
	// pageKeyKey holds the secret the pages' form tokens, device cookies
	// and members' sign-in cookies are keyed from (scan.Backend.PageKey):
	// every node must sign them alike, so a page served by one node posts
	// to another.
	pageKeyKey = []byte("meta/page-key")
	// kekIDKey holds the public id (kek.Key.ID) of the key-encryption
	// key the records are sealed under, in clear: it gives nothing away,
	// and lets a node holding another key say which one it needs.
	kekIDKey = []byte("meta/kek-id")
)

// sealedRecords are every record sealed under the key-encryption key.
var sealedRecords = [][]byte{sealedKeysKey, pageKeyKey}

// Errors of a shared database's sealed keys.
var (
	// ErrNoKEK is returned for a shared database when the node or
	// command was given no key-encryption key: the signing keys live
	// sealed in the database, never in files beside the process.
	ErrNoKEK = errors.New("datadir: a shared database (--db) keeps yima's signing keys in it, sealed under a key-encryption key, and none was given: " +
		"make one once per cluster with `yima keys kek` (keep it where only the operator and the nodes read it), " +
		"then give it to every node and command with YIMA_KEY_FILE=PATH (or --key-file PATH) or YIMA_KEK=BASE64; " +
		"a cluster set up with keys.json files moves them into the database once with `yima keys upload --from DATA_DIR`. See docs/cluster.md")
	// ErrWrongKEK is returned when the key-encryption key does not open
	// the sealed keys: another key, or a changed record.
	ErrWrongKEK = errors.New("datadir: the key-encryption key does not open the keys in the database")
	// ErrKeysInDB is returned by UploadKeys for a database that holds
	// sealed keys already.
	ErrKeysInDB = errors.New("datadir: the database holds signing keys already")
)

// wrongKEK says which key failed, by its public id, and what to do. r,
// when not nil, is read for the id of the key the records are sealed
// under, so that a node left with the key before a re-seal is told so.
func wrongKEK(r getter, k *kek.Key, what []byte) error {
	if r != nil {
		if id, found, err := r.Get(kekIDKey); err == nil && found && string(id) != k.ID() {
			return fmt.Errorf("%w (%s): they are sealed under key-encryption key %s and this process holds %s; "+
				"if they were re-sealed (yima keys reseal), give it the new key (YIMA_KEY_FILE or YIMA_KEK) and restart it",
				ErrWrongKEK, what, id, k.ID())
		}
	}
	return fmt.Errorf("%w (%s, key-encryption key %s): give this node the key the cluster's keys were sealed with "+
		"(the one its other nodes hold in YIMA_KEY_FILE or YIMA_KEK); if that is the key, the record was changed: restore it from a backup of the database",
		ErrWrongKEK, what, k.ID())
}

// getter reads one record: a store, a transaction or a snapshot.
type getter interface {
	Get([]byte) ([]byte, bool, error)
}

// marshalKeyset is the keyset's plain form, as in keys.json.
func marshalKeyset(ks *codegen.Keyset) ([]byte, error) {
	return json.MarshalIndent(ks, "", "  ")
}

// openSealed opens the sealed record at key under k; found is false when
// there is none.
func openSealed(r getter, k *kek.Key, key []byte) (plain, sealed []byte, found bool, err error) {
	sealed, found, err = r.Get(key)
	if err != nil || !found {
		return nil, nil, found, err
	}
	plain, err = k.Open(key, sealed)
	if err != nil {
		return nil, nil, true, wrongKEK(r, k, key)
	}
	return plain, bytes.Clone(sealed), true, nil
}

// sealedKeys reads the database's keyset; found is false when it holds
// none. sum identifies the sealed bytes, to notice a change (ReloadKeys).
func sealedKeys(db store.Reader, k *kek.Key) (ks *codegen.Keyset, sum [32]byte, found bool, err error) {
	plain, sealed, found, err := openSealed(db, k, sealedKeysKey)
	if err != nil || !found {
		return nil, sum, found, err
	}
	ks, err = codegen.ParseKeyset(plain)
	if err != nil {
		return nil, sum, true, fmt.Errorf("datadir: the keyset in the database: %w", err)
	}
	return ks, sha256.Sum256(sealed), true, nil
}

// putIfAbsent seals value under key unless the database holds the key
// already; it reports whether it wrote. Nodes starting at once on a new
// database race here: one decision wins, the others read its record.
func putIfAbsent(tx store.Tx, k *kek.Key, key, value []byte) (bool, error) {
	if _, found, err := tx.Get(key); err != nil || found {
		return false, err
	}
	tx.Put(key, k.Seal(key, value))
	tx.Put(kekIDKey, []byte(k.ID()))
	return true, nil
}

// openShared reads (or, on a new database, makes) the sealed keyset and
// page key of a shared database. A database that holds batches but no
// keyset is refused: its codes were signed with keys it does not have.
func openShared(db store.DB, dir string, k *kek.Key) (ks *codegen.Keyset, sum [32]byte, pageKey []byte, err error) {
	ks, sum, found, err := sealedKeys(db, k)
	if err != nil {
		return nil, sum, nil, err
	}
	if !found {
		n, err := reward.CountBatches(db)
		if err != nil {
			return nil, sum, nil, err
		}
		if n > 0 {
			return nil, sum, nil, fmt.Errorf("%w: the database holds %d batches but no signing keys; its codes were signed with keys it does not have. "+
				"Nothing was changed. Upload the keys.json of a node set up before (yima keys upload --from DATA_DIR) and start again",
				ErrKeysMissing, n)
		}
		if exists(filepath.Join(dir, KeysFile)) {
			return nil, sum, nil, fmt.Errorf("datadir: %s holds signing keys and the database none: move them into the database with yima keys upload, "+
				"or start from an empty data directory for a new keyset", filepath.Join(dir, KeysFile))
		}
		fresh, err := codegen.NewKeyset(time.Now())
		if err != nil {
			return nil, sum, nil, err
		}
		plain, err := marshalKeyset(fresh)
		if err != nil {
			return nil, sum, nil, err
		}
		if err := db.Update(func(tx store.Tx) error { _, err := putIfAbsent(tx, k, sealedKeysKey, plain); return err }); err != nil {
			return nil, sum, nil, err
		}
		if ks, sum, _, err = sealedKeys(db, k); err != nil {
			return nil, sum, nil, err
		}
	}
	pageKey, err = sharedPageKey(db, k, nil)
	return ks, sum, pageKey, err
}

// sharedPageKey reads the database's page key, making it first from seed
// (or at random when seed is nil) when there is none.
func sharedPageKey(db store.DB, k *kek.Key, seed []byte) ([]byte, error) {
	plain, _, found, err := openSealed(db, k, pageKeyKey)
	if err != nil || found {
		return plain, err
	}
	if seed == nil {
		seed = make([]byte, 32)
		rand.Read(seed) // never fails on supported platforms
	}
	if err := db.Update(func(tx store.Tx) error { _, err := putIfAbsent(tx, k, pageKeyKey, seed); return err }); err != nil {
		return nil, err
	}
	plain, _, _, err = openSealed(db, k, pageKeyKey)
	return plain, err
}

// UpdateKeys changes the keyset in use with change (yima keys rotate and
// retire) and saves it: sealed into the database on a shared database, in
// keys.json otherwise. change runs on a fresh copy and may run more than
// once; a change made meanwhile by another node is not lost, as change
// runs on it.
func (d *Dir) UpdateKeys(change func(ks *codegen.Keyset) error) error {
	d.keysMu.Lock()
	defer d.keysMu.Unlock()
	if d.kek == nil {
		path := filepath.Join(d.Path, KeysFile)
		ks, err := codegen.LoadKeyset(path)
		if err != nil {
			return err
		}
		if err := change(ks); err != nil {
			return err
		}
		if err := ks.Save(path); err != nil {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		d.keysSum = sha256.Sum256(raw)
		d.Engine.SetKeys(ks)
		return nil
	}
	err := d.DB.Update(func(tx store.Tx) error {
		plain, _, found, err := openSealed(tx, d.kek, sealedKeysKey)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: the database holds no signing keys", ErrKeysMissing)
		}
		ks, err := codegen.ParseKeyset(plain)
		if err != nil {
			return err
		}
		if err := change(ks); err != nil {
			return err
		}
		if plain, err = marshalKeyset(ks); err != nil {
			return err
		}
		tx.Put(sealedKeysKey, d.kek.Seal(sealedKeysKey, plain))
		return nil
	})
	if err != nil {
		return err
	}
	ks, sum, _, err := sealedKeys(d.DB, d.kek)
	if err != nil {
		return err
	}
	d.keysSum = sum
	d.Engine.SetKeys(ks)
	return nil
}

// Uploaded is what UploadKeys put into the database.
type Uploaded struct {
	// Keys is the number of signing keys uploaded.
	Keys int `json:"keys"`
	// AdminToken is the id of the admin token record made from the data
	// directory's admin.token, empty when there was none.
	AdminToken string `json:"admin_token,omitempty"`
	// KEK is the public id of the key-encryption key they are sealed
	// under.
	KEK string `json:"kek"`
}

// UploadKeys moves a data directory's files into the shared database at
// url: keys.json sealed under k, the pages' secret derived from
// admin.token as a node of the old way derived it (so that signed-in
// members, visitors' cookies and open forms stay valid), and admin.token
// as a token record of role admin (so that the admin's scripts keep
// working on every node). It refuses a database that holds keys already.
// The files stay; a node given k ignores them.
func UploadKeys(dir, url string, k *kek.Key) (*Uploaded, error) {
	ks, err := LoadKeys(dir)
	if err != nil {
		return nil, err
	}
	plain, err := marshalKeyset(ks)
	if err != nil {
		return nil, err
	}
	tok := ""
	if exists(filepath.Join(dir, AdminTokenFile)) {
		if tok, err = AdminToken(dir); err != nil {
			return nil, err
		}
	}
	db, err := pgstore.Open(url, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	err = db.Update(func(tx store.Tx) error {
		wrote, err := putIfAbsent(tx, k, sealedKeysKey, plain)
		if err == nil && !wrote {
			err = fmt.Errorf("%w; a node given the key-encryption key uses those, and yima keys list --db URL shows them", ErrKeysInDB)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	up := &Uploaded{Keys: len(ks.Keys), KEK: k.ID()}
	var seed []byte
	if tok != "" {
		h := sha256.Sum256([]byte(tok))
		seed = h[:]
	}
	if _, err := sharedPageKey(db, k, seed); err != nil {
		return nil, err
	}
	if tok != "" {
		e := reward.New(db, ks, reward.Options{NoSeenIndex: true})
		t, err := e.AdoptToken(tok, reward.RoleAdmin, AdminTokenFile)
		if err != nil {
			return nil, err
		}
		up.AdminToken = t.ID
	}
	return up, nil
}

// ErrSameKEK is returned by Reseal when the new key-encryption key is the
// one the records are sealed under already.
var ErrSameKEK = errors.New("datadir: the new key-encryption key is the one in use; make a new one with yima keys kek")

// Resealed is what Reseal did.
type Resealed struct {
	// Records is the number of sealed records re-sealed.
	Records int `json:"records"`
	// From and To are the public ids of the old and the new key.
	From string `json:"from"`
	To   string `json:"to"`
}

// Reseal opens every sealed record of the shared database at url with
// the key-encryption key old and seals it under next, in one transaction:
// either every record is sealed under next, or (on any error) every one
// stays under old. Nodes started with old keep the keys they opened, but
// cannot read the records again (a rotation, a restart): they say so,
// naming next's id, until restarted with next.
func Reseal(url string, old, next *kek.Key) (*Resealed, error) {
	if old.ID() == next.ID() {
		return nil, ErrSameKEK
	}
	db, err := pgstore.Open(url, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out *Resealed
	err = db.Update(func(tx store.Tx) error {
		out = &Resealed{From: old.ID(), To: next.ID()}
		for _, key := range sealedRecords {
			plain, _, found, err := openSealed(tx, old, key)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			tx.Put(key, next.Seal(key, plain))
			out.Records++
		}
		if out.Records == 0 {
			return fmt.Errorf("%w: the database holds no sealed records to re-seal", ErrKeysMissing)
		}
		tx.Put(kekIDKey, []byte(next.ID()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
