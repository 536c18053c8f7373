package pglocal

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
)

// ErrNotInstalled is returned by Bin when no PostgreSQL is installed. Its
// callers add what the reader can do about it.
var ErrNotInstalled = errors.New("no initdb on PATH or under /usr/lib/postgresql/*/bin")

// Bin returns the directory holding initdb and postgres: from PATH, or
// Debian's /usr/lib/postgresql/VERSION/bin, the newest version.
func Bin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	if len(found) == 0 {
		return "", ErrNotInstalled
	}
	return filepath.Dir(found[len(found)-1]), nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a throwaway server to listen on.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
