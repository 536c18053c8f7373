package scan

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// A claim on the page names no region of its own, and anti-diversion
// (a code scanned outside its batch's region) needs one. The server derives
// it, in this order, from:
//   - Options.RegionHeader, a header a trusted proxy sets (a CDN's or
//     nginx's geo lookup), read only on connections from a trusted proxy;
//   - Options.Regions, a table of address ranges the brand supplies, looked
//     up with the client's address.
// Neither set: a claim has no region and is never judged diverted.

// maxRegion bounds a region name taken from a header or a table.
const maxRegion = 64

// RegionTable maps client address ranges to the brand's region names; the
// longest matching range wins.
type RegionTable struct {
	byBits map[int]map[netip.Prefix]string // masked prefix by its length
	bits   []int                           // lengths present, longest first
}

// LoadRegionTable reads a region table file: one range a line, a CIDR (or
// one address) and a region name separated by a comma or spaces; blank
// lines and lines starting with # are skipped.
func LoadRegionTable(path string) (*RegionTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ParseRegionTable(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseRegionTable reads a region table (see LoadRegionTable).
func ParseRegionTable(r io.Reader) (*RegionTable, error) {
	t := &RegionTable{byBits: map[int]map[netip.Prefix]string{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cidr, region, ok := strings.Cut(strings.Replace(line, ",", " ", 1), " ")
		region = strings.TrimSpace(region)
		if !ok || !plainRegion(region) {
			return nil, fmt.Errorf("line %d: %q: want a range and a region name (up to %d bytes), e.g. \"10.1.0.0/16,east\"", n, line, maxRegion)
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil {
				return nil, fmt.Errorf("line %d: %q is not an address range such as 10.1.0.0/16", n, cidr)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmappedBits(p)).Masked()
		m := t.byBits[p.Bits()]
		if m == nil {
			m = map[netip.Prefix]string{}
			t.byBits[p.Bits()] = m
			t.bits = append(t.bits, p.Bits())
		}
		if old, dup := m[p]; dup && old != region {
			return nil, fmt.Errorf("line %d: %s is already %q", n, p, old)
		}
		m[p] = region
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// Longest first: the most specific range decides.
	slices.Sort(t.bits)
	slices.Reverse(t.bits)
	return t, nil
}

// unmappedBits is what an IPv4-mapped IPv6 prefix loses when unmapped.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return 96
	}
	return 0
}

// Lookup returns a's region, "" when no range holds it.
func (t *RegionTable) Lookup(a netip.Addr) string {
	if t == nil || !a.IsValid() {
		return ""
	}
	a = a.Unmap()
	for _, b := range t.bits {
		if b > a.BitLen() {
			continue
		}
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if r, ok := t.byBits[b][p]; ok {
			return r
		}
	}
	return ""
}

// Len is the number of ranges.
func (t *RegionTable) Len() int {
	n := 0
	for _, m := range t.byBits {
		n += len(m)
	}
	return n
}

// plainRegion reports whether a region name from outside is safe to
// record: 1 to maxRegion bytes of UTF-8 without control characters or
// "/" (a region is a path segment of the statistics' listings).
func plainRegion(s string) bool {
	if s == "" || len(s) > maxRegion || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' {
			return false
		}
	}
	return true
}

// region is the region a page's claim comes from (see the top of this
// file), "" when unknown.
func (s *Server) region(ctx *fasthttp.RequestCtx) string {
	if h := s.opts.RegionHeader; h != "" && s.trusted(addrOf(ctx.RemoteAddr())) {
		if r := strings.TrimSpace(string(ctx.Request.Header.Peek(h))); plainRegion(r) {
			return r
		}
	}
	return s.opts.Regions.Lookup(s.clientIP(ctx))
}
