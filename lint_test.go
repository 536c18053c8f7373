package yima_test

// TestImportRules holds the layering the design fixes: the rules decide
// against the store contract (package store) and no engine; Pebble lives in
// the engine package (store/pebblestore), which only the composition root
// (scan/node, with its data directory in scan/node/datadir) opens; fasthttp
// in scan and bench; data flowing one way, cmd → scan/node → scan → reward
// → store, with codegen pure and its printing kept out of the rules. It
// reads the imports of every non-test .go file with go/parser; test files
// are exempt.

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/yima-dev/yima"

// fileImports is one non-test source file and what it imports.
type fileImports struct {
	path    string // slash-separated, relative to the module root
	imports []string
}

// dir is the file's top-level folder ("store", "cmd", ...), "" at the root.
func (f fileImports) dir() string {
	top, _, found := strings.Cut(f.path, "/")
	if !found {
		return ""
	}
	return top
}

// importRule forbids files outside allowed (folders, each with everything
// under it) from importing a package path or anything under it.
type importRule struct {
	pkg     string
	allowed []string
	why     string
}

// flowRule forbids files in folder from importing the listed project
// packages (or anything under them); with alone, every project package but
// the folder's own.
type flowRule struct {
	folder    string
	forbidden []string
	alone     bool
	why       string
}

var importRules = []importRule{
	{"github.com/cockroachdb/pebble", []string{"store/pebblestore"}, "Pebble is the engine package's business; the contract in store names no engine, so another backend can run the same rules"},
	{module + "/store/pebblestore", []string{"store/pebblestore", "scan/node"}, "only the composition root (scan/node and its data directory, scan/node/datadir) opens the Pebble engine; cmd, bench and scan reach the store through it, reward through the store contract"},
	{module + "/store/pgstore", []string{"store/pgstore", "scan/node"}, "only the composition root (scan/node) opens the PostgreSQL backend; reward decides through the store contract"},
	{"github.com/jackc/pgx", []string{"store/pgstore", "bench/baseline"}, "SQL is the PostgreSQL backend's business (and the bench's PostgreSQL baseline's); the rules run on the store contract"},
	{module + "/store/memstore", []string{"store"}, "the in-memory backend is for tests of the contract and the rules; reward imports no storage engine"},
	{module + "/store/storetest", []string{"store"}, "the conformance suite is for tests"},
	{"github.com/valyala/fasthttp", []string{"scan", "bench"}, "HTTP lives in scan (and bench's client); nothing below scan knows about HTTP"},
	{module + "/codegen/printing", []string{"codegen/printing", "scan", "cmd"}, "printing's image and PDF libraries stay out of the rules: reward, store and codegen's cryptography never import it"},
}

// contractRule lets files in folder (but not under except) import the store
// contract, package store itself, and no package under it: whatever engine
// a future backend adds under store/ is as forbidden as Pebble's.
type contractRule struct {
	folder string
	except []string
	why    string
}

var contractRules = []contractRule{
	{"reward", nil, "reward decides against the store contract and imports no storage engine, so every backend runs the same rules"},
	{"scan", []string{"scan/node"}, "scan is the HTTP service alone: it serves the engine it is given and imports no storage engine; scan/node opens the store"},
	{"cmd", nil, "the CLI opens the data directory through scan/node/datadir and imports no storage engine"},
}

var flowRules = []flowRule{
	{"store", []string{"codegen", "reward", "scan", "bench", "cmd"}, false, "store knows nothing of codes, rules or HTTP"},
	{"reward", []string{"scan", "bench", "cmd"}, false, "reward decides; it never calls back up into the HTTP layer"},
	{"codegen", nil, true, "codegen is pure functions of keys and ids; it depends on no other part of yima"},
	{"scan", []string{"bench", "cmd"}, false, "scan serves; the CLI and the load tool call it, never the other way"},
}

func TestImportRules(t *testing.T) {
	files := parseImports(t, ".")
	// The walk must have found the packages the rules are about, or the
	// test would pass by reading nothing.
	for _, want := range []string{"store", "reward", "scan", "codegen", "cmd"} {
		if !slices.ContainsFunc(files, func(f fileImports) bool { return f.dir() == want }) {
			t.Fatalf("no non-test Go files found under %s/", want)
		}
	}
	if !slices.ContainsFunc(files, func(f fileImports) bool {
		return under(f.path, "store/pebblestore") && slices.ContainsFunc(f.imports, func(p string) bool { return under(p, "github.com/cockroachdb/pebble") })
	}) {
		t.Fatal("no store/pebblestore file imports Pebble; the import reading is broken")
	}
	for _, v := range violations(files) {
		t.Error(v)
	}
}

// TestTopLevelFolders keeps the tree's first level to the folders that show
// the system (the root holds only the repository's own tests): a new part
// goes into a package under one of them, beside the code it serves.
func TestTopLevelFolders(t *testing.T) {
	fixed := []string{"", "cmd", "codegen", "scan", "reward", "store", "bench", "docs"}
	seen := map[string]bool{}
	for _, f := range parseImports(t, ".") {
		if !slices.Contains(fixed, f.dir()) && !seen[f.dir()] {
			seen[f.dir()] = true
			t.Errorf("Go code in the top-level folder %s/: the first level is %v; move it into a package under one of them", f.dir(), fixed[1:])
		}
	}
}

// TestImportRulesCatch checks the checker on made-up files, so that a
// broken rule cannot pass silently.
func TestImportRulesCatch(t *testing.T) {
	files := []fileImports{
		{"store/pebblestore/db.go", []string{"github.com/cockroachdb/pebble/v2", "github.com/cockroachdb/pebble/v2/vfs", module + "/store"}},
		{"store/pebblestore/pebbletest/open.go", []string{"github.com/cockroachdb/pebble/v2/vfs", module + "/store/pebblestore"}},
		{"store/memstore/memstore.go", []string{module + "/store"}},
		{"store/storetest/storetest.go", []string{module + "/store"}},
		{"scan/node/node.go", []string{module + "/store/pebblestore", module + "/scan", module + "/scan/node/datadir"}},
		{"scan/node/datadir/datadir.go", []string{module + "/store/pebblestore", module + "/store", module + "/reward"}},
		{"cmd/yima/root.go", []string{module + "/scan/node", module + "/scan/node/datadir", module + "/scan/client"}},
		{"bench/floor.go", []string{module + "/store"}},
		{"scan/backend.go", []string{module + "/reward"}},
		{"scan/server.go", []string{"github.com/valyala/fasthttp", module + "/reward"}},
		{"bench/client.go", []string{"github.com/valyala/fasthttp/fasthttputil"}},
		{"reward/engine.go", []string{module + "/store", module + "/codegen"}},
		{"codegen/keys.go", []string{module + "/codegen/internal/x", "crypto/hmac"}},
		{"codegen/printing/labels.go", []string{module + "/codegen", "github.com/go-pdf/fpdf"}},
		{"scan/handlers.go", []string{module + "/codegen/printing"}},
		{"cmd/yima/mint.go", []string{module + "/codegen/printing"}},
		{"cmd/yima/main.go", []string{module + "/scan"}},
	}
	if v := violations(files); len(v) != 0 {
		t.Fatalf("allowed imports reported: %v", v)
	}
	for _, bad := range []fileImports{
		{"reward/x.go", []string{"github.com/cockroachdb/pebble/v2"}},
		{"store/x.go", []string{"github.com/cockroachdb/pebble/v2"}},
		{"store/memstore/x.go", []string{"github.com/cockroachdb/pebble/v2/vfs"}},
		{"reward/x.go", []string{module + "/store/pebblestore"}},
		{"reward/x.go", []string{module + "/store/pgstore"}},
		{"scan/x.go", []string{module + "/store/pebblestore"}},
		{"scan/client/x.go", []string{module + "/store/pebblestore"}},
		{"scan/x.go", []string{module + "/store/pgstore"}},
		{"cmd/yima/x.go", []string{module + "/store/pebblestore"}},
		{"cmd/yima/x.go", []string{module + "/store/pgstore"}},
		{"bench/x.go", []string{module + "/store/pebblestore"}},
		{"scan/x.go", []string{module + "/cmd/yima"}},
		{"scan/node/x.go", []string{module + "/bench"}},
		{"store/pebblestore/x.go", []string{module + "/codegen/printing"}},
		{"reward/x.go", []string{module + "/store/memstore"}},
		{"scan/x.go", []string{module + "/store/memstore"}},
		{"scan/x.go", []string{"github.com/cockroachdb/pebble/v2/vfs"}},
		{"x.go", []string{"github.com/cockroachdb/pebble"}},
		{"reward/x.go", []string{"github.com/valyala/fasthttp"}},
		{"cmd/yima/x.go", []string{"github.com/valyala/fasthttp/fasthttpadaptor"}},
		{"store/x.go", []string{module + "/reward"}},
		{"store/sub/x.go", []string{module + "/scan"}},
		{"store/x.go", []string{module + "/codegen"}},
		{"reward/x.go", []string{module + "/scan"}},
		{"reward/x.go", []string{module + "/bench"}},
		{"codegen/x.go", []string{module + "/store"}},
		{"codegen/x.go", []string{module + "/reward"}},
		{"codegen/x.go", []string{module + "/docs"}},
		{"codegen/x.go", []string{module + "/internal/anything"}},
		{"codegen/x.go", []string{module}},
		{"codegen/x.go", []string{module + "/codegen/printing"}},
		{"reward/x.go", []string{module + "/codegen/printing"}},
		{"bench/x.go", []string{module + "/codegen/printing"}},
	} {
		if v := violations([]fileImports{bad}); len(v) != 1 {
			t.Errorf("%s importing %s: got %d violations, want 1", bad.path, bad.imports[0], len(v))
		}
	}
	// A name that merely starts like a forbidden one is not under it.
	if v := violations([]fileImports{{"reward/x.go", []string{module + "/scanner"}}}); len(v) != 0 {
		t.Errorf("%s/scanner taken for %s/scan: %v", module, module, v)
	}
}

// violations applies every rule to files: one line a forbidden import,
// with every rule it breaks.
func violations(files []fileImports) []string {
	var out []string
	for _, f := range files {
		dir := path.Dir(f.path)
		for _, imp := range f.imports {
			var why []string
			for _, r := range importRules {
				if under(imp, r.pkg) && !slices.ContainsFunc(r.allowed, func(a string) bool { return under(dir, a) }) {
					why = append(why, fmt.Sprintf("only %s may import it: %s", strings.Join(r.allowed, ", "), r.why))
				}
			}
			for _, r := range contractRules {
				if under(dir, r.folder) && strings.HasPrefix(imp, module+"/store/") &&
					!slices.ContainsFunc(r.except, func(e string) bool { return under(dir, e) }) {
					why = append(why, r.why)
				}
			}
			for _, r := range flowRules {
				if f.dir() != r.folder {
					continue
				}
				bad := r.alone && under(imp, module) && !under(imp, module+"/"+r.folder)
				for _, p := range r.forbidden {
					bad = bad || under(imp, module+"/"+p)
				}
				if bad {
					why = append(why, r.why)
				}
			}
			if len(why) > 0 {
				out = append(out, fmt.Sprintf("%s imports %s (%s)", f.path, imp, strings.Join(why, "; ")))
			}
		}
	}
	return out
}

// under reports whether pkg is path or a package below it.
func under(pkg, path string) bool {
	return pkg == path || strings.HasPrefix(pkg, path+"/")
}

// parseImports reads the imports of every non-test .go file under root,
// skipping testdata, vendor, hidden and underscore directories as the go
// tool does, and nested modules.
func parseImports(t *testing.T, root string) []fileImports {
	t.Helper()
	fset := token.NewFileSet()
	var files []fileImports
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == root {
				return nil
			}
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		fi := fileImports{path: filepath.ToSlash(path)}
		for _, s := range f.Imports {
			p, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", path, s.Path.Value, err)
			}
			fi.imports = append(fi.imports, p)
		}
		files = append(files, fi)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
