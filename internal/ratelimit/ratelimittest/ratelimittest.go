// Package ratelimittest is the conformance suite every ratelimit.Limiter
// must pass, so that the in-process and the Redis limiters make the same
// decisions. Some tests sleep for real (refill, lease expiry) with short
// periods and tolerances derived from the time they measure.
package ratelimittest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

// Run runs the suite; newLimiter must return a limiter with no state.
func Run(t *testing.T, newLimiter func(t *testing.T) ratelimit.Limiter) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l ratelimit.Limiter)
	}{
		{"Burst", testBurst},
		{"Refill", testRefill},
		{"Headers", testHeaders},
		{"AllOrNothing", testAllOrNothing},
		{"ConcurrentTake", testConcurrentTake},
		{"ConcurrentAllOrNothing", testConcurrentAllOrNothing},
		{"Charge", testCharge},
		{"Impossible", testImpossible},
		{"InvalidRules", testInvalidRules},
		{"InvalidSlots", testInvalidSlots},
		{"Empty", testEmpty},
		{"SlotsLimit", testSlotsLimit},
		{"SlotsAllOrNothing", testSlotsAllOrNothing},
		{"SlotsLease", testSlotsLease},
		{"ConcurrentAcquire", testConcurrentAcquire},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newLimiter(t)) })
	}
}

func take(t *testing.T, l ratelimit.Limiter, rules ...ratelimit.Rule) ratelimit.Decision {
	t.Helper()
	d, err := l.Take(context.Background(), rules)
	if err != nil {
		t.Fatalf("Take(%+v): %v", rules, err)
	}
	if len(d.Results) != len(rules) {
		t.Fatalf("Take(%+v): %d results, want %d", rules, len(d.Results), len(rules))
	}
	if d.Allowed != (d.Denied == -1) {
		t.Fatalf("Take(%+v) = %+v: Allowed and Denied disagree", rules, d)
	}
	return d
}

func charge(t *testing.T, l ratelimit.Limiter, rules ...ratelimit.Rule) {
	t.Helper()
	if err := l.Charge(context.Background(), rules); err != nil {
		t.Fatalf("Charge(%+v): %v", rules, err)
	}
}

func acquire(t *testing.T, l ratelimit.Limiter, holder string, lease time.Duration, slots ...ratelimit.Slot) ratelimit.Decision {
	t.Helper()
	d, err := l.Acquire(context.Background(), slots, holder, lease)
	if err != nil {
		t.Fatalf("Acquire(%+v, %q): %v", slots, holder, err)
	}
	if len(d.Results) != len(slots) {
		t.Fatalf("Acquire(%+v, %q): %d results, want %d", slots, holder, len(d.Results), len(slots))
	}
	return d
}

func release(t *testing.T, l ratelimit.Limiter, holder string, slots ...ratelimit.Slot) {
	t.Helper()
	if err := l.Release(context.Background(), slots, holder); err != nil {
		t.Fatalf("Release(%+v, %q): %v", slots, holder, err)
	}
}

// within fails unless lo <= got <= hi.
func within(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %v, want in [%v, %v]", what, got, lo, hi)
	}
}

// together runs n calls of fn at once and returns how many returned true.
func together(t *testing.T, n int, fn func(i int) (bool, error)) int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count int
		errs  []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			ok, err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				count++
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return count
}
