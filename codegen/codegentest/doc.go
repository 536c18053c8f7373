// Package codegentest builds the keys the tests of codes and of printing
// share: a fresh keyset made at a fixed time, so that what it signs does
// not depend on the clock. It is the one place that constructor lives for
// codegen and the packages under it.
package codegentest
