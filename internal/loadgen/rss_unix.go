//go:build unix && !linux

package loadgen

// maxRSSBytes is ru_maxrss as is: the BSDs and macOS report bytes (macOS)
// or kilobytes (the BSDs); this is only informational.
func maxRSSBytes(v int64) int64 { return v }
