// Package ratelimit decides whether a request may pass Tollgate's limits: smooth
// rate limits (GCRA, the leaky bucket kept as one "theoretical arrival time" per
// key) and concurrency limits (at most N holders of a key at once).
//
// Local keeps its state in memory for a single process; Redis keeps it in one
// Redis server so that every replica shares it; Failover puts a fallback behind
// Redis for when the server cannot be reached. All of them apply several rules
// all or nothing: a request is charged to every rule or to none.
//
// Time is counted in whole microseconds plus an exact remainder of the
// emission interval (see span), so both backends make the very same decisions
// and a limit of a billion units per millisecond loses nothing to rounding.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Rule is one smooth limit (GCRA, equivalently a leaky bucket) on one key:
// Limit units per Period, with a bucket of Burst units (0 means Burst = Limit),
// and Cost units asked for by this request.
//
// Period must be a whole number of microseconds, at most 7 days; Limit at most
// 1e12; Burst × Period / Limit at most about 35 years. A Key should always be
// used with the same Limit, Period and Burst.
type Rule struct {
	Key    string
	Limit  int64
	Period time.Duration
	Burst  int64
	Cost   int64
}

// Result is the state of one rule after a decision.
type Result struct {
	Limit      int64         // Burst actually (the bucket size a client sees as its limit)
	Remaining  int64         // units still available right now after this decision (>= 0)
	Reset      time.Duration // time until the bucket is full again
	RetryAfter time.Duration // when denied: time until Cost would fit; 0 when allowed
}

// Decision says whether every rule admitted the request.
type Decision struct {
	Allowed    bool
	Results    []Result      // one per rule, same order
	Denied     int           // index of the first rule that refused, -1 when allowed
	RetryAfter time.Duration // the largest RetryAfter among refusing rules
	Impossible bool          // some rule's Cost exceeds its Burst: it can never be admitted
}

// Slot is one concurrency limit: at most Limit holders of Key at once.
type Slot struct {
	Key   string
	Limit int64
}

// Limiter is implemented by Local, Redis and Failover.
type Limiter interface {
	// Take admits the request only if every rule has room for its Cost, and then charges all of
	// them; otherwise it charges none (all or nothing, atomically, also across processes for Redis).
	Take(ctx context.Context, rules []Rule) (Decision, error)
	// Charge adds each rule's Cost without checking (negative Cost refunds, never below an empty bucket).
	// Used after a call to correct a token estimate to the real count.
	Charge(ctx context.Context, rules []Rule) error
	// Acquire takes one slot on each of slots for holder, all or none. A holder that never releases
	// (crashed process) loses its slot after lease. Decision.Results: Limit/Remaining per slot; Denied index.
	Acquire(ctx context.Context, slots []Slot, holder string, lease time.Duration) (Decision, error)
	// Release gives back holder's slots (idempotent).
	Release(ctx context.Context, slots []Slot, holder string) error
}

var (
	_ Limiter = (*Local)(nil)
	_ Limiter = (*Redis)(nil)
	_ Limiter = (*Failover)(nil)
)

// ErrInvalid is wrapped by every error about a malformed Rule or Slot. Such
// errors come from configuration, not from the store, so Failover passes them
// through instead of treating the store as down.
var ErrInvalid = errors.New("ratelimit: invalid")

func invalid(what string, i int, key, format string, args ...any) error {
	return fmt.Errorf("%w %s %d (%q): %s", ErrInvalid, what, i, key, fmt.Sprintf(format, args...))
}

// allowed is the decision for an empty list of rules or slots.
func allowed(n int) Decision {
	return Decision{Allowed: true, Denied: -1, Results: make([]Result, n)}
}

// checkSlots validates an Acquire or Release and returns the lease in whole
// milliseconds, the resolution of the Redis sorted sets.
func checkSlots(slots []Slot, holder string, lease time.Duration, acquire bool) (int64, error) {
	if holder == "" {
		return 0, fmt.Errorf("%w: empty holder", ErrInvalid)
	}
	if acquire && lease < time.Millisecond {
		return 0, fmt.Errorf("%w: lease %v is shorter than a millisecond", ErrInvalid, lease)
	}
	for i, s := range slots {
		if s.Key == "" {
			return 0, invalid("slot", i, s.Key, "empty key")
		}
		if acquire && s.Limit <= 0 {
			return 0, invalid("slot", i, s.Key, "Limit %d is not positive", s.Limit)
		}
		for _, o := range slots[:i] {
			if o.Key == s.Key {
				return 0, invalid("slot", i, s.Key, "key appears twice")
			}
		}
	}
	return int64((lease + time.Millisecond - 1) / time.Millisecond), nil
}
