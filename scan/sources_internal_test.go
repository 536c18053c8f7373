package scan

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goSource is one non-test Go file, as the tests that read the code's own
// source see it: its path, its text and its syntax tree.
type goSource struct {
	path string
	src  []byte
	file *ast.File
}

// goSources reads and parses the non-test Go files of dir into fset.
func goSources(t *testing.T, fset *token.FileSet, dir string) []goSource {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []goSource
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, goSource{path, src, file})
	}
	return out
}
