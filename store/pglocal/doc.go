// Package pglocal finds the PostgreSQL server programs installed on this
// machine. Both places that make a throwaway PostgreSQL cluster with initdb
// use it: the test database of store/pgstore/pgtest and the PostgreSQL
// baseline of `yima bench --compare` (bench/baseline). It imports nothing of
// yima, so each may import it without breaking the import rules.
package pglocal
