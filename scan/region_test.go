package scan_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// headerTransport adds a header to every request, as a proxy in front does.
type headerTransport struct {
	base   http.RoundTripper
	key, v string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.key, h.v)
	return h.base.RoundTrip(r)
}

// divertedFlags lists the diverted flags raised for code.
func divertedFlags(t *testing.T, ts *testServer, code string) []reward.Flag {
	t.Helper()
	r := ts.Do("GET", "/v1/flags?kind=diverted", ts.Admin, nil)
	var page reward.FlagPage
	if err := json.Unmarshal(r.Body, &page); err != nil || r.Status != http.StatusOK {
		t.Fatalf("flags: %v %v", r, err)
	}
	var out []reward.Flag
	for _, f := range page.Flags {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

// TestPageClaimsAreJudgedForDiversion: a claim on the page carried no
// region, so a code of an east batch claimed in the west raised no
// diversion flag on the page path. The claim's region now comes from the
// brand's address table, or from a trusted proxy's header; a header from
// anyone else is ignored.
func TestPageClaimsAreJudgedForDiversion(t *testing.T) {
	west, err := scan.ParseRegionTable(strings.NewReader("# the test's loopback client is in the west\n127.0.0.0/8,west\n10.0.0.0/8 north\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		opts     scan.Options
		header   string
		diverted string // the claim's region when it is flagged, "" for no flag
	}{
		{"no source", scan.Options{}, "", ""},
		{"the address table", scan.Options{Regions: west}, "", "west"},
		{"a trusted proxy's header", scan.Options{RegionHeader: "X-Region", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "south", "south"},
		{"the header before the table", scan.Options{RegionHeader: "X-Region", Regions: west, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "south", "south"},
		{"a header from a client not trusted", scan.Options{RegionHeader: "X-Region"}, "south", ""},
		{"a header in the batch's region", scan.Options{RegionHeader: "X-Region", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "east", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.opts)
			_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-R", Count: 1, Points: new(int64(5)), Region: "east", Activate: true})
			phone := newBrowser(t, ts)
			if tc.header != "" {
				phone.c.Transport = headerTransport{base: phone.c.Transport, key: "X-Region", v: tc.header}
			}
			if body := phone.claim(codes[0]); !strings.Contains(body, "Reward claimed") {
				t.Fatalf("the claim:\n%s", body)
			}
			flags := divertedFlags(t, ts, codes[0])
			switch {
			case tc.diverted == "" && len(flags) != 0:
				t.Errorf("flags %+v, want none", flags)
			case tc.diverted != "" && (len(flags) != 1 || flags[0].Region != tc.diverted || flags[0].Intended != "east"):
				t.Errorf("flags %+v, want one: scanned in %s, intended for east", flags, tc.diverted)
			}
		})
	}
}
