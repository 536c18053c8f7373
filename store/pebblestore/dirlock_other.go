//go:build !unix

package pebblestore

// lockDir is a no-op where flock does not exist: Pebble's LOCK file is
// the only guard there.
func lockDir(string) (func(), error) { return func() {}, nil }
