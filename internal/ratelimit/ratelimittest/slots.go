package ratelimittest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

func testSlotsLimit(t *testing.T, l ratelimit.Limiter) {
	s := ratelimit.Slot{Key: "s", Limit: 3}
	steps := []struct {
		name      string
		holder    string
		release   bool
		allowed   bool
		remaining int64
	}{
		{"first", "h1", false, true, 2},
		{"second", "h2", false, true, 1},
		{"third", "h3", false, true, 0},
		{"over the limit", "h4", false, false, 0},
		{"a holder again keeps its one slot", "h1", false, true, 0},
		{"release", "h1", true, false, 0},
		{"freed slot", "h4", false, true, 0},
		{"release twice", "h1", true, false, 0},
		{"release never held", "nobody", true, false, 0},
		{"still full", "h5", false, false, 0},
	}
	for _, st := range steps {
		if st.release {
			release(t, l, st.holder, s)
			continue
		}
		d := acquire(t, l, st.holder, time.Minute, s)
		want := ratelimit.Result{Limit: 3, Remaining: st.remaining}
		if d.Allowed != st.allowed || d.Results[0] != want {
			t.Errorf("%s: Acquire for %s = %+v, want allowed %v with %+v", st.name, st.holder, d, st.allowed, want)
		}
		if wantDenied := map[bool]int{true: -1, false: 0}[st.allowed]; d.Denied != wantDenied {
			t.Errorf("%s: Denied = %d, want %d", st.name, d.Denied, wantDenied)
		}
	}
	release(t, l, "h1", ratelimit.Slot{Key: "never used", Limit: 1})
}

func testSlotsAllOrNothing(t *testing.T, l ratelimit.Limiter) {
	a := ratelimit.Slot{Key: "a", Limit: 1}
	b := ratelimit.Slot{Key: "b", Limit: 2}
	if d := acquire(t, l, "h1", time.Minute, a, b); !d.Allowed || d.Results[0].Remaining != 0 || d.Results[1].Remaining != 1 {
		t.Fatalf("h1 on a+b: %+v, want allowed with 0 and 1 remaining", d)
	}
	if d := acquire(t, l, "h2", time.Minute, b, a); d.Allowed || d.Denied != 1 || d.Results[0].Remaining != 1 {
		t.Fatalf("h2 on b+a: %+v, want refused by slot 1 with b still at 1", d)
	}
	// The refusal took nothing from b: one place is left there.
	if d := acquire(t, l, "h3", time.Minute, b); !d.Allowed || d.Results[0].Remaining != 0 {
		t.Errorf("h3 on b: %+v, want allowed with 0 remaining", d)
	}
	if d := acquire(t, l, "h4", time.Minute, b); d.Allowed {
		t.Errorf("h4 on b: %+v, want refused", d)
	}
	release(t, l, "h1", a, b)
	if d := acquire(t, l, "h2", time.Minute, b, a); !d.Allowed {
		t.Errorf("h2 on b+a after h1 released: %+v, want allowed", d)
	}
}

// testSlotsLease sleeps for real: a holder that never releases loses its
// slot when its lease ends.
func testSlotsLease(t *testing.T, l ratelimit.Limiter) {
	s := ratelimit.Slot{Key: "s", Limit: 1}
	start := time.Now()
	if d := acquire(t, l, "crashed", 100*time.Millisecond, s); !d.Allowed {
		t.Fatalf("first holder refused: %+v", d)
	}
	if d := acquire(t, l, "next", time.Minute, s); d.Allowed && time.Since(start) < 100*time.Millisecond {
		t.Fatalf("second holder admitted while the lease runs: %+v", d)
	}
	time.Sleep(150*time.Millisecond - time.Since(start))
	if d := acquire(t, l, "next", time.Minute, s); !d.Allowed {
		t.Errorf("second holder refused after the first lease ended: %+v", d)
	}
	if d := acquire(t, l, "third", time.Minute, s); d.Allowed {
		t.Errorf("third holder admitted while the second holds the slot: %+v", d)
	}
}

func testConcurrentAcquire(t *testing.T, l ratelimit.Limiter) {
	const limit = 20
	s := ratelimit.Slot{Key: "busy", Limit: limit}
	got := together(t, 3*limit, func(i int) (bool, error) {
		d, err := l.Acquire(context.Background(), []ratelimit.Slot{s}, fmt.Sprint("h", i), time.Minute)
		return d.Allowed, err
	})
	if got != limit {
		t.Errorf("%d concurrent holders against a limit of %d: %d admitted", 3*limit, limit, got)
	}
}
