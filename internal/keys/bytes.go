package keys

import "unsafe"

// stringBytes views s as bytes without copying. Callers only read the slice
// (CRC and SHA-256 never write to their input), which keeps the
// authentication hot path free of allocations.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
