//go:build !unix

package bench

// ProcessCPU is unknown on this platform.
func ProcessCPU() float64 { return nan }
