package main

import (
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// tableOptions choose how a listing prints: an aligned table for people,
// or, with --json, the same records as the HTTP API's JSON, for scripts.
type tableOptions struct{ json bool }

func (o *tableOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "print JSON (the HTTP API's records) instead of a table")
}

// print writes v as JSON under --json, and otherwise runs table. An empty
// list is [] in JSON, never null.
func (o *tableOptions) print(w io.Writer, v any, table func()) error {
	if !o.json {
		table()
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		v = []struct{}{}
	}
	return printJSON(w, v)
}

// orEmpty is s, or an empty slice for nil: a list inside a record prints
// as [] in JSON, never null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pageOptions are a listing's --after and --limit: the lists that go on
// are read a page at a time.
type pageOptions struct {
	after string
	limit int
}

// addFlags registers --after and --limit (default 50) with the help
// texts that name what the list holds.
func (o *pageOptions) addFlags(fs *pflag.FlagSet, after, limit string) {
	fs.StringVar(&o.after, "after", "", after)
	fs.IntVar(&o.limit, "limit", 50, limit)
}

func (o *pageOptions) check() error {
	if o.limit < 1 || o.limit > reward.MaxPage {
		return usagef("--limit %d: give 1 to %d", o.limit, reward.MaxPage)
	}
	return nil
}

// printNext ends a page's table, when the list goes on, with what
// --after takes for the next page.
func printNext(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "more: --after %s\n", next)
	}
}

// setIfChanged points a change's field at the flag's value when the flag
// was given: a change leaves the fields of the flags not given as they are.
func setIfChanged[T any](fs *pflag.FlagSet, flag string, v *T, to **T) {
	if fs.Changed(flag) {
		*to = v
	}
}

// brandZone is the brand's time zone, the one its days, pages and messages
// use: where the server (or this process's engine) says it is, else the
// default. Tables show dates and times in it rather than in UTC.
func brandZone(a scan.Admin) *time.Location {
	if b, err := a.Brand(); err == nil {
		if loc, err := time.LoadLocation(b.TimeZoneInUse); err == nil {
			return loc
		}
	}
	if loc, err := time.LoadLocation(reward.DefaultTimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// zoned is a column header that names the zone its times are in.
func zoned(header string, loc *time.Location) string { return header + " (" + loc.String() + ")" }
