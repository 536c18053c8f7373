//go:build !unix

package codegentest

import "time"

// ProcessCPU is unknown here; the benchmarks' CPU metric reads 0.
func ProcessCPU() time.Duration { return 0 }
