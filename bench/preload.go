package bench

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
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
	Codes   int   `json:"codes"`
	Members int   `json:"members"`
	Records int64 `json:"records"`
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
}

// preloadMembers is how many codes each preloaded member redeemed.
const preloadMembers = 10

// preload fills the in-process server's store with n redeemed codes of a
// batch of their own, through the store's bulk load, and restarts the
// server on it. Unless fixed, the codes are redeemed under a campaign of
// their own in the example's shape (BenchCampaign, live for the 30 days
// the preload spreads its redemptions over), so that the store holds the
// coupons, daily counts and campaign counters a campaign's scans leave.
func (t *inProcess) preload(ctx context.Context, n int, fixed bool, progress func(string, ...any)) (*PreloadReport, error) {
	admin := t.node.Admin()
	spec := reward.BatchSpec{Product: Product + "-PRELOAD", Count: uint32(n), Points: new(int64(10)), Activate: true}
	if !fixed {
		now := time.Now()
		c := BenchCampaign("preload", reward.MaxBudget, reward.MaxBudget, now)
		c.Products = []string{spec.Product}
		c.StartsAt = now.AddDate(0, 0, -31).UTC().Truncate(time.Second)
		if _, err := t.node.Dir.Engine.ApplyCampaign(c); err != nil {
			return nil, fmt.Errorf("bench: applying the preload's campaign: %w", err)
		}
		spec.Points = nil
	}
	b, err := admin.CreateBatch(spec)
	if err != nil {
		return nil, fmt.Errorf("bench: minting the preload's %d codes: %w", n, err)
	}
	progress("preloading %s redeemed codes", thousands(int64(n)))
	start := time.Now()
	p, err := t.node.Dir.Preload(ctx, reward.PreloadSpec{Batch: b.Batch.ID, Codes: n, PerMember: preloadMembers, Members: "preload-"})
	if err != nil {
		return nil, err
	}
	rep := &PreloadReport{Codes: n, Members: p.Members, Records: p.Records, Bytes: p.Bytes, LoadSeconds: time.Since(start).Seconds()}
	// The run's Preloaded scans draw from these; computed, never stored.
	if t.preloaded, err = SignerCodes(n, func() (*codegen.Signer, error) { return t.node.Dir.Engine.Signer(b.Batch) }); err != nil {
		return nil, err
	}
	progress("restarting the server on %s redeemed codes", thousands(int64(n)))
	if err := t.restart(ctx, rep); err != nil {
		return nil, err
	}
	rep.StoreBytes = dirSize(t.dir)
	return rep, nil
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
	n, err := node.Open(node.Options{Dir: t.dir, Server: opts})
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
	if t.removeDir {
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
