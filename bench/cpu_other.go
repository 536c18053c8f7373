//go:build !unix

package bench

// processCPU is unknown on this platform.
func processCPU() float64 { return nan }
