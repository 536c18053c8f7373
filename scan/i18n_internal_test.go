package scan

import (
	"go/ast"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// verbs are a message's formatting verbs, sorted: a translation may put
// its arguments in another order but must take the same ones.
var verbRE = regexp.MustCompile(`%(\[\d+\])?[a-z]`)

func verbs(msg string) []string {
	var out []string
	for _, v := range verbRE.FindAllString(msg, -1) {
		out = append(out, v[len(v)-1:])
	}
	slices.Sort(out)
	return out
}

// TestCatalogsHaveTheSameKeys: every key is in every language, with the
// same verbs, and no text is empty.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	for _, a := range locales {
		if len(a.keys) == 0 {
			t.Fatalf("locales/%s.json is empty", a.name)
		}
		for k, v := range a.keys {
			if strings.TrimSpace(v) == "" {
				t.Errorf("locales/%s.json: %q is empty", a.name, k)
			}
			for _, b := range locales {
				w, ok := b.keys[k]
				if !ok {
					t.Errorf("%q is in locales/%s.json but missing from locales/%s.json", k, a.name, b.name)
					continue
				}
				if !slices.Equal(verbs(v), verbs(w)) {
					t.Errorf("%q takes %v in %s but %v in %s", k, verbs(v), a.name, verbs(w), b.name)
				}
			}
		}
	}
}

// usedKeys reads the package's sources for every key a handler or a
// template names: l.T("key", ...) calls, {{t "key" ...}} in templates,
// l.msg("key") calls (the landing page's texts with values), and the
// keys of the lookup tables.
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	tmplKey := regexp.MustCompile(`[{(]t "([^"]+)"`)
	fset := token.NewFileSet()
	for _, f := range goSources(t, fset, ".") {
		for _, m := range tmplKey.FindAllStringSubmatch(string(f.src), -1) {
			used[m[1]] = f.path
		}
		// text takes its key from a lookup table read below; only the
		// two functions that read those tables may call it.
		for _, d := range f.file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name == "refusal" || fn.Name.Name == "word" {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "text" {
						t.Errorf("%s: %s calls text, which only the lookup tables' readers may; name the key in a T call", fset.Position(call.Pos()), fn.Name.Name)
					}
				}
				return true
			})
		}
		ast.Inspect(f.file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "T" && sel.Sel.Name != "msg" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a T call whose key is not a literal; this test cannot check it", fset.Position(call.Pos()))
				return true
			}
			k, _ := strconv.Unquote(lit.Value)
			used[k] = fset.Position(call.Pos()).String()
			return true
		})
	}
	for _, k := range refusalKeys {
		used[k] = "refusalKeys"
	}
	for name, table := range map[string]map[string]string{
		"couponStatusKeys": couponStatusKeys, "dimensionKeys": dimensionKeys,
		"campaignStatusKeys": campaignStatusKeys, "flagKeys": flagKeys,
		"webhookStateKeys": webhookStateKeys,
	} {
		for _, k := range table {
			used[k] = name
		}
	}
	return used
}

// TestEveryKeyUsedIsInTheCatalogs: a handler or template naming a key no
// catalog has would show the key itself to a consumer; a key nothing
// names is words that went stale.
func TestEveryKeyUsedIsInTheCatalogs(t *testing.T) {
	used := usedKeys(t)
	if len(used) < 20 {
		t.Fatalf("found only %d keys in the sources: the search is broken", len(used))
	}
	for k, where := range used {
		for _, l := range locales {
			if _, ok := l.keys[k]; !ok {
				t.Errorf("%s uses %q, which locales/%s.json lacks", where, k, l.name)
			}
		}
	}
	for _, l := range locales {
		for k := range l.keys {
			if _, ok := used[k]; !ok {
				t.Errorf("locales/%s.json has %q, which no page uses", l.name, k)
			}
		}
	}
}

// TestPageLanguage: ?lang= first, then the browser's preferences by their
// q-values, then the server's language, Chinese unless set.
func TestPageLanguage(t *testing.T) {
	for _, tc := range []struct {
		server, query, accept, want string
	}{
		{"", "", "", "zh-CN"},
		{"en", "", "", "en"},
		{"", "", "en-US,en;q=0.9", "en"},
		{"", "", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
		{"en", "", "zh-TW,zh;q=0.9", "zh-CN"},
		{"", "", "fr-FR,fr;q=0.9,en;q=0.5", "en"},
		{"", "", "en;q=0.2,zh;q=0.8", "zh-CN"},
		{"", "", "zh;q=0.2,en;q=0.8", "en"},
		{"", "", "fr", "zh-CN"},
		{"en", "", "fr", "en"},
		{"", "", "*", "zh-CN"},
		{"", "", "garbage;;q=x", "zh-CN"},
		{"", "lang=en", "zh-CN", "en"},
		{"en", "lang=zh", "en", "zh-CN"},
		{"", "lang=zh-CN", "", "zh-CN"},
		{"", "lang=fr", "en", "en"},
		{"", "lang=%3Cscript%3E", "", "zh-CN"},
	} {
		// The second pass answers from the remembered choices
		// (acceptChoices).
		for pass := range 2 {
			s := &Server{opts: Options{Language: tc.server}}
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/?" + tc.query)
			if tc.accept != "" {
				ctx.Request.Header.Set("Accept-Language", tc.accept)
			}
			if got := s.pageWords(&ctx).Lang(); got != tc.want {
				t.Errorf("pass %d: server %q, ?%s, Accept-Language %q: %s, want %s", pass, tc.server, tc.query, tc.accept, got, tc.want)
			}
		}
	}
}

// TestNumbersInTheLanguage: amounts get the language's separators, a
// batch or serial number none.
func TestNumbersInTheLanguage(t *testing.T) {
	zh, en := localeNamed("zh"), localeNamed("en")
	if got := en.T("landing.balance", 1234567); got != "Balance: 1,234,567 points." {
		t.Errorf("en balance: %q", got)
	}
	if got := zh.T("landing.balance", 1234567); got != "当前余额：1,234,567 积分。" {
		t.Errorf("zh balance: %q", got)
	}
	if got := en.T("landing.batch", id(12345), id(1000000)); got != "Batch 12345, serial 1000000" {
		t.Errorf("en batch: %q", got)
	}
}
