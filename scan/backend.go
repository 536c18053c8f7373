package scan

import "github.com/yima-dev/yima/reward"

// Backend is what a Server serves: the reward engine and the parts of the
// data directory a request reaches. Package scan opens nothing itself;
// scan/node builds a Backend from an open data directory.
type Backend struct {
	// Engine decides every request against the store.
	Engine *reward.Engine
	// AdminToken is the admin's secret; a bearer token equal to it may do
	// anything. Empty: there is none, and admins hold token records of
	// role admin (a cluster's nodes, which share them).
	AdminToken string
	// PageKey, when set, is the secret the pages' cookies and form tokens
	// are keyed from; every node of a cluster is given the same, so that a
	// page one node served works on another. Empty: the admin token's
	// hash, which a single machine's restarts keep.
	PageKey []byte
	// Dir reloads the keyset file and writes backups.
	Dir DataDir
}

// DataDir is what the service does with the data directory beside
// deciding: put a rotated keyset in use, write a backup.
type DataDir interface {
	// ReloadKeys puts the keyset file in use when it changed on disk and
	// reports whether it did; on error the keys in use stay.
	ReloadKeys() (changed bool, err error)
	// Backup writes a restorable copy of the data directory into dest,
	// which must not exist.
	Backup(dest string) error
	// Err is the storage failure that stopped the store, if any, or
	// store.ErrBusy while a shared database does not answer (the node
	// waits for it): the health check answers 503 with it.
	Err() error
}
