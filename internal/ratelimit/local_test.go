package ratelimit_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
	"github.com/tollgate-dev/tollgate/internal/ratelimit/ratelimittest"
)

func TestLocal(t *testing.T) {
	ratelimittest.Run(t, func(*testing.T) ratelimit.Limiter { return ratelimit.NewLocal(nil) })
}

// clock is a fake time that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// drain takes rule until refused and returns how many passed.
func drain(t *testing.T, l ratelimit.Limiter, rule ratelimit.Rule) int {
	t.Helper()
	for n := 0; n < 1_000_000; n++ {
		d, err := l.Take(context.Background(), []ratelimit.Rule{rule})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			return n
		}
	}
	t.Fatalf("%+v admitted a million requests in a row", rule)
	return 0
}

// TestLocalExact holds the arithmetic to exact values on a fake clock, with
// emission intervals that are not whole microseconds.
func TestLocalExact(t *testing.T) {
	ctx := context.Background()
	t.Run("seven per second", func(t *testing.T) {
		c := newClock()
		l := ratelimit.NewLocal(c.Now)
		rule := ratelimit.Rule{Key: "k", Limit: 7, Period: time.Second, Cost: 1}
		if n := drain(t, l, rule); n != 7 {
			t.Fatalf("full bucket admitted %d, want 7", n)
		}
		d, _ := l.Take(ctx, []ratelimit.Rule{rule})
		if want := 142858 * time.Microsecond; d.RetryAfter != want {
			t.Errorf("RetryAfter = %v, want %v (one interval, rounded up)", d.RetryAfter, want)
		}
		// One microsecond short of a period, 6 intervals of 142857.14µs fit
		// and a seventh does not: rounding the interval down would admit 7.
		c.Add(time.Second - time.Microsecond)
		if n := drain(t, l, rule); n != 6 {
			t.Errorf("a period less 1µs later admitted %d, want 6", n)
		}
		// 1µs + 7 intervals is exactly 1µs past the tolerance.
		if d, _ := l.Take(ctx, []ratelimit.Rule{rule}); d.RetryAfter != time.Microsecond {
			t.Errorf("RetryAfter = %v, want 1µs", d.RetryAfter)
		}
		// Over a thousand periods nothing drifts: exactly 7 per second.
		total := 0
		for range 1000 {
			c.Add(time.Second)
			total += drain(t, l, rule)
		}
		if total != 7000 {
			t.Errorf("1000 periods admitted %d, want 7000", total)
		}
	})
	t.Run("a billion per millisecond", func(t *testing.T) {
		c := newClock()
		l := ratelimit.NewLocal(c.Now)
		rule := ratelimit.Rule{Key: "k", Limit: 1e9, Period: time.Millisecond, Cost: 999_999}
		// Each request costs 999.999ns: a thousand of them fit, leaving 1000 units.
		for i := range 1000 {
			if d, _ := l.Take(ctx, []ratelimit.Rule{rule}); !d.Allowed {
				t.Fatalf("request %d refused: %+v", i, d)
			}
		}
		rule.Cost = 1001
		d, _ := l.Take(ctx, []ratelimit.Rule{rule})
		if d.Allowed || d.Results[0].Remaining != 1000 || d.RetryAfter != time.Microsecond {
			t.Errorf("after 999,999,000 units: %+v, want refused with 1000 remaining, RetryAfter 1µs", d)
		}
		c.Add(time.Microsecond) // a million units more
		rule.Cost = 1_001_000
		if d, _ := l.Take(ctx, []ratelimit.Rule{rule}); !d.Allowed || d.Results[0].Remaining != 0 || d.Results[0].Reset != time.Millisecond {
			t.Errorf("1µs later: %+v, want allowed with 0 remaining and Reset 1ms", d)
		}
	})
	t.Run("debt is capped", func(t *testing.T) {
		c := newClock()
		l := ratelimit.NewLocal(c.Now)
		rule := ratelimit.Rule{Key: "k", Limit: 1, Period: time.Millisecond, Cost: math.MaxInt64}
		if err := l.Charge(ctx, []ratelimit.Rule{rule}); err != nil {
			t.Fatal(err)
		}
		rule.Cost = 1
		d, _ := l.Take(ctx, []ratelimit.Rule{rule})
		if years := d.RetryAfter.Hours() / 24 / 365; d.Allowed || years < 35 || years > 36 {
			t.Errorf("after charging MaxInt64: %+v, want refused for about 35.7 years", d)
		}
		rule.Cost = math.MinInt64
		if err := l.Charge(ctx, []ratelimit.Rule{rule}); err != nil {
			t.Fatal(err)
		}
		rule.Cost = 1
		if d, _ := l.Take(ctx, []ratelimit.Rule{rule}); !d.Allowed {
			t.Errorf("after refunding MinInt64: %+v, want allowed", d)
		}
	})
}

// TestLocalForgets checks that memory follows the keys in use: full buckets
// and expired slots are swept, both when the maps double and once a minute.
func TestLocalForgets(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	l := ratelimit.NewLocal(c.Now)
	for i := range 100_000 {
		// Each key is full again 1ms later; the clock moves 1ms a key.
		rule := ratelimit.Rule{Key: fmt.Sprint("rate", i), Limit: 1, Period: time.Millisecond, Cost: 1}
		if _, err := l.Take(ctx, []ratelimit.Rule{rule}); err != nil {
			t.Fatal(err)
		}
		slot := ratelimit.Slot{Key: fmt.Sprint("conc", i), Limit: 1}
		if _, err := l.Acquire(ctx, []ratelimit.Slot{slot}, "h", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Millisecond)
		if n := ratelimit.Entries(l); n > 2048 {
			t.Fatalf("after %d keys, %d entries remembered, want at most 2048", i+1, n)
		}
	}

	// Live keys stay; once idle, the minute sweep drops them.
	for i := range 5000 {
		rule := ratelimit.Rule{Key: fmt.Sprint("live", i), Limit: 1, Period: time.Hour, Cost: 1}
		if _, err := l.Take(ctx, []ratelimit.Rule{rule}); err != nil {
			t.Fatal(err)
		}
	}
	if n := ratelimit.Entries(l); n < 5000 {
		t.Fatalf("%d entries for 5000 live keys", n)
	}
	c.Add(2 * time.Hour)
	if err := l.Charge(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := ratelimit.Entries(l); n != 0 {
		t.Errorf("two hours later, %d entries remembered, want 0", n)
	}
}
