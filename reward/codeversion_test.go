package reward_test

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

// TestBatchCodeVersion holds the rule that a batch's codes are of one
// version and one key, the ones its record names: new batches mint version
// 2; a batch recorded before version 2 existed keeps minting and redeeming
// version 1; a genuine code of the same serial in the other version, or
// under another key, is not one of the batch's codes and pays nothing, so
// that one item never has two codes that each pay.
func TestBatchCodeVersion(t *testing.T) {
	f := newFixture(t, 10, 5)
	if f.batch.CodeVersion != codegen.V2 || f.signer.Version() != codegen.V2 {
		t.Fatalf("a new batch records code version %d and mints %d, want 2", f.batch.CodeVersion, f.signer.Version())
	}
	ks := f.eng.Keys()
	v1, err := ks.VersionSigner(codegen.V1, f.batch.KeyID, f.batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.scan(v1.Code(1), "alice"); code(err) != reward.CodeUnknownBatch {
		t.Fatalf("a version 1 code of a version 2 batch: %v, want %s", err, reward.CodeUnknownBatch)
	}
	if st, err := f.eng.Status(v1.Code(1)); err != nil || st.Valid || st.Reason != string(reward.CodeUnknownBatch) {
		t.Fatalf("status of a version 1 code of a version 2 batch: %+v, %v; want invalid, %s", st, err, reward.CodeUnknownBatch)
	}
	if _, err := f.scan(f.signer.Code(1), "alice"); err != nil {
		t.Fatalf("the batch's own code: %v", err)
	}

	// Another key signs the same batch and serial genuinely after a
	// rotation; the batch was minted under the old key.
	if _, err := ks.Rotate(time.Unix(5, 0)); err != nil {
		t.Fatal(err)
	}
	other, err := ks.VersionSigner(codegen.V2, ks.Primary, f.batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.scan(other.Code(2), "alice"); code(err) != reward.CodeUnknownBatch {
		t.Fatalf("a code of the batch under another key: %v, want %s", err, reward.CodeUnknownBatch)
	}
	if s, err := f.eng.Signer(f.batch); err != nil || s.Code(2) != f.signer.Code(2) {
		t.Fatalf("after a rotation the batch signs serial 2 as %v (%v), not as it was printed", s, err)
	}

	// A batch recorded before version 2: its record has no code version.
	old, err := f.eng.CreateBatch(reward.BatchSpec{Product: "SKU-1", Count: 10, Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	old.CodeVersion = 0
	raw, err := json.Marshal(old)
	if err != nil || strings.Contains(string(raw), "code_version") {
		t.Fatalf("record %s, %v: want one without code_version", raw, err)
	}
	key := binary.BigEndian.AppendUint32([]byte("b/"), old.ID)
	if err := f.db.Update(func(tx store.Tx) error { tx.Put(key, raw); return nil }); err != nil {
		t.Fatal(err)
	}
	old, err = f.eng.Batch(old.ID)
	if err != nil || old.Codes() != codegen.V1 {
		t.Fatalf("a batch record without a code version reads as version %d (%v), want 1", old.Codes(), err)
	}
	s1, err := f.eng.Signer(old)
	if err != nil || s1.Version() != codegen.V1 {
		t.Fatalf("the old batch's signer mints version %v (%v), want 1", s1, err)
	}
	v2, err := ks.VersionSigner(codegen.V2, old.KeyID, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.scan(v2.Code(3), "bob"); code(err) != reward.CodeUnknownBatch {
		t.Fatalf("a version 2 code of a version 1 batch: %v, want %s", err, reward.CodeUnknownBatch)
	}
	res, err := f.scan(s1.Code(3), "bob")
	if err != nil || res.Result != "redeemed" {
		t.Fatalf("a version 1 code of its version 1 batch: %+v, %v", res, err)
	}
	if _, err := f.scan(s1.Code(3), "carol"); code(err) != reward.CodeAlreadyRedeemed {
		t.Fatalf("the version 1 code scanned again: %v, want %s", err, reward.CodeAlreadyRedeemed)
	}
}
