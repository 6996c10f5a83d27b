package ratelimittest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

func testInvalidRules(t *testing.T, l ratelimit.Limiter) {
	ok := ratelimit.Rule{Key: "ok", Limit: 10, Period: time.Minute, Cost: 1}
	tests := []struct {
		name  string
		rule  ratelimit.Rule
		valid bool // for Charge, which allows a negative Cost
	}{
		{"empty key", ratelimit.Rule{Limit: 1, Period: time.Second}, false},
		{"zero limit", ratelimit.Rule{Key: "k", Period: time.Second}, false},
		{"negative limit", ratelimit.Rule{Key: "k", Limit: -1, Period: time.Second}, false},
		{"limit too large", ratelimit.Rule{Key: "k", Limit: 1e13, Period: time.Second}, false},
		{"zero period", ratelimit.Rule{Key: "k", Limit: 1}, false},
		{"negative period", ratelimit.Rule{Key: "k", Limit: 1, Period: -time.Second}, false},
		{"period too long", ratelimit.Rule{Key: "k", Limit: 1, Period: 8 * 24 * time.Hour}, false},
		{"period not in whole microseconds", ratelimit.Rule{Key: "k", Limit: 1, Period: 1500 * time.Nanosecond}, false},
		{"negative burst", ratelimit.Rule{Key: "k", Limit: 1, Period: time.Second, Burst: -1}, false},
		{"burst spans centuries", ratelimit.Rule{Key: "k", Limit: 1, Period: 24 * time.Hour, Burst: 1e6}, false},
		{"negative cost", ratelimit.Rule{Key: "k", Limit: 1, Period: time.Second, Cost: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := []ratelimit.Rule{ok, tt.rule}
			d, err := l.Take(context.Background(), rules)
			if !errors.Is(err, ratelimit.ErrInvalid) {
				t.Errorf("Take(%+v) = %+v, %v; want an error wrapping ErrInvalid", tt.rule, d, err)
			}
			// Cost 0 on the valid rule: the one valid Charge must not charge it.
			free := ok
			free.Cost = 0
			err = l.Charge(context.Background(), []ratelimit.Rule{free, tt.rule})
			if tt.valid && err != nil {
				t.Errorf("Charge(%+v) = %v, want nil", tt.rule, err)
			}
			if !tt.valid && !errors.Is(err, ratelimit.ErrInvalid) {
				t.Errorf("Charge(%+v) = %v, want an error wrapping ErrInvalid", tt.rule, err)
			}
		})
	}
	// Nothing was charged by the rejected calls.
	ok.Cost = 0
	if d := take(t, l, ok); d.Results[0].Remaining != 10 {
		t.Errorf("after invalid calls, %+v, want 10 remaining", d)
	}

	dup := []ratelimit.Rule{ok, ok}
	if _, err := l.Take(context.Background(), dup); !errors.Is(err, ratelimit.ErrInvalid) {
		t.Errorf("Take with a key twice = %v, want an error wrapping ErrInvalid", err)
	}
}

func testInvalidSlots(t *testing.T, l ratelimit.Limiter) {
	ok := ratelimit.Slot{Key: "ok", Limit: 1}
	tests := []struct {
		name   string
		slots  []ratelimit.Slot
		holder string
		lease  time.Duration
	}{
		{"empty key", []ratelimit.Slot{{Limit: 1}}, "h", time.Second},
		{"zero limit", []ratelimit.Slot{{Key: "k"}}, "h", time.Second},
		{"negative limit", []ratelimit.Slot{{Key: "k", Limit: -1}}, "h", time.Second},
		{"key twice", []ratelimit.Slot{ok, ok}, "h", time.Second},
		{"empty holder", []ratelimit.Slot{ok}, "", time.Second},
		{"zero lease", []ratelimit.Slot{ok}, "h", 0},
		{"lease below a millisecond", []ratelimit.Slot{ok}, "h", time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := l.Acquire(context.Background(), tt.slots, tt.holder, tt.lease)
			if !errors.Is(err, ratelimit.ErrInvalid) {
				t.Errorf("Acquire = %+v, %v; want an error wrapping ErrInvalid", d, err)
			}
		})
	}
	if err := l.Release(context.Background(), []ratelimit.Slot{{}}, "h"); !errors.Is(err, ratelimit.ErrInvalid) {
		t.Errorf("Release of an empty key = %v, want an error wrapping ErrInvalid", err)
	}
	if err := l.Release(context.Background(), []ratelimit.Slot{ok}, ""); !errors.Is(err, ratelimit.ErrInvalid) {
		t.Errorf("Release for an empty holder = %v, want an error wrapping ErrInvalid", err)
	}
	if d := acquire(t, l, "h", time.Second, ok); !d.Allowed {
		t.Errorf("after invalid calls, %+v, want the slot free", d)
	}
}
