package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/bench"
)

// TestPreloadDirReusesTheStore: with PreloadDir, a first run fills a store
// of its own under it and marks it filled; a second run opens that store
// instead of filling it again (the same batch, the fill's figures), and
// its scans, floor and audit (the server's own included) run on it as on a
// fresh one. The empty store's run makes its temporary store under
// PreloadDir and removes it.
func TestPreloadDirReusesTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads a store and loads it for a second, twice")
	}
	dir := t.TempDir()
	kept := filepath.Join(dir, "2k-fixed")
	// A fifth of the requests scan a preloaded code, as in TestRunPreload.
	cfg := bench.Config{Preload: 2_000, PreloadDir: dir, FixedPoints: true, Duration: time.Second, Conns: 4, Members: 20,
		NoCeiling: true, NoLanding: true, FloorRecords: 3, PreloadedScans: 0.2}

	first := mustRun(t, cfg)
	p := first.Preload
	if p == nil || p.Reused || p.Kept != kept || p.Codes != 2_000 || p.Batch == 0 || p.Records == 0 || p.Filled.IsZero() {
		t.Fatalf("the first run's preload: %+v; want a fill kept in %s", p, kept)
	}
	if _, err := os.Stat(filepath.Join(kept, "preload.json")); err != nil {
		t.Fatalf("the filled store has no marker: %v", err)
	}

	second := mustRun(t, cfg)
	q := second.Preload
	if q == nil || !q.Reused || q.Kept != kept || q.Batch != p.Batch || q.Records != p.Records || q.LoadSeconds != p.LoadSeconds || !q.Filled.Equal(p.Filled) {
		t.Fatalf("the second run's preload: %+v; want the first's store reused (%+v)", q, p)
	}
	if q.ReadySeconds <= 0 || q.SeenSeconds < q.ReadySeconds || q.RSSAfterRestart <= 0 || q.StoreBytes == 0 {
		t.Fatalf("restart on the reused store not measured: %+v", q)
	}
	if !second.Audit.Passed || second.Audit.ServerAudit != "clean" || second.Audit.Winners == 0 {
		t.Fatalf("audit on the reused store: %+v", second.Audit)
	}
	if second.Floor == nil || second.Floor.Requests == 0 {
		t.Errorf("no floor run on the reused store: %+v", second.Floor)
	}
	checkPreloadedRefused(t, second, "the reused store")
	var text bytes.Buffer
	second.WriteText(&text)
	if !strings.Contains(text.String(), "preload reused: the store kept in "+kept) {
		t.Errorf("the report does not say the store was reused:\n%s", text.String())
	}

	empty := mustRun(t, bench.Config{PreloadDir: dir, FixedPoints: true, Requests: 200, Conns: 4, Members: 20, NoCeiling: true, NoLanding: true, NoFloor: true})
	if empty.Preload != nil || !strings.Contains(empty.Target, "temporary data directory "+dir+string(filepath.Separator)) {
		t.Errorf("the empty store's run is on %q (preload %+v); want a temporary store under %s", empty.Target, empty.Preload, dir)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 || entries[0].Name() != "2k-fixed" {
		t.Errorf("left in the preload directory: %v (%v); want only the kept store", entries, err)
	}
}

// TestPreloadDirRefusesWhatItCannotReuse: a store whose fill did not finish
// (interrupted: no marker), a marker of another build or of another size
// are refused with a message that names the directory and what to do,
// and no run starts on them.
func TestPreloadDirRefusesWhatItCannotReuse(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads a store")
	}
	dir := t.TempDir()
	kept := filepath.Join(dir, "2k-fixed")
	cfg := bench.Config{Preload: 2_000, PreloadDir: dir, FixedPoints: true, Requests: 100, Conns: 4, Members: 20,
		NoCeiling: true, NoLanding: true, NoFloor: true, NoServerAudit: true}

	// A fill interrupted at its start leaves a store without its marker.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bench.Run(ctx, cfg); err == nil {
		t.Fatal("a run interrupted before its fill succeeded")
	}
	if _, err := os.Stat(filepath.Join(kept, "preload.json")); !os.IsNotExist(err) {
		t.Fatalf("an interrupted fill left a marker (%v)", err)
	}
	refused(t, cfg, kept, "did not finish")

	// Once filled for real, the store is marked; a marker of another
	// build or size is refused.
	if err := os.RemoveAll(kept); err != nil {
		t.Fatal(err)
	}
	mustRun(t, cfg)
	markerFile := filepath.Join(kept, "preload.json")
	good, err := os.ReadFile(markerFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"another build", func(m map[string]any) { m["build"] = "0123456789abcdef" }, "filled by another build of yima (0123456789abcdef; this one is sha256:"},
		{"another size", func(m map[string]any) { m["fill"].(map[string]any)["codes"] = 3_000 }, "holds 3,000 codes preloaded at fixed points, not the 2,000"},
		{"no marker", nil, "did not finish"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.edit == nil {
				os.Remove(markerFile)
			} else {
				var m map[string]any
				if err := json.Unmarshal(good, &m); err != nil {
					t.Fatal(err)
				}
				c.edit(m)
				raw, _ := json.Marshal(m)
				if err := os.WriteFile(markerFile, raw, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			refused(t, cfg, kept, c.want)
		})
	}
	// The marker as the fill wrote it is reused.
	if err := os.WriteFile(markerFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if rep := mustRun(t, cfg); rep.Preload == nil || !rep.Preload.Reused {
		t.Fatalf("the store with its marker restored was not reused: %+v", rep.Preload)
	}
}

// refused runs cfg and wants it refused, naming the kept store, saying
// want and how to fill it again.
func refused(t *testing.T, cfg bench.Config, kept, want string) {
	t.Helper()
	rep, err := bench.Run(context.Background(), cfg)
	if err == nil || rep != nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "remove "+kept+" to fill it again") {
		t.Fatalf("run on %s: report %v, error %v; want it refused: %q and how to fill it again", kept, rep != nil, err, want)
	}
}
