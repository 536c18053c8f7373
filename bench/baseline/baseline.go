package baseline

import (
	"fmt"
	"math"
	"strings"

	"github.com/yima-dev/yima/bench"
)

// The baselines, by the names `yima bench --baselines` takes.
const (
	Redis    = "redis"
	Postgres = "postgres"
)

// Names are every baseline, in the order a comparison runs them.
var Names = []string{Redis, Postgres}

// New starts the named baseline for a run of cfg's connections. It returns
// an error wrapping bench.ErrBaselineUnavailable when the baseline's server
// is not installed.
func New(name string, cfg bench.Config) (bench.Target, error) {
	cfg = cfg.Defaults()
	switch name {
	case Redis:
		return NewRedis(cfg.Conns, cfg.Timeout, cfg.Logger)
	case Postgres:
		return NewPostgres(cfg.Conns, cfg.Timeout, cfg.Logger)
	}
	return nil, fmt.Errorf("bench: no baseline %q; baselines are %s", name, strings.Join(Names, ", "))
}

// Lookup returns the named baselines for bench.Compare, in the order given,
// or an error naming one that does not exist, before anything runs.
func Lookup(names []string) ([]bench.Baseline, error) {
	out := make([]bench.Baseline, 0, len(names))
	for _, name := range names {
		switch name {
		case Redis, Postgres:
		default:
			return nil, fmt.Errorf("bench: no baseline %q; baselines are %s", name, strings.Join(Names, ", "))
		}
		out = append(out, bench.Baseline{Name: name, Start: func(cfg bench.Config) (bench.Target, error) { return New(name, cfg) }})
	}
	return out, nil
}

// nan is an unknown figure.
var nan = math.NaN()
