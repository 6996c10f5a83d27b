package loadgen

// maxRSSBytes converts ru_maxrss, which Linux reports in kilobytes.
func maxRSSBytes(v int64) int64 { return v * 1024 }
