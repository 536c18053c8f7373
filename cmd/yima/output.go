package main

import (
	"io"
	"reflect"

	"github.com/spf13/pflag"
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
