package scan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// scanBodies are bodies of POST /v1/scans: the plain ones plainScanBody
// reads itself, and the others it must leave to decode.
var scanBodies = []struct {
	body  string
	plain bool
}{
	{`{"code":"HTTPS://Y.MA/C/ABC","member":"m1"}`, true},
	{` {"code" : "C1", "member":"m1","request_id":"r-1"} ` + "\n", true},
	{"{\t\"code\":\"C1\",\r\n\"member\":\"会员1\",\"guide\":\"g\",\"region\":\"CN-31\",\"device\":\"d\",\"pin\":\"1234\",\"source\":\"tmall\"}", true},
	{`{"member":"","code":""}`, true},
	{`{"code":"C1","member":"m1\u0031"}`, false},
	{`{"code":"C1","member":"m\"1"}`, false},
	{`{"code":"C1","member":null}`, false},
	{`{"code":"C1","member":1}`, false},
	{`{"code":"C1","member":["m1"]}`, false},
	{`{"code":"C1","Member":"m1"}`, false},
	{`{"code":"C1","member":"m1","member":"m2"}`, false},
	{`{"code":"C1","member":"m1","extra":"x"}`, false},
	{`{"code":"C1","member":"m1","Scope":"other"}`, false},
	{`{"code":"C1","member":"m1",}`, false},
	{`{"code":"C1","member":"m1"`, false},
	{`{"code":"C1","member":"m1"}{}`, false},
	{`{"code":"C1","member":"m1"} x`, false},
	{`{"code":"C1" "member":"m1"}`, false},
	{`{}`, false},
	{`[]`, false},
	{`null`, false},
	{``, false},
	{"\f{\"code\":\"C1\",\"member\":\"m1\"}", false},
	{"{\"code\":\"C1\",\"member\":\"m\x011\"}", false},
	{"{\"code\":\"C1\",\"member\":\"m\xff\"}", false},
}

// TestPlainScanBodyAgreesWithDecode: a body plainScanBody reads is one
// decode reads the same way; the others go to decode, unread.
func TestPlainScanBodyAgreesWithDecode(t *testing.T) {
	for _, c := range scanBodies {
		var fast reward.ScanRequest
		if got := plainScanBody([]byte(c.body), &fast); got != c.plain {
			t.Errorf("%q: read as plain %v, want %v", c.body, got, c.plain)
			continue
		}
		checkPlainScanBody(t, []byte(c.body))
	}
}

// checkPlainScanBody fails when plainScanBody reads body other than decode.
func checkPlainScanBody(t *testing.T, body []byte) {
	t.Helper()
	var fast, slow reward.ScanRequest
	if !plainScanBody(body, &fast) {
		return
	}
	if err := decodeBody(body, &slow); err != nil {
		t.Fatalf("%q: plainScanBody read it, decode refuses it: %v", body, err)
	}
	if fast != slow {
		t.Fatalf("%q: plainScanBody read %+v, decode %+v", body, fast, slow)
	}
}

// FuzzPlainScanBody holds the agreement on any body (go test -fuzz
// FuzzPlainScanBody ./scan/); without -fuzz it runs scanBodies.
func FuzzPlainScanBody(f *testing.F) {
	for _, c := range scanBodies {
		f.Add([]byte(c.body))
	}
	f.Fuzz(checkPlainScanBody)
}

// TestDecodeScanAllocations: a plain scan's body costs one copy, for all
// its strings.
func TestDecodeScanAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not counted under the race detector")
	}
	body := []byte(`{"code":"HTTPS://Y.MA/C/0123456789ABCDEF","member":"member-17","request_id":"r-1"}`)
	var req reward.ScanRequest
	if n := testing.AllocsPerRun(100, func() { plainScanBody(body, &req) }); n != 1 {
		t.Errorf("a plain scan body allocates %.0f times, want 1", n)
	}
}

// BenchmarkScanBody is the reading of a plain scan's body, by
// plainScanBody and by decode, which read it before.
func BenchmarkScanBody(b *testing.B) {
	body := []byte(`{"code":"HTTPS://Y.MA/C/0123456789ABCDEF","member":"member-17"}`)
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req reward.ScanRequest
			if !plainScanBody(body, &req) {
				b.Fatal("not plain")
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req reward.ScanRequest
			if err := decodeBody(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestScanFieldsAreTheRequests: plainScanBody reads exactly the string
// fields of reward.ScanRequest a body may set, by their JSON names, each
// into its own field, so that a field added, renamed or retyped there is
// not read otherwise here than by decode.
func TestScanFieldsAreTheRequests(t *testing.T) {
	typ := reflect.TypeFor[reward.ScanRequest]()
	n := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		var req reward.ScanRequest
		set := setScanField(&req, name, "v")
		if want := f.IsExported() && f.Type.Kind() == reflect.String && name != "-"; set != want {
			t.Errorf("setScanField(%q) = %v, want %v", name, set, want)
		}
		if !set {
			continue
		}
		n++
		v := reflect.ValueOf(req)
		for j := range typ.NumField() {
			if typ.Field(j).Type.Kind() == reflect.String && (v.Field(j).String() == "v") != (j == i) {
				t.Errorf("setScanField(%q) sets %s", name, typ.Field(j).Name)
			}
		}
	}
	if n > maxScanFields {
		t.Errorf("maxScanFields is %d, below the %d fields", maxScanFields, n)
	}
	for _, other := range []string{"-", "Code", "Scope", "final", "extra"} {
		if setScanField(new(reward.ScanRequest), other, "v") {
			t.Errorf("setScanField(%q) sets a field", other)
		}
	}
}
