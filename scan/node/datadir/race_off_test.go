//go:build !race

package datadir_test

const raceEnabled = false
