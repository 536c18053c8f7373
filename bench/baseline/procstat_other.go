//go:build !linux

package baseline

// treeCPU is unknown off Linux.
func treeCPU(int) float64 { return nan }
