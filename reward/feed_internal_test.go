package reward

import (
	"bytes"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
)

// TestEncodeEventAsMarshal: an event encoded in one pass is, byte for
// byte, the FeedEvent json.Marshal encodes with its body marshalled first,
// as readers always got it, once numbered; and it decodes to the same
// event.
func TestEncodeEventAsMarshal(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC)
	bodies := []any{
		ScanRefusal{Code: "C<1>&2", Member: "m\u2028\"x\"", Reason: CodeDailyLimit},
		MemberMerge{Member: "a", Into: "b", IDs: []string{"a", "é"}},
		map[string]any{"z": 1, "a": []int{1, 2}, "m": nil},
		Entry{Member: "m1", Account: AccountPoints, Delta: -5, Balance: 7, Reason: "spend: x"},
		Redemption{Code: "C1", Member: "m<1>", Batch: 1, Serial: 2, Product: "SKU-1", At: at, Points: 5, Ledger: []string{"e1"}},
	}
	for i, data := range bodies {
		for _, seq := range []uint64{1, 42, 1 << 40} {
			body, err := json.Marshal(data)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(FeedEvent{Seq: seq, Type: FeedPointsSpent, At: at, Version: FeedVersion, Data: body})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := encodeEvent(0, FeedPointsSpent, at, data)
			if err != nil {
				t.Fatal(err)
			}
			if got := numberEvent(ev, seq); !bytes.Equal(got, want) {
				t.Errorf("body %d seq %d:\n got %s\nwant %s", i, seq, got, want)
			}
			// Numbered as it is encoded (a decision that knows the number).
			if got, err := encodeEvent(seq, FeedPointsSpent, at, data); err != nil || !bytes.Equal(got, want) {
				t.Errorf("body %d numbered %d when encoded:\n got %s (%v)\nwant %s", i, seq, got, err, want)
			}
			// The body as the record it tells of was written: the same
			// event.
			ev, err = encodeEvent(0, FeedPointsSpent, at, encodedBody(marshalRecord(data)))
			if err != nil {
				t.Fatal(err)
			}
			if got := numberEvent(ev, seq); !bytes.Equal(got, want) {
				t.Errorf("body %d seq %d encoded first:\n got %s\nwant %s", i, seq, got, want)
			}
		}
	}
	if _, err := encodeEvent(0, FeedPointsSpent, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), 1); err == nil {
		t.Error("an event dated in the year 10000 encoded; JSON's time cannot hold it")
	}
}

// TestEncodeEventAllocatesOnce: encoding an event takes the buffer it
// returns and nothing else for a plain body, where marshalling the body
// and then the event took two buffers and two copies.
func TestEncodeEventAllocatesOnce(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	data := ScanRefusal{Code: "C1", Member: "m1", Reason: CodeDailyLimit}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := encodeEvent(1<<40, FeedScanRefused, at, data); err != nil {
			t.Fatal(err)
		}
	}); n > 2 {
		t.Errorf("encoding an event: %v allocations, want at most 2 (the buffer, the body boxed)", n)
	}
}
