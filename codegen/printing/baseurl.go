package printing

import (
	"net/url"
	"strings"
)

// BaseURLWarning says why a base URL would print codes no consumer can
// open, or "" when nothing is wrong with it that can be seen offline: a
// host reserved for examples and tests (RFC 2606, RFC 6761) reaches no
// brand, and plain http is refused or warned about by phone browsers and
// invites a man in the middle on every scan. Printed packaging cannot be
// recalled, so the printing commands say so before printing.
func BaseURLWarning(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return "" // refused elsewhere with its own message
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	var why []string
	if reservedHost(host) {
		why = append(why, "host "+host+" is reserved for examples and tests and reaches no brand's server")
	}
	if strings.EqualFold(u.Scheme, "http") {
		why = append(why, "plain http: phones warn about it and anyone on the path can change the page; print https")
	}
	if len(why) == 0 {
		return ""
	}
	return "warning: base URL " + base + ": " + strings.Join(why, "; ")
}

func reservedHost(host string) bool {
	for _, d := range []string{"example.com", "example.net", "example.org", "localhost"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	for _, tld := range []string{"example", "test", "invalid", "localhost"} {
		if host == tld || strings.HasSuffix(host, "."+tld) {
			return true
		}
	}
	if host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.") {
		return true
	}
	return false
}
