package scan

import (
	"go/ast"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestEveryCodeHasAStatus reads the error codes declared in package reward
// and in this package from their source, so that a code added later cannot
// be forgotten in statusOf and silently answer 500.
func TestEveryCodeHasAStatus(t *testing.T) {
	declared := map[reward.Code]string{}
	for _, dir := range []string{"../reward", "."} {
		for name, value := range codeConsts(t, dir) {
			declared[reward.Code(value)] = filepath.Join(dir, name)
		}
	}
	for _, must := range []reward.Code{reward.CodeAlreadyRedeemed, reward.CodeInvalidCode, codeBodyTooLarge} {
		if _, ok := declared[must]; !ok {
			t.Fatalf("the source scan did not find %q; it is not reading the declarations", must)
		}
	}
	for code, where := range declared {
		status, ok := statusOf[code]
		switch {
		case !ok:
			t.Errorf("%s (%s) has no entry in statusOf: it would answer 500", code, where)
		case status < 400 || status > 599:
			t.Errorf("%s maps to %d, not an error status", code, status)
		case status == 500 && code != reward.CodeInternal:
			t.Errorf("%s maps to 500; only %s should", code, reward.CodeInternal)
		}
	}
	for code := range statusOf {
		if _, ok := declared[code]; !ok {
			t.Errorf("statusOf maps %q, which no package declares", code)
		}
	}
}

// codeConsts returns the string constants of type Code or reward.Code
// declared in the non-test files of dir, by name.
func codeConsts(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, f := range goSources(t, fset, dir) {
		for _, decl := range f.file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if !isCodeType(vs.Type) {
					continue
				}
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: code %s is not a string literal; this test cannot read it", fset.Position(name.Pos()), name.Name)
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					out[name.Name] = v
				}
			}
		}
	}
	return out
}

func isCodeType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Code"
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		return ok && x.Name == "reward" && e.Sel.Name == "Code"
	}
	return false
}
