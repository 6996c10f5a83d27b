package ratelimittest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

// Rules with a period of a minute: the few milliseconds a test takes refill
// less than one unit, so counts are exact.

func testBurst(t *testing.T, l ratelimit.Limiter) {
	tests := []struct {
		name      string
		rule      ratelimit.Rule
		admitted  int64
		remaining int64         // after the refusal
		retry     time.Duration // of the refusal, less the time the test took
	}{
		{"burst defaults to limit", ratelimit.Rule{Key: "a", Limit: 5, Period: time.Minute, Cost: 1}, 5, 0, 12 * time.Second},
		{"explicit burst", ratelimit.Rule{Key: "b", Limit: 60, Period: time.Minute, Burst: 3, Cost: 1}, 3, 0, time.Second},
		{"burst above limit", ratelimit.Rule{Key: "c", Limit: 2, Period: time.Minute, Burst: 4, Cost: 1}, 4, 0, 30 * time.Second},
		{"cost above one", ratelimit.Rule{Key: "d", Limit: 10, Period: time.Minute, Cost: 3}, 3, 1, 12 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			burst := tt.rule.Burst
			if burst == 0 {
				burst = tt.rule.Limit
			}
			for i := range tt.admitted {
				d := take(t, l, tt.rule)
				if !d.Allowed {
					t.Fatalf("request %d refused: %+v", i+1, d)
				}
				want := ratelimit.Result{Limit: burst, Remaining: burst - (i+1)*tt.rule.Cost}
				if got := d.Results[0]; got.Limit != want.Limit || got.Remaining != want.Remaining || got.RetryAfter != 0 {
					t.Fatalf("request %d: result %+v, want Limit %d Remaining %d RetryAfter 0", i+1, got, want.Limit, want.Remaining)
				}
			}
			d := take(t, l, tt.rule)
			if d.Allowed || d.Denied != 0 || d.Impossible {
				t.Fatalf("request %d = %+v, want refused by rule 0", tt.admitted+1, d)
			}
			if got := d.Results[0].Remaining; got != tt.remaining {
				t.Errorf("Remaining after refusal = %d, want %d", got, tt.remaining)
			}
			within(t, "RetryAfter", d.Results[0].RetryAfter, tt.retry-time.Second, tt.retry)
			if d.RetryAfter != d.Results[0].RetryAfter {
				t.Errorf("Decision.RetryAfter = %v, want the rule's %v", d.RetryAfter, d.Results[0].RetryAfter)
			}
		})
	}
}

// testRefill sleeps for real: 20 units per 200ms is one unit every 10ms.
func testRefill(t *testing.T, l ratelimit.Limiter) {
	const interval = 10 * time.Millisecond
	rule := ratelimit.Rule{Key: "r", Limit: 20, Period: 200 * time.Millisecond, Cost: 1}
	// drain takes until refused; it returns how many passed, the refusal,
	// and how long it took.
	drain := func() (int, ratelimit.Decision, time.Duration) {
		start := time.Now()
		for n := 0; n < 1000; n++ {
			if d := take(t, l, rule); !d.Allowed {
				return n, d, time.Since(start)
			}
		}
		t.Fatal("1000 requests in a row were admitted")
		return 0, ratelimit.Decision{}, 0
	}

	n, refused, took := drain()
	if hi := 20 + int(took/interval) + 1; n < 20 || n > hi {
		t.Fatalf("a full bucket of 20 admitted %d requests in %v, want 20 to %d", n, took, hi)
	}
	within(t, "RetryAfter when empty", refused.RetryAfter, time.Microsecond, interval)

	// Waiting out RetryAfter is enough.
	time.Sleep(refused.RetryAfter)
	start := time.Now()
	d := take(t, l, rule)
	if !d.Allowed {
		t.Fatalf("refused after waiting RetryAfter %v: %+v", refused.RetryAfter, d)
	}

	// 100ms refill ten units, on top of what was left.
	time.Sleep(100 * time.Millisecond)
	n, _, _ = drain()
	elapsed := time.Since(start)
	lo := min(20, int(d.Results[0].Remaining)+10)
	hi := int(d.Results[0].Remaining) + int(elapsed/interval) + 1
	if n < lo || n > hi {
		t.Errorf("after %v of refill, %d requests admitted, want %d to %d", elapsed, n, lo, hi)
	}

	// A whole period later, the bucket is full again.
	time.Sleep(rule.Period + interval)
	d = take(t, l, rule)
	want := ratelimit.Result{Limit: 20, Remaining: 19, Reset: interval}
	if !d.Allowed || d.Results[0] != want {
		t.Errorf("after a full period: %+v, want allowed with %+v", d, want)
	}
}

// testHeaders checks the numbers behind RateLimit headers: on a fresh bucket
// they are exact whatever the clock.
func testHeaders(t *testing.T, l ratelimit.Limiter) {
	rule := ratelimit.Rule{Key: "h", Limit: 10, Period: time.Second, Burst: 20}
	steps := []struct {
		cost      int64
		remaining int64
		resetLo   time.Duration
		resetHi   time.Duration
	}{
		{0, 20, 0, 0},
		{1, 19, 100 * time.Millisecond, 100 * time.Millisecond},
		{3, 16, 300 * time.Millisecond, 400 * time.Millisecond},
		{0, 16, 300 * time.Millisecond, 400 * time.Millisecond},
	}
	for i, s := range steps {
		rule.Cost = s.cost
		d := take(t, l, rule)
		got := d.Results[0]
		if !d.Allowed || got.Limit != 20 || got.Remaining != s.remaining || got.RetryAfter != 0 {
			t.Errorf("step %d (cost %d): %+v, want allowed with Limit 20 Remaining %d", i, s.cost, d, s.remaining)
		}
		within(t, fmt.Sprintf("step %d Reset", i), got.Reset, s.resetLo, s.resetHi)
	}
}

func testAllOrNothing(t *testing.T, l ratelimit.Limiter) {
	a := ratelimit.Rule{Key: "a", Limit: 10, Period: time.Minute, Cost: 1}
	b := ratelimit.Rule{Key: "b", Limit: 1, Period: time.Minute, Cost: 1}
	if d := take(t, l, a, b); !d.Allowed || d.Results[0].Remaining != 9 || d.Results[1].Remaining != 0 {
		t.Fatalf("first request: %+v, want allowed with 9 and 0 remaining", d)
	}

	d := take(t, l, a, b)
	if d.Allowed || d.Denied != 1 {
		t.Fatalf("second request: %+v, want refused by rule 1", d)
	}
	if got := d.Results[0]; got.Remaining != 9 || got.RetryAfter != 0 {
		t.Errorf("rule 0 of the refused request: %+v, want 9 remaining (not charged) and no RetryAfter", got)
	}
	within(t, "rule 1 RetryAfter", d.Results[1].RetryAfter, 59*time.Second, time.Minute)
	if d.RetryAfter != d.Results[1].RetryAfter {
		t.Errorf("Decision.RetryAfter = %v, want rule 1's %v", d.RetryAfter, d.Results[1].RetryAfter)
	}

	// The refusal charged nothing to a, and the first refusing rule is named.
	if d := take(t, l, b, a); d.Allowed || d.Denied != 0 || d.Results[1].Remaining != 9 {
		t.Errorf("b then a: %+v, want refused by rule 0 and a still at 9", d)
	}
	if d := take(t, l, a); !d.Allowed || d.Results[0].Remaining != 8 {
		t.Errorf("a alone: %+v, want allowed with 8 remaining", d)
	}
}

func testCharge(t *testing.T, l ratelimit.Limiter) {
	rule := func(cost int64) ratelimit.Rule {
		return ratelimit.Rule{Key: "c", Limit: 10, Period: time.Minute, Cost: cost}
	}
	steps := []struct {
		name      string
		charge    int64
		remaining int64 // of a following Take of cost 0
	}{
		{"charge", 4, 6},
		{"refund", -2, 8},
		{"refund past full", -100, 10},
		{"charge all", 10, 0},
		{"refund one", -1, 1},
	}
	for _, s := range steps {
		charge(t, l, rule(s.charge))
		if d := take(t, l, rule(0)); !d.Allowed || d.Results[0].Remaining != s.remaining {
			t.Errorf("%s (%+d): Take of 0 = %+v, want allowed with %d remaining", s.name, s.charge, d, s.remaining)
		}
	}

	// Charging past the bucket is a debt that refusals report.
	charge(t, l, rule(6)) // from 9 used to 15: 5 past empty
	d := take(t, l, rule(1))
	if d.Allowed || d.Results[0].Remaining != 0 {
		t.Fatalf("Take after a debt: %+v, want refused with 0 remaining", d)
	}
	within(t, "RetryAfter after a debt", d.RetryAfter, 35*time.Second, 36*time.Second)
	within(t, "Reset after a debt", d.Results[0].Reset, 89*time.Second, 90*time.Second)

	// Charge takes many rules in one call.
	other := ratelimit.Rule{Key: "o", Limit: 5, Period: time.Minute, Cost: 2}
	charge(t, l, other, rule(-100))
	other.Cost = 0
	if d := take(t, l, other, rule(0)); !d.Allowed || d.Results[0].Remaining != 3 || d.Results[1].Remaining != 10 {
		t.Errorf("after charging two rules: %+v, want 3 and 10 remaining", d)
	}
}

func testImpossible(t *testing.T, l ratelimit.Limiter) {
	a := ratelimit.Rule{Key: "a", Limit: 10, Period: time.Minute, Cost: 1}
	big := ratelimit.Rule{Key: "big", Limit: 10, Period: time.Minute, Burst: 5, Cost: 6}
	d := take(t, l, a, big)
	if d.Allowed || !d.Impossible || d.Denied != 1 {
		t.Fatalf("cost above burst: %+v, want refused as impossible by rule 1", d)
	}
	if got := d.Results[1]; got.Limit != 5 || got.Remaining != 5 || got.RetryAfter != 0 {
		t.Errorf("impossible rule: %+v, want Limit 5, Remaining 5 and no RetryAfter", got)
	}
	if d.Results[0].Remaining != 10 {
		t.Errorf("rule 0 of the impossible request: %+v, want 10 remaining", d.Results[0])
	}
	big.Cost = 5
	if d := take(t, l, a, big); !d.Allowed || d.Impossible || d.Results[0].Remaining != 9 || d.Results[1].Remaining != 0 {
		t.Errorf("cost equal to burst: %+v, want allowed with 9 and 0 remaining", d)
	}
}

func testEmpty(t *testing.T, l ratelimit.Limiter) {
	if d := take(t, l); !d.Allowed || d.Denied != -1 {
		t.Errorf("Take of no rules = %+v, want allowed", d)
	}
	charge(t, l)
	if d := acquire(t, l, "h", time.Second); !d.Allowed || d.Denied != -1 {
		t.Errorf("Acquire of no slots = %+v, want allowed", d)
	}
	release(t, l, "h")
}

func testConcurrentTake(t *testing.T, l ratelimit.Limiter) {
	const limit = 50
	rule := ratelimit.Rule{Key: "busy", Limit: limit, Period: time.Minute, Cost: 1}
	got := together(t, 3*limit, func(int) (bool, error) {
		d, err := l.Take(context.Background(), []ratelimit.Rule{rule})
		return d.Allowed, err
	})
	if got != limit {
		t.Errorf("%d concurrent requests against a limit of %d: %d admitted", 3*limit, limit, got)
	}
}

// testConcurrentAllOrNothing races requests on rules a+b against requests
// on b alone: b must admit exactly its limit, and a must be charged exactly
// once per admitted a+b request.
func testConcurrentAllOrNothing(t *testing.T, l ratelimit.Limiter) {
	a := ratelimit.Rule{Key: "a", Limit: 10, Period: time.Minute, Cost: 1}
	b := ratelimit.Rule{Key: "b", Limit: 30, Period: time.Minute, Cost: 1}
	var both atomic.Int64
	total := together(t, 120, func(i int) (bool, error) {
		rules := [][]ratelimit.Rule{{a, b}, {b, a}, {b}}[i%3]
		d, err := l.Take(context.Background(), rules)
		if d.Allowed && len(rules) == 2 {
			both.Add(1)
		}
		return d.Allowed, err
	})
	if total != 30 {
		t.Errorf("b admitted %d requests, want its limit of 30", total)
	}
	if n := both.Load(); n > 10 {
		t.Errorf("a+b admitted %d requests, want at most a's limit of 10", n)
	}
	a.Cost = 0
	if d := take(t, l, a); d.Results[0].Remaining != 10-both.Load() {
		t.Errorf("a has %d remaining after %d admitted a+b requests, want %d", d.Results[0].Remaining, both.Load(), 10-both.Load())
	}
}
