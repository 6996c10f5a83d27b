package ratelimit

import "time"

// PinClock makes r's scripts use now instead of the server's clock, so that
// tests can hold Redis and Local to the same instants.
func PinClock(r *Redis, now func() time.Time) { r.now = now }

// Entries is how many keys l remembers.
func Entries(l *Local) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tats) + len(l.slots)
}

// SetProbe changes how often f retries its primary while it is down.
func SetProbe(f *Failover, d time.Duration) { f.probe = d }
