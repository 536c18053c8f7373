package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestServeRefusesADamagedLog: a data directory whose newest log was cut
// short after a run is refused by yima serve and yima audit, with a
// message that says how to recover; --accept-data-loss starts it once,
// and later starts need no flag.
func TestServeRefusesADamagedLog(t *testing.T) {
	data := newMinted(t, "--product", "SKU-A", "--count", "3", "--activate")
	mustYima(t, "mint", "--data", data, "--product", "SKU-B", "--count", "3", "--activate")
	logs, _ := filepath.Glob(filepath.Join(data, "db", "*.log"))
	if len(logs) == 0 {
		t.Fatal("no log")
	}
	slices.Sort(logs)
	fi, err := os.Stat(logs[len(logs)-1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(logs[len(logs)-1], fi.Size()/2); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"audit"}} {
		r := yima(t, append(args, "--data", data)...)
		if r.code != 1 {
			t.Fatalf("yima %s on a damaged log: %v, want exit 1", args[0], r)
		}
		for _, want := range []string{"damaged", "backup", "--accept-data-loss"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("yima %s: the message does not say %q: %s", args[0], want, r.stderr)
			}
		}
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv, err := tryServeAs(t, addr, nil, "serve", "--data", data, "--addr", addr, "--log-level", "warn", "--accept-data-loss")
	if err != nil {
		t.Fatalf("serve --accept-data-loss: %v", err)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(srv.stderr.String(), "accepting the loss") {
		t.Errorf("serve --accept-data-loss gave no warning: %s", srv.stderr)
	}
	srv = startServe(t, data)
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}
