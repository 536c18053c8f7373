package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"
)

// writeZip writes an archive of the named files, each holding its name.
func writeZip(t *testing.T, path string, names ...string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(n))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// unzip makes the directory whole or not at all, and never writes outside
// it.
func TestUnzip(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a.zip"), filepath.Join(dir, "images")
	writeZip(t, src, "1-A.png", "2-B.png")
	if err := unzip(src, dst); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"1-A.png", "2-B.png"} {
		if b, err := os.ReadFile(filepath.Join(dst, n)); err != nil || string(b) != n {
			t.Fatalf("%s: %q, %v", n, b, err)
		}
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatalf("the archive is still there: %v", err)
	}

	src, dst = filepath.Join(dir, "b.zip"), filepath.Join(dir, "bad")
	writeZip(t, src, "1-A.png", "../escape.png")
	if err := unzip(src, dst); err == nil {
		t.Fatal("an archive with ../escape.png was extracted")
	}
	for _, p := range []string{dst, filepath.Join(dir, "escape.png")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s exists after a refused archive: %v", p, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".bad.part*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
