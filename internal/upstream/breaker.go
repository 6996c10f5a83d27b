package upstream

import (
	"sync"
	"time"
)

// BreakerState is the state of a deployment's circuit breaker.
type BreakerState string

// Breaker states.
const (
	BreakerClosed   BreakerState = "closed"    // traffic flows
	BreakerOpen     BreakerState = "open"      // taken out after repeated failures
	BreakerHalfOpen BreakerState = "half_open" // one trial request allowed
)

// Breaker takes a failing deployment out of rotation: after Threshold
// consecutive failures it opens for Cooldown, then lets one trial request
// through; success closes it, failure opens it again.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	failures int
	openedAt time.Time
	state    BreakerState
	trial    bool // a half-open trial is in flight
}

// NewBreaker returns a closed breaker.
func NewBreaker(threshold int, cooldown time.Duration, now func() time.Time) *Breaker {
	if threshold <= 0 {
		threshold = 5
	}
	if cooldown <= 0 {
		cooldown = 30 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{Threshold: threshold, Cooldown: cooldown, now: now, state: BreakerClosed}
}

// Allow reports whether a request may go to the deployment now.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		if b.now().Sub(b.openedAt) < b.Cooldown {
			return false
		}
		b.state, b.trial = BreakerHalfOpen, true
		return true
	case BreakerHalfOpen:
		if b.trial {
			return false
		}
		b.trial = true
		return true
	}
	return true
}

// Success records a good response.
func (b *Breaker) Success() {
	b.mu.Lock()
	b.failures, b.state, b.trial = 0, BreakerClosed, false
	b.mu.Unlock()
}

// Failure records a failed attempt that counts against the deployment.
func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.state == BreakerHalfOpen || b.failures >= b.Threshold {
		b.state, b.openedAt, b.trial = BreakerOpen, b.now(), false
	}
}

// State returns the current state (open turns half-open once the cooldown
// has passed, at the next Allow).
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
