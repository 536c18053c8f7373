package reward

import (
	"fmt"
	"time"
)

// DefaultTimeZone is the brand's time zone until it sets one (yima brand
// set --time-zone): the brands yima serves sell in China.
const DefaultTimeZone = "Asia/Shanghai"

// Zone is the brand's time zone: where statistics', flags' and daily
// limits' days begin, and how every page and message writes a date or a
// time. It is the stored setting (Brand.TimeZone), else Options.Zone,
// else DefaultTimeZone. The engine keeps it in memory, set by LoadZone
// and by SetBrand: a view valid for a single writer (another node's
// change shows here after LoadZone).
func (e *Engine) Zone() *time.Location { return e.zone.Load() }

// LoadZone reads the brand's stored time zone into the engine; the
// process that opens a store calls it once before serving.
func (e *Engine) LoadZone() error {
	b, err := e.Brand()
	if err != nil {
		return err
	}
	loc, err := e.zoneOf(b.TimeZone)
	if err != nil {
		return fmt.Errorf("reward: the brand's time zone %q is unknown here (%v): set another with yima brand set --time-zone", b.TimeZone, err)
	}
	e.zone.Store(loc)
	return nil
}

// zoneOf is the location a stored setting names: the fallback when
// unset.
func (e *Engine) zoneOf(name string) (*time.Location, error) {
	if name == "" {
		return e.defaultZone, nil
	}
	return time.LoadLocation(name)
}

// CheckTimeZone says what is wrong with the name of a brand's time zone,
// or nil: an IANA name, not the host's "Local".
func CheckTimeZone(name string) error {
	if _, err := time.LoadLocation(name); err != nil || name == "Local" || name == "" {
		return Errorf(CodeInvalidRequest, "time zone %q is not an IANA zone name such as Asia/Shanghai", name)
	}
	return nil
}
