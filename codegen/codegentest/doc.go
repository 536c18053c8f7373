// Package codegentest holds what the tests and benchmarks of codes, of
// printing and of the rules share: a fresh keyset made at a fixed time, so
// that what it signs does not depend on the clock, and the process's CPU
// time, which benchmarks report per operation. It is the one place these
// live for codegen, the packages under it and reward.
package codegentest
