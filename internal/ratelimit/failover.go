package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Policy says what Failover does while its primary store is unreachable.
type Policy string

const (
	// FailClosed refuses requests with a KindUnavailable error: no limit is
	// ever exceeded, at the cost of an outage while the store is down.
	FailClosed Policy = "closed"
	// FailLocal answers from a per-process limiter: service goes on, but each
	// replica enforces the limits on its own, so the fleet may admit more.
	FailLocal Policy = "local"
)

// ParsePolicy reads a Policy from configuration.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case FailClosed, FailLocal:
		return p, nil
	}
	return "", fmt.Errorf("ratelimit: unknown failure policy %q (want %q or %q)", s, FailClosed, FailLocal)
}

// probeEvery is how often a Failover whose primary is down lets one call
// through to see whether it is back. In between, calls skip it, so an outage
// costs neither a connection attempt per request nor the latency of one.
const probeEvery = time.Second

// Failover is a Limiter that uses its primary (Redis) and, when that fails,
// follows its Policy. It logs one warning when the primary goes bad and one
// info line when it is back, however many requests pass in between.
type Failover struct {
	primary  Limiter
	fallback Limiter
	policy   Policy
	log      *slog.Logger
	probe    time.Duration

	down      atomic.Bool
	mu        sync.Mutex
	nextProbe time.Time // while down, when the next call may try the primary
}

// NewFailover returns a Failover. A nil log discards; an unknown policy, or
// FailLocal without a fallback, fails closed.
func NewFailover(primary Limiter, fallback Limiter, policy Policy, log *slog.Logger) *Failover {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if policy != FailLocal || fallback == nil {
		policy = FailClosed
	}
	return &Failover{primary: primary, fallback: fallback, policy: policy, log: log, probe: probeEvery}
}

// Take implements Limiter.
func (f *Failover) Take(ctx context.Context, rules []Rule) (Decision, error) {
	return call(f, ctx, func(l Limiter) (Decision, error) { return l.Take(ctx, rules) })
}

// Charge implements Limiter.
func (f *Failover) Charge(ctx context.Context, rules []Rule) error {
	_, err := call(f, ctx, func(l Limiter) (struct{}, error) { return struct{}{}, l.Charge(ctx, rules) })
	return err
}

// Acquire implements Limiter.
func (f *Failover) Acquire(ctx context.Context, slots []Slot, holder string, lease time.Duration) (Decision, error) {
	return call(f, ctx, func(l Limiter) (Decision, error) { return l.Acquire(ctx, slots, holder, lease) })
}

// Release implements Limiter. Under FailLocal it also releases on the
// fallback, which may have granted the slots during an outage that has
// since ended.
func (f *Failover) Release(ctx context.Context, slots []Slot, holder string) error {
	_, err := call(f, ctx, func(l Limiter) (struct{}, error) { return struct{}{}, l.Release(ctx, slots, holder) })
	if f.policy == FailLocal && err == nil {
		err = f.fallback.Release(ctx, slots, holder)
	}
	return err
}

// call runs op on the primary, or on behalf of the policy when the primary
// is down or fails.
func call[T any](f *Failover, ctx context.Context, op func(Limiter) (T, error)) (T, error) {
	var cause error
	if f.primary != nil && f.tryPrimary() {
		v, err := op(f.primary)
		if !f.failed(ctx, err) {
			return v, err
		}
		cause = err
	}
	if f.policy == FailLocal {
		return op(f.fallback)
	}
	var zero T
	return zero, &platform.Error{
		Kind:       platform.KindUnavailable,
		Message:    "the rate-limit store is unreachable; try again shortly",
		RetryAfter: time.Second,
		Err:        cause,
	}
}

// tryPrimary says whether this call should use the primary: always while it
// is up, and once per probe interval while it is down.
func (f *Failover) tryPrimary() bool {
	if !f.down.Load() {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if now.Before(f.nextProbe) {
		return false
	}
	f.nextProbe = now.Add(f.probe)
	return true
}

// failed records the primary's answer and reports whether it means the
// store is down. Invalid input and the caller's own cancelled context are
// the caller's errors, not the store's.
func (f *Failover) failed(ctx context.Context, err error) bool {
	if err == nil {
		if f.down.CompareAndSwap(true, false) {
			f.log.Info("ratelimit: the rate-limit store is reachable again")
		}
		return false
	}
	if errors.Is(err, ErrInvalid) || ctx.Err() != nil {
		return false
	}
	f.mu.Lock()
	f.nextProbe = time.Now().Add(f.probe)
	f.mu.Unlock()
	if f.down.CompareAndSwap(false, true) {
		f.log.Warn("ratelimit: the rate-limit store is unreachable", "policy", string(f.policy), "err", err)
	}
	return true
}
