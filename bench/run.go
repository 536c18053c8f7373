package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/pprof"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// ErrAuditFailed is returned by Run, with the report, when the audit found a
// violation or could not finish.
var ErrAuditFailed = errors.New("bench: AUDIT FAILED")

// Run measures a target under cfg's load and audits the result:
//
//  1. start the target (a server in-process on a fresh temporary data
//     directory, unless cfg names one);
//  2. the ceiling: the same load against /healthz (skipped with NoCeiling);
//  3. mint and activate enough fresh codes for the run;
//  4. the landing page: the same load against GET /C/{code} of genuine
//     codes kept apart from the scans' (skipped with NoLanding);
//  5. the scan phase, between two samples of the server's counters, then
//     the durable floor, in-process only (skipped with NoFloor);
//  6. the audit.
//
// It returns the report whenever the scan phase ran, with ErrAuditFailed
// (wrapped) when the audit failed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	mix, err := NewMix(cfg.Mix, cfg.Contenders)
	if err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = newSeed()
	}

	t := cfg.Target
	if t == nil {
		switch {
		case cfg.TargetURL != "":
			t, err = NewRemote(cfg.TargetURL, cfg.Token, cfg.Conns, cfg.Timeout)
		case cfg.PreloadDir != "":
			t, err = openKept(&cfg)
		default:
			t, err = NewCluster(cfg.Dir, cfg.Store, cfg.KEK, cfg.Lanes, max(cfg.Nodes, 1), cfg.Conns, cfg.Timeout, cfg.Logger, cfg.WebhookSlow > 0)
		}
		if err != nil {
			return nil, err
		}
	}
	defer t.Close()

	r := &Report{
		Target: t.Name(), Started: time.Now().UTC(), Loop: "closed", Conns: cfg.Conns,
		Duration: cfg.Duration.Seconds(), Requests: cfg.Requests, Rate: cfg.Rate,
		Mix: mix.Shares(), Contenders: cfg.Contenders, Members: cfg.Members, Seed: cfg.Seed,
	}
	if cfg.Rate > 0 {
		r.Loop = "open"
	}
	if cfg.Requests > 0 {
		r.Duration = 0
	}
	run := newRunID()
	members := memberIDs(run, cfg.Members)

	if cfg.Preload > 0 {
		pt, ok := t.(*inProcess)
		if !ok {
			return nil, fmt.Errorf("bench: --preload needs the in-process server, not %s", t.Name())
		}
		if r.Preload, err = pt.preload(ctx, cfg.Preload, cfg.FixedPoints, func(format string, args ...any) { status(cfg.Progress, format, args...) }); err != nil {
			return nil, err
		}
		r.Target = t.Name()
	}

	// The ceiling: the same conns and length, closed loop, /healthz only.
	if !cfg.NoCeiling {
		hmix, _ := NewMix([]Share{{Health, 1}}, cfg.Contenders)
		ceil := &phase{name: "healthz", target: t, mix: hmix, conns: cfg.Conns, duration: cfg.Duration,
			requests: cfg.Requests, seed: cfg.Seed ^ 0xce11, progress: cfg.Progress}
		ph, _ := ceil.run(ctx)
		r.Ceiling = &ph
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if cfg.Rate > 0 {
			r.Notes = append(r.Notes, "the ceiling and the floor are closed loops (the most answers the conns get), not the offered rate")
		}
	}

	n := codesNeeded(cfg, r.Ceiling)
	lt, ok := t.(interface{ hasLanding() bool })
	landing := ok && lt.hasLanding() && !cfg.NoLanding
	if landing {
		n = min(n+landingCodes, codegen.MaxSerial)
	}
	setup := newSetup(&cfg, run, members, n, time.Now())
	if setup.Campaign != nil {
		status(cfg.Progress, "applying campaign %s, creating %d guides, binding %s members, minting %s codes",
			setup.Campaign.ID, len(setup.Guides), thousands(int64(len(setup.Bindings))), thousands(int64(n)))
	} else {
		status(cfg.Progress, "minting %s codes", thousands(int64(n)))
	}
	codes, err := t.Prepare(ctx, setup)
	if err != nil {
		return nil, err
	}
	r.Codes = codes.Len()
	r.Campaign, r.Guides, r.Bound = setup.Campaign, len(setup.Guides), len(setup.Bindings)

	if landing && codes.Len() > landingCodes {
		// The last codes are the landing page's: a view counts as a scan
		// of its code, so the scans must not meet them.
		scanCodes := codeRange{codes, 0, codes.Len() - landingCodes}
		lmix, _ := NewMix([]Share{{Landing, 1}}, cfg.Contenders)
		lp := &phase{name: "landing", target: t, mix: lmix, codes: codeRange{codes, scanCodes.n, landingCodes},
			conns: cfg.Conns, duration: cfg.Duration, requests: cfg.Requests, seed: cfg.Seed ^ 0x1a4d, progress: cfg.Progress}
		ph, _ := lp.run(ctx)
		r.Landing = &ph
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if r.Ceiling != nil && r.Ceiling.Rate > 0 {
			r.LandingRatio = ph.Rate / r.Ceiling.Rate
		}
		codes = scanCodes
	}

	var recv *slowReceiver
	if cfg.WebhookSlow > 0 {
		wa, ok := t.(webhookAdder)
		if !ok {
			return nil, errNoWebhooks
		}
		recv, err = startSlowReceiver(cfg.WebhookSlow)
		if err != nil {
			return nil, err
		}
		defer recv.close()
		if err := wa.addWebhook(recv.url); err != nil {
			return nil, fmt.Errorf("bench: registering the slow webhook endpoint: %w", err)
		}
		r.Webhook = &WebhookRun{Slow: cfg.WebhookSlow.Seconds()}
		status(cfg.Progress, "webhook endpoint %s answers each delivery after %s", recv.url, cfg.WebhookSlow)
	}

	var old Codes
	if pt, ok := t.(*inProcess); ok {
		old = pt.preloaded
	}
	p := &phase{name: "scans", target: t, mix: mix, codes: codes, old: old, members: members, guides: setup.Guides, runID: run,
		conns: cfg.Conns, duration: cfg.Duration, requests: cfg.Requests, rate: cfg.Rate, seed: cfg.Seed, progress: cfg.Progress}
	before, err := t.Stats(ctx)
	if err != nil {
		r.Notes = append(r.Notes, "server counters before the run not read: "+err.Error())
	}
	clientBefore := ProcessCPU()
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("bench: starting the CPU profile: %w", err)
		}
	}
	var obs *Observations
	func() {
		if cfg.CPUProfile != nil {
			defer pprof.StopCPUProfile()
		}
		r.Scans, obs = p.run(ctx)
	}()
	obs.Campaign = setup.Campaign
	if recv != nil {
		r.Webhook.Received = recv.received.Load()
	}
	r.CodesUsed = min(p.codeNext.Load(), int64(codes.Len()))
	clientCPU := ProcessCPU() - clientBefore
	// What follows reads what the load did, so it runs even after an
	// interrupt.
	actx := context.WithoutCancel(ctx)
	after, err := t.Stats(actx)
	if err != nil {
		r.Notes = append(r.Notes, "server counters after the run not read: "+err.Error())
	}
	r.Server = usage(before, after, clientCPU, &r.Scans)
	if _, ok := t.(*inProcess); ok {
		r.ResidentMemory = ResidentMemory()
	}
	if r.Ceiling != nil && r.Ceiling.Rate > 0 {
		r.CeilingRatio = r.Scans.Rate / r.Ceiling.Rate
	}
	if p.exhausted.Load() {
		r.Notes = append(r.Notes, fmt.Sprintf("the run used up its %s minted codes and stopped early; give --requests, or a shorter --duration", thousands(int64(codes.Len()))))
	}
	if ctx.Err() != nil {
		r.Notes = append(r.Notes, "interrupted: the figures cover the run until then")
	}
	if failed := failures(&r.Scans); failed > 0 && float64(failed) > 0.01*float64(r.Scans.Requests) {
		r.Notes = append(r.Notes, fmt.Sprintf("%s of %s requests (%.1f%%) got a 5xx or no answer: the rate measures failures as much as work",
			thousands(failed), thousands(r.Scans.Requests), 100*float64(failed)/float64(r.Scans.Requests)))
	}
	if f, ok := t.(interface{ Failures() []string }); ok {
		r.Notes = append(r.Notes, f.Failures()...)
	}

	// The floor: the same load, each request one synced key (or
	// FloorRecords) through the same store and nothing else. It runs after the scans so that its keys
	// do not weigh on their measurement; an interrupted run skips it and
	// goes on to the audit.
	ft, ok := t.(interface{ hasFloor() bool })
	hasFloor := ok && ft.hasFloor()
	if !hasFloor && !cfg.NoFloor && cfg.TargetURL != "" {
		r.Notes = append(r.Notes, "no floor run: it needs the in-process server, whose store the floor handler writes to")
	}
	if hasFloor && !cfg.NoFloor && ctx.Err() == nil {
		t.(interface{ setFloorRecords(int) }).setFloorRecords(cfg.FloorRecords)
		r.FloorRecords = cfg.FloorRecords
		fmix, _ := NewMix([]Share{{Floor, 1}}, cfg.Contenders)
		fl := &phase{name: "floor", target: t, mix: fmix, conns: cfg.Conns, duration: cfg.Duration,
			requests: cfg.Requests, seed: cfg.Seed ^ 0xf100, progress: cfg.Progress}
		cpu := ProcessCPU()
		if ph, _ := fl.run(ctx); ctx.Err() == nil {
			r.Floor = &ph
			if ph.Requests > 0 && !math.IsNaN(cpu) {
				r.FloorCPUPerRequest = (ProcessCPU() - cpu) / float64(ph.Requests) * 1e6
			}
			if r.Ceiling != nil && r.Ceiling.Rate > 0 {
				r.FloorRatio = ph.Rate / r.Ceiling.Rate
			}
		}
	}

	status(cfg.Progress, "auditing %s winners and %s members", thousands(int64(len(obs.Wins))), thousands(int64(len(obs.Members))))
	r.Audit = Audit(actx, obs, t, AuditOptions{Conns: cfg.AuditConns, MaxCodes: cfg.AuditCodes, Seed: cfg.Seed, NoServerAudit: cfg.NoServerAudit})
	status(cfg.Progress, "")
	if !r.Audit.Passed {
		return r, fmt.Errorf("%w: %d violations, %d failed lookups (see the report)", ErrAuditFailed, r.Audit.ViolationCount, len(r.Audit.Errors))
	}
	return r, nil
}

// codesNeeded is how many fresh codes to mint: every request uses at most
// one, so a run of N requests needs N; a timed run needs what the fastest
// plausible scan rate would use — the ceiling's rate, or for an open loop
// the offered rate — with room to spare. Each connection may hold a chunk
// it has not used.
func codesNeeded(cfg Config, ceiling *Phase) int {
	slack := float64(cfg.Conns*codeChunk + 1000)
	var n float64
	switch {
	case cfg.Requests > 0:
		n = float64(cfg.Requests)
	case cfg.Rate > 0:
		n = cfg.Rate * cfg.Duration.Seconds() * 1.1
	case ceiling != nil && ceiling.Rate > 0:
		n = ceiling.Rate * cfg.Duration.Seconds() * 1.5
	default:
		n = 200_000 * cfg.Duration.Seconds()
	}
	return int(math.Min(n+slack, codegen.MaxSerial))
}

// landingCodes is how many of the run's codes the landing phase opens.
const landingCodes = 1024

// codeRange is n codes of c from the off-th.
type codeRange struct {
	c      Codes
	off, n int
}

func (r codeRange) Len() int          { return r.n }
func (r codeRange) Code(i int) string { return r.c.Code(r.off + i) }

// failures counts a phase's answers that were 5xx or none.
func failures(ph *Phase) int64 {
	var n int64
	for _, res := range ph.Results {
		if res.Status == 0 || res.Status >= 500 {
			n += res.Count
		}
	}
	return n
}

// newSeed draws a seed below 2^53, so that the JSON report's seed survives
// a float64.
func newSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])>>11 | 1
}

// status rewrites the progress line, if there is one.
func status(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "\r\033[K"+format, args...)
	}
}
