package bench

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node"
)

// PreloadReport is what filling the store before a run took (issue 18's
// growth runs): the bulk load of Codes redeemed codes, the store's size,
// and the restart after it: how long until the server listened, answered
// /healthz, and had loaded its index of scanned codes, and its memory.
type PreloadReport struct {
	Codes int `json:"codes"`
	// Batch is the id of the preload's batch.
	Batch   uint32 `json:"batch"`
	Members int    `json:"members"`
	Records int64  `json:"records"`
	// Bytes are the records' keys and values; StoreBytes the store's
	// files on disk after the load.
	Bytes      int64 `json:"record_bytes"`
	StoreBytes int64 `json:"store_bytes"`
	// LoadSeconds is the preload: deciding every code with the rules and
	// writing and ingesting the files.
	LoadSeconds float64 `json:"load_s"`
	// OpenSeconds is from the restart's start until the server listened;
	// ReadySeconds until it answered /healthz; SeenSeconds until its
	// index of scanned codes had loaded (scans are served before that,
	// reading the store for every code).
	OpenSeconds  float64 `json:"open_s"`
	ReadySeconds float64 `json:"ready_s"`
	SeenSeconds  float64 `json:"seen_index_s"`
	// RSSAfterRestart is the process's resident memory (VmRSS) once the
	// index had loaded, in bytes (Report.ResidentMemory is after the
	// scans).
	RSSAfterRestart int64 `json:"rss_after_restart"`
	// Kept is the directory --preload-dir keeps the store in; Reused is
	// true when this run found it filled by an earlier one (then the
	// figures of the load are that run's, filled at Filled).
	Kept   string    `json:"kept,omitempty"`
	Reused bool      `json:"reused,omitempty"`
	Filled time.Time `json:"filled,omitzero"`
}

// preloadMembers is how many codes each preloaded member redeemed.
const preloadMembers = 10

// preload fills the in-process server's store with n redeemed codes of a
// batch of their own, through the store's bulk load, and restarts the
// server on it. Unless fixed, the codes are redeemed under a campaign of
// their own in the example's shape (BenchCampaign, live for the 30 days
// the preload spreads its redemptions over), so that the store holds the
// coupons, daily counts and campaign counters a campaign's scans leave.
//
// In a store --preload-dir kept from an earlier run (t.kept), it finds
// that run's batch again instead of filling; in one it has just filled
// (t.keep), it writes the marker that lets later runs do so, once the
// fill and the restart are done.
func (t *inProcess) preload(ctx context.Context, n int, fixed bool, progress func(string, ...any)) (*PreloadReport, error) {
	var rep *PreloadReport
	var b *reward.Batch
	var err error
	if t.kept != nil {
		rep, b, err = t.reusePreload()
	} else {
		rep, b, err = t.fill(ctx, n, fixed, progress)
	}
	if err != nil {
		return nil, err
	}
	// The run's Preloaded scans draw from these; computed, never stored.
	if t.preloaded, err = SignerCodes(n, func() (*codegen.Signer, error) { return t.node.Dir.Engine.Signer(b) }); err != nil {
		return nil, err
	}
	progress("restarting the server on %s redeemed codes", thousands(int64(n)))
	if err := t.restart(ctx, rep); err != nil {
		return nil, err
	}
	if t.keep {
		rep.Filled = time.Now().UTC().Truncate(time.Second)
		if err := writePreloadMarker(t.dir.path, rep, !fixed); err != nil {
			return nil, err
		}
	}
	if t.keep || t.kept != nil {
		rep.Kept = t.dir.path
	}
	rep.StoreBytes = dirSize(t.dir.path)
	return rep, nil
}

// fill mints the preload's batch and bulk-loads its n redeemed codes.
func (t *inProcess) fill(ctx context.Context, n int, fixed bool, progress func(string, ...any)) (*PreloadReport, *reward.Batch, error) {
	admin := t.node.Admin()
	spec := reward.BatchSpec{Product: preloadProduct, Count: uint32(n), Points: new(int64(10)), Activate: true}
	if !fixed {
		now := time.Now()
		c := BenchCampaign("preload", reward.MaxBudget, reward.MaxBudget, now)
		c.Products = []string{spec.Product}
		c.StartsAt = now.AddDate(0, 0, -31).UTC().Truncate(time.Second)
		if _, err := t.node.Dir.Engine.ApplyCampaign(c); err != nil {
			return nil, nil, fmt.Errorf("bench: applying the preload's campaign: %w", err)
		}
		spec.Points = nil
	}
	b, err := admin.CreateBatch(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: minting the preload's %d codes: %w", n, err)
	}
	progress("preloading %s redeemed codes", thousands(int64(n)))
	start := time.Now()
	p, err := t.node.Dir.Preload(ctx, reward.PreloadSpec{Batch: b.Batch.ID, Codes: n, PerMember: preloadMembers, Members: "preload-"})
	if err != nil {
		return nil, nil, err
	}
	return &PreloadReport{Codes: n, Batch: b.Batch.ID, Members: p.Members, Records: p.Records, Bytes: p.Bytes,
		LoadSeconds: time.Since(start).Seconds()}, b.Batch, nil
}

// restart closes the node and opens it again on the same directory and
// address, timing how long until it serves.
func (t *inProcess) restart(ctx context.Context, rep *PreloadReport) error {
	addr := t.node.Addr()
	if t.floor != nil {
		t.floor.close()
		t.floor = nil
	}
	if err := t.node.Close(); err != nil {
		return fmt.Errorf("bench: closing the server to restart it: %w", err)
	}
	// What the preload allocated is garbage now: give it back, so that
	// the memory measured is the restarted server's.
	debug.FreeOSMemory()
	start := time.Now()
	opts := t.srvOpts
	opts.Addr = addr
	n, err := node.Open(node.Options{Dir: t.dir.path, Server: opts})
	if err != nil {
		return fmt.Errorf("bench: restarting the server: %w", err)
	}
	t.node = n
	rep.OpenSeconds = time.Since(start).Seconds()
	t.hc.CloseIdleConnections() // to the server before the restart
	for {
		status, _, err := t.getTimeout(ctx, "/healthz", "", time.Second)
		if err == nil && status == fasthttp.StatusOK {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	rep.ReadySeconds = time.Since(start).Seconds()
	select {
	case <-n.Dir.SeenLoaded():
	case <-ctx.Done():
		return ctx.Err()
	}
	rep.SeenSeconds = time.Since(start).Seconds()
	rep.RSSAfterRestart = ResidentMemory()
	if t.dir.own {
		if t.floor, err = startFloor(n.Dir.DB); err != nil {
			return err
		}
		t.floorURI = "http://" + t.floor.addr() + "/floor"
		t.floorHC.CloseIdleConnections()
		t.floorHC = loadClient(t.floor.addr(), false, t.hc.MaxConns, t.timeout)
	}
	return nil
}

// ResidentMemory is this process's resident set (VmRSS) in bytes, or 0
// where /proc does not tell.
func ResidentMemory() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// dirSize is the size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// preloadProduct is the product of the preload's batch.
const preloadProduct = Product + "-PRELOAD"

// preloadMarkerFile is the file in a store --preload-dir keeps that says
// its fill finished. It is written last, so a store without it (a fill
// interrupted, or still running) is never reused.
const preloadMarkerFile = "preload.json"

// preloadMarker is what a later run needs to find a kept store's preload
// again, and what that run must match.
type preloadMarker struct {
	// Build is the yima build that filled the store (see buildID): another
	// build may write other records than the ones in the store.
	Build    string `json:"build"`
	Campaign bool   `json:"campaign"`
	// Fill is what the fill reported: its codes, batch and load figures.
	Fill PreloadReport `json:"fill"`
}

// keptStoreDir is the directory in which --preload-dir dir keeps the store
// of n preloaded codes, at fixed points or under the preload's campaign:
// dir/50M-fixed, dir/250k-campaign.
func keptStoreDir(dir string, n int, fixed bool) string {
	workload := "campaign"
	if fixed {
		workload = "fixed"
	}
	return filepath.Join(dir, codesLabel(float64(n))+"-"+workload)
}

// openKept starts the in-process server of a run with cfg.PreloadDir: on
// the store kept there for cfg.Preload codes, to be filled or, when an
// earlier run filled it, reused; or for the empty store's run
// (cfg.Preload 0) on a temporary directory under it, so that the runs
// compared are on one disk.
func openKept(cfg *Config) (Target, error) {
	var dir dataDir
	var kept *preloadMarker
	var err error
	if cfg.Preload == 0 {
		if err = os.MkdirAll(cfg.PreloadDir, 0o700); err == nil {
			dir, err = tempDataDir(cfg.PreloadDir)
		}
	} else {
		dir = dataDir{path: keptStoreDir(cfg.PreloadDir, cfg.Preload, cfg.FixedPoints), own: true}
		kept, err = readPreloadMarker(dir.path, cfg.Preload, !cfg.FixedPoints)
	}
	if err != nil {
		return nil, err
	}
	t, err := newInProcess(dir, "", nil, 0, cfg.Conns, cfg.Timeout, cfg.Logger, cfg.WebhookSlow > 0)
	if err != nil {
		return nil, err
	}
	t.kept, t.keep = kept, kept == nil && cfg.Preload > 0
	return t, nil
}

// readPreloadMarker reads the marker of the store kept in dir for n codes
// (under the preload's campaign or not): nil when there is no store yet,
// an error when the store cannot be reused as it is.
func readPreloadMarker(dir string, n int, campaign bool) (*preloadMarker, error) {
	again := fmt.Sprintf("; remove %s to fill it again", dir)
	raw, err := os.ReadFile(filepath.Join(dir, preloadMarkerFile))
	if errors.Is(err, fs.ErrNotExist) {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("bench: --preload-dir: %w", err)
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("bench: %s holds a store whose preload did not finish (no %s: its fill was interrupted, or another run is filling it now)%s",
				dir, preloadMarkerFile, again)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bench: --preload-dir: %w", err)
	}
	var m preloadMarker
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("bench: %s is not a preload's marker (%v)%s", filepath.Join(dir, preloadMarkerFile), err, again)
	}
	build, err := buildID()
	switch {
	case err != nil:
		return nil, err
	case m.Fill.Codes != n || m.Campaign != campaign:
		return nil, fmt.Errorf("bench: %s holds %s codes preloaded %s, not the %s %s this run asks for%s",
			dir, thousands(int64(m.Fill.Codes)), workloadName(m.Campaign), thousands(int64(n)), workloadName(campaign), again)
	case m.Build != build:
		return nil, fmt.Errorf("bench: %s was filled by another build of yima (%s; this one is %s), whose records may differ: run the binary that filled it%s",
			dir, m.Build, build, again)
	}
	return &m, nil
}

func workloadName(campaign bool) string {
	if campaign {
		return "under a campaign"
	}
	return "at fixed points"
}

// writePreloadMarker marks the store in dir as filled with what rep
// reports, for later runs to reuse.
func writePreloadMarker(dir string, rep *PreloadReport, campaign bool) error {
	build, err := buildID()
	if err != nil {
		return err
	}
	m := preloadMarker{Build: build, Campaign: campaign, Fill: PreloadReport{Codes: rep.Codes, Batch: rep.Batch, Members: rep.Members,
		Records: rep.Records, Bytes: rep.Bytes, LoadSeconds: rep.LoadSeconds, Filled: rep.Filled}}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err == nil {
		err = codegen.WriteFileAtomic(filepath.Join(dir, preloadMarkerFile), append(raw, '\n'), 0o600)
	}
	if err != nil {
		return fmt.Errorf("bench: marking the store in %s as filled: %w", dir, err)
	}
	return nil
}

// reusePreload finds the preload of a store an earlier run filled: its
// batch, and the figures of its fill.
func (t *inProcess) reusePreload() (*PreloadReport, *reward.Batch, error) {
	rep := t.kept.Fill
	b, err := t.node.Dir.Engine.Batch(rep.Batch)
	if err == nil && (b.Product != preloadProduct || b.Count != uint32(rep.Codes)) {
		err = fmt.Errorf("it holds %s codes of %s", thousands(int64(b.Count)), b.Product)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bench: the preload's batch %d in %s: %w; remove that directory to fill it again", rep.Batch, t.dir.path, err)
	}
	rep.Reused = true
	return &rep, b, nil
}

// buildID names this program's build: the SHA-256 of its executable
// (the module's version says "(devel)" for every build from source, and
// builds here record no VCS revision). Computed once.
var buildID = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("bench: finding this program's executable, to tell its build: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("bench: reading this program's executable, to tell its build: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("bench: reading this program's executable, to tell its build: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
})
