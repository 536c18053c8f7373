package scan

import (
	"net/netip"
	"strings"
	"testing"
)

// TestRegionTable: the most specific range decides, IPv4 and IPv6 alike,
// and a table that cannot be read is an error that names its line.
func TestRegionTable(t *testing.T) {
	tab, err := ParseRegionTable(strings.NewReader(`
# CIDR,region
10.0.0.0/8,north
10.1.0.0/16, east
10.1.2.3 华东
2001:db8::/32 west
::ffff:192.0.2.0/120,south
`))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"10.9.9.9": "north", "10.1.9.9": "east", "10.1.2.3": "华东", "2001:db8::1": "west",
		"192.0.2.7": "south", "::ffff:10.1.9.9": "east", "11.0.0.1": "", "2001:db9::1": "",
	} {
		if got := tab.Lookup(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Lookup(%s) = %q, want %q", addr, got, want)
		}
	}
	if tab.Len() != 5 {
		t.Errorf("%d ranges, want 5", tab.Len())
	}
	var none *RegionTable
	if none.Lookup(netip.MustParseAddr("10.0.0.1")) != "" {
		t.Error("a nil table found a region")
	}
	for _, bad := range []string{"10.0.0.0/8", "nonsense,east", "10.0.0.0/33,east", "10.0.0.0/8,a/b", "10.0.0.0/8,east\n10.0.0.0/8,west", "10.0.0.0/8," + strings.Repeat("x", 65)} {
		if _, err := ParseRegionTable(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("table %q: %v, want an error naming the line", bad, err)
		}
	}
}
