package ratelimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

// TestRedisMatchesLocal replays one random sequence of calls on Local and on
// Redis, both pinned to the same instants, and wants identical answers. It
// is what holds the Lua scripts to the Go arithmetic, at the extremes of
// the ranges too, where doubles would round if a sum ever passed 2^53.
func TestRedisMatchesLocal(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	// The pinned clock starts at the real time and moves forward by twice
	// the real time that passes (plus a random step), so that a key's real
	// expiry (PX, on the server's clock) never comes before its expiry on
	// the pinned clock, even when one round trip is slower than the last.
	now, last := time.Now(), time.Now()
	clock := func() time.Time { return now }
	local := ratelimit.NewLocal(clock)
	red := ratelimit.NewRedis(c, redisPrefix(t, c))
	ratelimit.PinClock(red, clock)

	rules := []ratelimit.Rule{
		{Key: "seven", Limit: 7, Period: time.Second},
		{Key: "burst", Limit: 3, Period: 24 * time.Hour, Burst: 5},
		{Key: "fast", Limit: 999_999_937, Period: time.Millisecond, Burst: 3_000_000_000},
		{Key: "huge", Limit: 1_000_000_000_000, Period: 7 * 24 * time.Hour},
		{Key: "odd", Limit: 13, Period: 1001 * time.Microsecond, Burst: 2},
		{Key: "wide", Limit: 1, Period: time.Minute, Burst: 10_000_000},
	}
	slots := []ratelimit.Slot{{Key: "one", Limit: 1}, {Key: "three", Limit: 3}}
	holders := []string{"h0", "h1", "h2", "h3"}
	steps := []time.Duration{0, time.Microsecond, 7 * time.Microsecond, time.Millisecond, 142857 * time.Microsecond, 3 * time.Second, time.Hour}

	cost := func(r ratelimit.Rule) int64 {
		burst := r.Burst
		if burst == 0 {
			burst = r.Limit
		}
		switch rng.IntN(6) {
		case 0:
			return 0
		case 1:
			return 1
		case 2:
			return burst
		case 3:
			return burst + 1
		default:
			return rng.Int64N(burst/3 + 1)
		}
	}
	pick := func() []ratelimit.Rule {
		var out []ratelimit.Rule
		for _, i := range rng.Perm(len(rules))[:1+rng.IntN(3)] {
			r := rules[i]
			r.Cost = cost(r)
			out = append(out, r)
		}
		return out
	}

	for op := range 2000 {
		real := time.Now()
		now = now.Add(steps[rng.IntN(len(steps))] + 2*real.Sub(last))
		last = real

		var got, want any
		var desc string
		switch k := rng.IntN(10); {
		case k < 5:
			rs := pick()
			desc = fmt.Sprintf("Take(%+v)", rs)
			d1, err1 := local.Take(ctx, rs)
			d2, err2 := red.Take(ctx, rs)
			want, got = fmt.Sprint(d1, err1), fmt.Sprint(d2, err2)
		case k < 7:
			rs := pick()
			for i := range rs {
				if rng.IntN(2) == 0 {
					rs[i].Cost = -rs[i].Cost
				}
			}
			desc = fmt.Sprintf("Charge(%+v)", rs)
			want, got = fmt.Sprint(local.Charge(ctx, rs)), fmt.Sprint(red.Charge(ctx, rs))
		case k < 9:
			ss := [][]ratelimit.Slot{slots[:1], slots[1:], slots, {slots[1], slots[0]}}[rng.IntN(4)]
			h := holders[rng.IntN(len(holders))]
			lease := []time.Duration{time.Millisecond, 5 * time.Millisecond, time.Second}[rng.IntN(3)]
			desc = fmt.Sprintf("Acquire(%+v, %s, %v)", ss, h, lease)
			d1, err1 := local.Acquire(ctx, ss, h, lease)
			d2, err2 := red.Acquire(ctx, ss, h, lease)
			want, got = fmt.Sprint(d1, err1), fmt.Sprint(d2, err2)
		default:
			h := holders[rng.IntN(len(holders))]
			desc = fmt.Sprintf("Release(%s)", h)
			want, got = fmt.Sprint(local.Release(ctx, slots, h)), fmt.Sprint(red.Release(ctx, slots, h))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("op %d %s:\n redis %v\n local %v", op, desc, got, want)
		}
	}
}
