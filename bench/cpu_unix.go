//go:build unix

package bench

import "syscall"

// ProcessCPU returns the CPU time (user+system) this process has used, in
// seconds, or NaN.
func ProcessCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nan
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
