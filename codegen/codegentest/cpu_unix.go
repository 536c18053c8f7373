//go:build unix

package codegentest

import (
	"syscall"
	"time"
)

// ProcessCPU is this process's user and system CPU time. Benchmarks report
// it per code or per scan: on a machine shared with other work, CPU time per
// operation says what it costs when wall time does not.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
