//go:build race

package datadir_test

// raceEnabled: the race detector makes each scan cost many times more, so
// tests that redeem hundreds of thousands of codes redeem fewer.
const raceEnabled = true
