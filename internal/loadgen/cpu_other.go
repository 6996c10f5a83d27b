//go:build !unix

package loadgen

import "time"

// ProcessCPU is unavailable on this platform: it reports 0, and CPU per
// request reads 0.
func ProcessCPU() time.Duration { return 0 }

// PeakRSS is unknown on this platform.
func PeakRSS() int64 { return 0 }
