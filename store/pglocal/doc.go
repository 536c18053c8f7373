// Package pglocal finds the PostgreSQL server programs installed on this
// machine, the user to run them as and a directory that user owns, and a
// free loopback port for a server. Both places that make a
// throwaway PostgreSQL cluster with initdb use it: the test database of
// store/pgstore/pgtest and the PostgreSQL baseline of `yima bench
// --compare` (bench/baseline, whose Redis takes its port here too). It
// imports nothing of yima, so each may import it without breaking the
// import rules.
package pglocal
