//go:build race

package scan

// raceEnabled: the race detector makes sync.Pool drop what is put back, so
// allocation counts mean nothing under it.
const raceEnabled = true
