package docs_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/yima-dev/yima/docs"
	"gopkg.in/yaml.v3"
)

// operation is one documented endpoint: a method and an OpenAPI path
// template.
type operation struct{ method, path string }

// documented is every operation openapi.yaml must describe. The routes map
// in package scan is unexported, so it is read from source below; this list
// is what ties its path prefixes to the templates of the spec.
var documented = []operation{
	{"POST", "/v1/scans"},
	{"GET", "/v1/codes/{code}"},
	{"GET", "/v1/members/{member}"},
	{"POST", "/v1/members/{member}/guide"},
	{"POST", "/v1/members/{member}/aliases"},
	{"POST", "/v1/members/{member}/spend"},
	{"POST", "/v1/members/{member}/redeem"},
	{"POST", "/v1/members/{member}/adjust"},
	{"GET", "/v1/rewards"},
	{"GET", "/v1/rewards/{reward}"},
	{"PUT", "/v1/rewards/{reward}"},
	{"POST", "/v1/rewards/{reward}/vouchers"},
	{"GET", "/v1/exchanges"},
	{"GET", "/v1/exchanges/{exchange}"},
	{"POST", "/v1/exchanges/{exchange}/ship"},
	{"POST", "/v1/exchanges/{exchange}/cancel"},
	{"POST", "/v1/orders"},
	{"GET", "/v1/orders/{order_id}"},
	{"POST", "/v1/orders/{order_id}/refund"},
	{"GET", "/v1/campaigns"},
	{"GET", "/v1/campaigns/{campaign}"},
	{"PUT", "/v1/campaigns/{campaign}"},
	{"POST", "/v1/guides"},
	{"GET", "/v1/guides/{guide}"},
	{"POST", "/v1/guides/{guide}/leave"},
	{"GET", "/v1/guides/{guide}/qr.png"},
	{"GET", "/v1/guides/{guide}/qr.svg"},
	{"GET", "/v1/coupons/{coupon}"},
	{"GET", "/v1/coupons/{coupon}/qr.png"},
	{"GET", "/v1/coupons/{coupon}/qr.svg"},
	{"POST", "/v1/coupons/{coupon}/verify"},
	{"POST", "/v1/coupons/{coupon}/void"},
	{"POST", "/v1/redemptions/{code}/void"},
	{"POST", "/v1/settlements"},
	{"GET", "/v1/settlements/{period}"},
	{"GET", "/v1/settlements/{period}/payroll.csv"},
	{"GET", "/v1/stats"},
	{"GET", "/v1/flags"},
	{"GET", "/v1/prints"},
	{"POST", "/v1/backups"},
	{"GET", "/v1/brand"},
	{"PUT", "/v1/brand"},
	{"GET", "/v1/products"},
	{"GET", "/v1/products/{sku}"},
	{"PUT", "/v1/products/{sku}"},
	{"GET", "/v1/stores"},
	{"GET", "/v1/stores/{store}"},
	{"PUT", "/v1/stores/{store}"},
	{"GET", "/v1/stores/{store}/guides"},
	{"GET", "/v1/stores/{store}/enrolments"},
	{"POST", "/v1/stores/{store}/enrolments/{enrolment}/approve"},
	{"POST", "/v1/stores/{store}/enrolments/{enrolment}/reject"},
	{"POST", "/v1/stores/{store}/enrolment-qr"},
	{"GET", "/v1/audit"},
	{"POST", "/v1/points/expire"},
	{"GET", "/v1/events"},
	{"GET", "/v1/events/replay"},
	{"GET", "/v1/export/{kind}"},
	{"GET", "/v1/webhooks"},
	{"POST", "/v1/webhooks"},
	{"GET", "/v1/webhooks/{id}"},
	{"DELETE", "/v1/webhooks/{id}"},
	{"POST", "/v1/webhooks/{id}/replay"},
	{"POST", "/v1/webhooks/{id}/resume"},
	{"GET", "/v1/batches"},
	{"POST", "/v1/batches"},
	{"GET", "/v1/batches/{id}"},
	{"DELETE", "/v1/batches/{id}"},
	{"GET", "/v1/batches/{id}/codes"},
	{"GET", "/v1/batches/{id}/images.zip"},
	{"GET", "/v1/batches/{id}/labels.pdf"},
	{"POST", "/v1/batches/{id}/activate"},
	{"POST", "/v1/batches/{id}/revoke"},
	{"POST", "/v1/batches/{id}/release"},
	{"GET", "/v1/tokens"},
	{"POST", "/v1/tokens"},
	{"DELETE", "/v1/tokens/{id}"},
	{"GET", "/c/{code}"},
	{"POST", "/c/{code}"},
	{"GET", "/C/{code}"},
	{"POST", "/C/{code}"},
	{"GET", "/g/{guide}"},
	{"POST", "/g/{guide}"},
	{"GET", "/G/{guide}"},
	{"POST", "/G/{guide}"},
	{"GET", "/v/{coupon}"},
	{"POST", "/v/{coupon}"},
	{"GET", "/V/{coupon}"},
	{"POST", "/V/{coupon}"},
	{"GET", "/signin"},
	{"POST", "/signin"},
	{"GET", "/signin/wechat"},
	{"GET", "/signin/wechat/callback"},
	{"POST", "/signout"},
	{"GET", "/me"},
	{"GET", "/me/mall"},
	{"POST", "/me/mall"},
	{"GET", "/guide"},
	{"POST", "/guide"},
	{"GET", "/guide/qr.svg"},
	{"GET", "/guide.js"},
	{"GET", "/E/{code}"},
	{"POST", "/E/{code}"},
	{"GET", "/e/{code}"},
	{"POST", "/e/{code}"},
	{"GET", "/store/{store}"},
	{"POST", "/store/{store}"},
	{"GET", "/store/{store}/qr.svg"},
	{"GET", "/v1/me"},
	{"GET", "/admin"},
	{"POST", "/admin"},
	{"GET", "/"},
	{"GET", "/healthz"},
	{"GET", "/metrics"},
	{"GET", "/favicon.ico"},
	{"GET", "/openapi.yaml"},
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// spec parses the embedded document, which is what GET /openapi.yaml serves.
func spec(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml is not valid YAML: %v", err)
	}
	if doc == nil {
		t.Fatal("openapi.yaml is empty")
	}
	return doc
}

// get walks doc along keys, failing the test where a key is missing.
func get(t *testing.T, doc any, keys ...string) any {
	t.Helper()
	cur := doc
	for i, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("openapi.yaml: %s is not a mapping", strings.Join(keys[:i], "."))
		}
		if cur, ok = m[k]; !ok {
			t.Fatalf("openapi.yaml: %s is missing", strings.Join(keys[:i+1], "."))
		}
	}
	return cur
}

// resolve follows a local "$ref" ("#/a/b") to its target.
func resolve(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deref returns v, or what it refers to if it is a {"$ref": ...} object.
func deref(t *testing.T, doc map[string]any, v any) any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	ref, ok := m["$ref"].(string)
	if !ok {
		return v
	}
	target, ok := resolve(doc, ref)
	if !ok {
		t.Fatalf("openapi.yaml: $ref %q does not resolve", ref)
	}
	return target
}

// operations returns the spec's operations, with their objects.
func operations(t *testing.T, doc map[string]any) map[operation]map[string]any {
	t.Helper()
	paths, ok := get(t, doc, "paths").(map[string]any)
	if !ok || len(paths) == 0 {
		t.Fatal("openapi.yaml: paths is empty")
	}
	out := map[operation]map[string]any{}
	for path, item := range paths {
		im, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("openapi.yaml: path %s is not a mapping", path)
		}
		for _, m := range httpMethods {
			if op, ok := im[m]; ok {
				om, ok := op.(map[string]any)
				if !ok {
					t.Fatalf("openapi.yaml: %s %s is not a mapping", m, path)
				}
				out[operation{strings.ToUpper(m), path}] = om
			}
		}
	}
	return out
}

func TestOpenAPIIsValid31(t *testing.T) {
	doc := spec(t)
	version, _ := get(t, doc, "openapi").(string)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(version) {
		t.Errorf("openapi is %q, want 3.1.x", version)
	}
	for _, k := range []string{"title", "version"} {
		if s, _ := get(t, doc, "info", k).(string); s == "" {
			t.Errorf("info.%s is empty", k)
		}
	}
	if _, ok := get(t, doc, "components", "securitySchemes", "bearerAuth").(map[string]any); !ok {
		t.Error("components.securitySchemes.bearerAuth is missing")
	}

	// Every local reference resolves.
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, ok := resolve(doc, ref); !ok {
					t.Errorf("%s: $ref %q does not resolve", where, ref)
				}
			}
			for k, x := range v {
				walk(where+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(where+"["+strconv.Itoa(i)+"]", x)
			}
		}
	}
	walk("", doc)

	// Operation ids are unique, and every operation answers something and
	// says who may call it.
	ids := map[string]operation{}
	for op, o := range operations(t, doc) {
		id, _ := o["operationId"].(string)
		if id == "" {
			t.Errorf("%s %s has no operationId", op.method, op.path)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("operationId %s is used by %v and %v", id, prev, op)
		}
		ids[id] = op
		if rs, _ := o["responses"].(map[string]any); len(rs) == 0 {
			t.Errorf("%s %s documents no response", op.method, op.path)
		}
		desc, _ := o["description"].(string)
		sec, hasSec := o["security"].([]any)
		public := hasSec && len(sec) == 0
		if !public && !strings.Contains(desc, "Roles:") {
			t.Errorf("%s %s takes a token but its description names no roles (\"Roles: ...\")", op.method, op.path)
		}
		if public && !strings.Contains(desc, "Public") {
			t.Errorf("%s %s is public but its description does not say so", op.method, op.path)
		}
	}
}

// TestOpenAPIPassesAValidator loads the document with kin-openapi and runs
// its validation (OpenAPI 3.1 and JSON Schema 2020-12): a key the
// specification does not know, such as one made by an unquoted comma in a
// flow mapping ("{description: a, b}"), a bad $ref, an example that breaks
// its schema or a malformed parameter fails here. The hand-written checks
// in this file test what no validator knows: yima's own conventions.
func TestOpenAPIPassesAValidator(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.yaml is read as OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	// Linters (redocly, swagger-cli) want a license to say what it is:
	// an SPDX identifier or a URL, beside its name.
	if l := doc.Info.License; l != nil && l.URL == "" && l.Identifier == "" {
		t.Errorf("info.license %q has neither an identifier nor a url", l.Name)
	}
}

func TestOpenAPIListsTheDocumentedOperations(t *testing.T) {
	ops := operations(t, spec(t))
	want := map[operation]bool{}
	for _, op := range documented {
		if want[op] {
			t.Errorf("%s %s is listed twice in documented", op.method, op.path)
		}
		want[op] = true
		if ops[op] == nil {
			t.Errorf("openapi.yaml does not describe %s %s", op.method, op.path)
		}
	}
	for op := range ops {
		if !want[op] {
			t.Errorf("openapi.yaml describes %s %s, which the documented list in this test lacks", op.method, op.path)
		}
	}
}

// routesFromSource reads scan's routes map from its source: path prefix →
// methods.
func routesFromSource(t *testing.T) map[string][]string {
	t.Helper()
	src, err := os.ReadFile("../scan/handlers.go")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)\nvar routes = map\[string\]\[\]route\{\n(.*?)\n\}\n`).FindSubmatch(src)
	if block == nil {
		t.Fatal("scan/handlers.go: the routes map (var routes = map[string][]route{...}) was not found; update this test's reader")
	}
	body := string(block[1])
	keys := regexp.MustCompile(`"(/[^"]*)":\s*\{`).FindAllStringSubmatchIndex(body, -1)
	method := regexp.MustCompile(`\bmethod:\s*"([A-Z]+)"`)
	routes := map[string][]string{}
	for i, k := range keys {
		end := len(body)
		if i+1 < len(keys) {
			end = keys[i+1][0]
		}
		prefix := body[k[2]:k[3]]
		for _, m := range method.FindAllStringSubmatch(body[k[1]:end], -1) {
			routes[prefix] = append(routes[prefix], m[1])
		}
		if len(routes[prefix]) == 0 {
			t.Errorf("scan/handlers.go: route %q has no method this test can read", prefix)
		}
	}
	// Pages at paths routes would read as prefixes ("/", "/C/" without a
	// code) are exact routes; a key of theirs serves that path alone, so
	// it is recorded without its trailing "/" meaning a prefix: as "=/".
	if exact := regexp.MustCompile(`(?s)\nvar exactRoutes = map\[string\]\[\]route\{\n(.*?)\n\}\n`).FindSubmatch(src); exact != nil {
		for _, m := range regexp.MustCompile(`"(/[^"]*)":\s*\{(.*)`).FindAllStringSubmatch(string(exact[1]), -1) {
			for _, mm := range method.FindAllStringSubmatch(m[2], -1) {
				routes["="+m[1]] = append(routes["="+m[1]], mm[1])
			}
		}
	}
	// A reader that silently finds nothing would pass everything.
	if len(routes) < 20 || !slices.Contains(routes["/v1/scans"], "POST") || !slices.Contains(routes["/v1/codes/"], "GET") {
		t.Fatalf("scan/handlers.go: read only %d routes (%v); update this test's reader", len(routes), routes)
	}
	return routes
}

// serves reports whether route prefix with method serves op.
func serves(prefix string, methods []string, op operation) bool {
	if !slices.Contains(methods, op.method) {
		return false
	}
	if path, exact := strings.CutPrefix(prefix, "="); exact {
		// An exact route ending in "/" is a prefix route's path opened
		// without its argument; the prefix route's operation documents
		// that answer.
		return op.path == path || (path != "/" && strings.HasSuffix(path, "/") && strings.HasPrefix(op.path, path+"{"))
	}
	if strings.HasSuffix(prefix, "/") {
		return len(op.path) > len(prefix) && strings.HasPrefix(op.path, prefix)
	}
	return op.path == prefix
}

func TestEveryRouteIsDocumented(t *testing.T) {
	routes := routesFromSource(t)
	ops := operations(t, spec(t))
	for prefix, methods := range routes {
		for _, m := range methods {
			covered := false
			for op := range ops {
				covered = covered || serves(prefix, []string{m}, op)
			}
			if !covered {
				if strings.HasSuffix(prefix, "/") {
					t.Errorf("route %s %s{...} (scan/handlers.go) is not documented in openapi.yaml", m, prefix)
				} else {
					t.Errorf("route %s %s (scan/handlers.go) is not documented in openapi.yaml", m, prefix)
				}
			}
		}
	}
	for op := range ops {
		served := false
		for prefix, methods := range routes {
			served = served || serves(prefix, methods, op)
		}
		if !served {
			t.Errorf("openapi.yaml documents %s %s, which no route in scan/handlers.go serves", op.method, op.path)
		}
	}
}

// codeConsts returns the error codes declared as Code constants in the
// non-test Go files of dirs: value → where.
func codeConsts(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	return declaredStrings(t, regexp.MustCompile(`(?m)^\s*(?:const\s+)?(\w+)\s+(?:reward\.)?Code\s*=\s*"([^"]*)"`), dirs...)
}

// declaredStrings returns the string constants decl finds in the non-test
// Go files of dirs (its first group the name, its second the value): value
// → where.
func declaredStrings(t *testing.T, decl *regexp.Regexp, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
				out[m[2]] = m[1] + " in " + f
			}
		}
	}
	return out
}

// constNames maps the Go names of the Code constants in dirs to their values.
func constNames(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	names := map[string]string{}
	for value, where := range codeConsts(t, dirs...) {
		name, _, _ := strings.Cut(where, " ")
		names[name] = value
	}
	return names
}

// statusByName maps net/http's status constant names, which fasthttp
// shares, to their numbers: "StatusNotFound" → 404.
func statusByName() map[string]int {
	out := map[string]int{}
	nonLetters := regexp.MustCompile(`[^A-Za-z]`)
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			out["Status"+nonLetters.ReplaceAllString(text, "")] = code
		}
	}
	return out
}

// statusOfFromSource reads scan's statusOf map from its source: code → status.
func statusOfFromSource(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile("../scan/errors.go")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)\nvar statusOf = map\[reward\.Code\]int\{\n(.*?)\n\}\n`).FindSubmatch(src)
	if block == nil {
		t.Fatal("scan/errors.go: var statusOf = map[reward.Code]int{...} was not found; update this test's reader")
	}
	names := constNames(t, "../scan", "../reward")
	statuses := statusByName()
	out := map[string]int{}
	entry := regexp.MustCompile(`(?m)^\s*(?:reward\.)?(\w+):\s*(?:fasthttp|http)\.(Status\w+),`)
	for _, m := range entry.FindAllStringSubmatch(string(block[1]), -1) {
		code, ok := names[m[1]]
		if !ok {
			t.Errorf("scan/errors.go: statusOf key %s is no Code constant this test found", m[1])
			continue
		}
		status, ok := statuses[m[2]]
		if !ok {
			t.Errorf("scan/errors.go: status %s is unknown to this test", m[2])
			continue
		}
		out[code] = status
	}
	if len(out) < 20 || out["already_redeemed"] != http.StatusConflict {
		t.Fatalf("scan/errors.go: read only %d statusOf entries (%v); update this test's reader", len(out), out)
	}
	return out
}

func TestEveryErrorCodeIsDocumented(t *testing.T) {
	doc := spec(t)
	declared := codeConsts(t, "../scan", "../reward")
	if declared["already_redeemed"] == "" || declared["route_not_found"] == "" {
		t.Fatalf("the source scan did not find the Code constants (%d found); update this test's reader", len(declared))
	}
	statusOf := statusOfFromSource(t)

	var enum []string
	for _, v := range get(t, doc, "components", "schemas", "ErrorCode", "enum").([]any) {
		s, _ := v.(string)
		enum = append(enum, s)
	}
	documentedStatus := map[string]int{}
	for k, v := range get(t, doc, "components", "schemas", "ErrorCode", "x-yima-status").(map[string]any) {
		n, ok := v.(int)
		if !ok {
			t.Errorf("x-yima-status of %s is %v, not a number", k, v)
		}
		documentedStatus[k] = n
	}
	inEnum := map[string]bool{}
	for _, c := range enum {
		if inEnum[c] {
			t.Errorf("ErrorCode enum lists %s twice", c)
		}
		inEnum[c] = true
		if declared[c] == "" {
			t.Errorf("ErrorCode enum lists %s, which neither scan nor reward declares", c)
		}
		if _, ok := documentedStatus[c]; !ok {
			t.Errorf("x-yima-status has no status for %s", c)
		}
	}
	for c := range documentedStatus {
		if !inEnum[c] {
			t.Errorf("x-yima-status maps %s, which the ErrorCode enum lacks", c)
		}
	}

	codes := make([]string, 0, len(declared))
	for c := range declared {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		if !inEnum[c] {
			t.Errorf("error code %s (%s) is not in openapi.yaml's ErrorCode enum", c, declared[c])
			continue
		}
		// The server answers a code missing from statusOf with 500.
		want, ok := statusOf[c]
		if !ok {
			want = http.StatusInternalServerError
		}
		if got := documentedStatus[c]; got != want {
			t.Errorf("openapi.yaml says %s comes with %d; scan/errors.go answers %d", c, got, want)
		}
	}
	for c := range statusOf {
		if !inEnum[c] {
			t.Errorf("statusOf maps %s, which is not in openapi.yaml's ErrorCode enum", c)
		}
	}

	// Each documented error response names its codes, and each named code
	// comes with that response's status.
	named := regexp.MustCompile("`([a-z_]+)`")
	for op, o := range operations(t, doc) {
		responses, _ := o["responses"].(map[string]any)
		for key, r := range responses {
			status, err := strconv.Atoi(key)
			if err != nil || status < 400 {
				continue
			}
			rm, _ := deref(t, doc, r).(map[string]any)
			desc, _ := rm["description"].(string)
			n := 0
			for _, m := range named.FindAllStringSubmatch(desc, -1) {
				c := m[1]
				if !inEnum[c] {
					continue
				}
				n++
				if documentedStatus[c] != status {
					t.Errorf("%s %s: response %d names %s, which comes with %d", op.method, op.path, status, c, documentedStatus[c])
				}
			}
			if n == 0 {
				t.Errorf("%s %s: response %d names no error code (`code` in its description)", op.method, op.path, status)
			}
		}
	}
}

// TestEveryScanNoteIsDocumented: a scan answer's notes are values a client
// switches on, so every Note constant of reward must be in the notes enum
// of the scan answer.
func TestEveryScanNoteIsDocumented(t *testing.T) {
	notes := declaredStrings(t, regexp.MustCompile(`(?m)^\s*(?:const\s+)?(Note\w+)\s*=\s*"([^"]*)"`), "../reward")
	if len(notes) < 5 {
		t.Fatalf("found %d Note constants in reward; update this test's reader", len(notes))
	}
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	enum := regexp.MustCompile(`(?m)^\s*enum: \[(coupon_stock_exhausted[^\]]*)\]`).FindSubmatch(raw)
	if enum == nil {
		t.Fatal("openapi.yaml has no notes enum starting with coupon_stock_exhausted")
	}
	documented := map[string]bool{}
	for _, n := range strings.Split(string(enum[1]), ",") {
		documented[strings.TrimSpace(n)] = true
	}
	for value, where := range notes {
		if !documented[value] {
			t.Errorf("scan note %q (%s) is missing from the notes enum in docs/openapi.yaml", value, where)
		}
	}
}
