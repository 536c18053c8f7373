//go:build !linux

package bench

// treeCPU is unknown off Linux.
func treeCPU(int) float64 { return nan }
