//go:build !unix

package codegen_test

import "time"

// processCPU is unknown here; the benchmarks' CPU metric reads 0.
func processCPU() time.Duration { return 0 }
