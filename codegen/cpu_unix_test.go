//go:build unix

package codegen_test

import (
	"syscall"
	"time"
)

// processCPU is this process's user and system CPU time. Benchmarks report
// it per code: on a machine shared with other work, CPU time per code says
// what minting costs when wall time does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
