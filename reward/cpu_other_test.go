//go:build !unix

package reward_test

import "time"

// processCPU is unknown here; the benchmark's CPU metric reads 0.
func processCPU() time.Duration { return 0 }
