package ratelimit

import (
	"math"
	"math/bits"
	"time"
)

const (
	maxLimit  = 1_000_000_000_000
	maxPeriod = 7 * 24 * time.Hour
	// maxSpan bounds, in microseconds, a bucket's tolerance and the debt that
	// Charge may pile up. With it every sum the Redis script makes next to a
	// Unix-microsecond clock stays below 2^53, where Lua's doubles are exact.
	maxSpan = 1 << 50
)

// span is a stretch of time: us microseconds plus frac/limit of one, where
// limit is the rule's Limit. An emission interval (Period/Limit) is rarely a
// whole number of microseconds; carrying the remainder exactly means Limit
// requests of one unit use up exactly one Period, whatever the rate. The Lua
// scripts do the same additions and comparisons on the same pairs.
type span struct{ us, frac int64 }

func (a span) add(b span, limit int64) span {
	s := span{a.us + b.us, a.frac + b.frac}
	if s.frac >= limit {
		s.us++
		s.frac -= limit
	}
	return s
}

// sub returns a-b; callers make sure a >= b.
func (a span) sub(b span, limit int64) span {
	s := span{a.us - b.us, a.frac - b.frac}
	if s.frac < 0 {
		s.us--
		s.frac += limit
	}
	return s
}

func (a span) less(b span) bool { return a.us < b.us || a.us == b.us && a.frac < b.frac }

func (a span) zero() bool { return a.us == 0 && a.frac == 0 }

// duration rounds up, so a client that waits it out never comes back early.
func (a span) duration() time.Duration {
	us := a.us
	if a.frac > 0 {
		us++
	}
	return time.Duration(us) * time.Microsecond
}

// ahead turns a stored theoretical arrival time into how far it lies past now:
// zero when the bucket is full again.
func ahead(tat span, now, limit int64) span {
	d := span{tat.us - now, min(tat.frac, limit-1)}
	if d.us < 0 {
		return span{}
	}
	return d
}

// times returns n emission intervals, n×period/limit; ok is false when that
// exceeds maxSpan.
func times(n, period, limit int64) (s span, ok bool) {
	hi, lo := bits.Mul64(uint64(n), uint64(period))
	if hi >= uint64(limit) {
		return span{}, false
	}
	q, r := bits.Div64(hi, lo, uint64(limit))
	if q > maxSpan {
		return span{}, false
	}
	return span{int64(q), int64(r)}, true
}

// bucket is a validated Rule with its intervals worked out once.
type bucket struct {
	key        string
	limit      int64 // units per period
	period     int64 // microseconds
	burst      int64
	tol        span // burst intervals: how far ahead of now the bucket may run
	cost       span // cost intervals (absolute value for a Charge refund)
	refund     bool // Charge with a negative Cost
	impossible bool // Take with Cost > Burst
}

// newBucket validates r; rules[:i] are already valid, to catch a key used
// twice, which would break all or nothing.
func newBucket(rules []Rule, i int) (bucket, error) {
	r := rules[i]
	switch {
	case r.Key == "":
		return bucket{}, invalid("rule", i, r.Key, "empty key")
	case r.Limit <= 0 || r.Limit > maxLimit:
		return bucket{}, invalid("rule", i, r.Key, "Limit %d is not in [1, %d]", r.Limit, int64(maxLimit))
	case r.Period <= 0 || r.Period > maxPeriod:
		return bucket{}, invalid("rule", i, r.Key, "Period %v is not in (0, %v]", r.Period, maxPeriod)
	case r.Period%time.Microsecond != 0:
		return bucket{}, invalid("rule", i, r.Key, "Period %v is not a whole number of microseconds", r.Period)
	case r.Burst < 0:
		return bucket{}, invalid("rule", i, r.Key, "Burst %d is negative", r.Burst)
	}
	for _, o := range rules[:i] {
		if o.Key == r.Key {
			return bucket{}, invalid("rule", i, r.Key, "key appears twice")
		}
	}
	b := bucket{key: r.Key, limit: r.Limit, period: r.Period.Microseconds(), burst: r.Burst}
	if b.burst == 0 {
		b.burst = r.Limit
	}
	var ok bool
	if b.tol, ok = times(b.burst, b.period, b.limit); !ok {
		return bucket{}, invalid("rule", i, r.Key, "Burst × Period / Limit exceeds %v", time.Duration(maxSpan)*time.Microsecond)
	}
	return b, nil
}

// takeBuckets validates rules for Take, appending to bs (which lets Local keep
// them on the stack).
func takeBuckets(rules []Rule, bs []bucket) ([]bucket, error) {
	for i, r := range rules {
		b, err := newBucket(rules, i)
		if err != nil {
			return nil, err
		}
		switch {
		case r.Cost < 0:
			return nil, invalid("rule", i, r.Key, "Cost %d is negative; refunds go through Charge", r.Cost)
		case r.Cost > b.burst:
			b.impossible = true
		default:
			b.cost, _ = times(r.Cost, b.period, b.limit) // within tol, so it fits
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// chargeBuckets validates rules for Charge. A Cost beyond maxSpan is clamped
// there: the debt is capped at that anyway.
func chargeBuckets(rules []Rule) ([]bucket, error) {
	bs := make([]bucket, 0, len(rules))
	for i, r := range rules {
		b, err := newBucket(rules, i)
		if err != nil {
			return nil, err
		}
		n := r.Cost
		if n < 0 {
			b.refund = true
			n = -max(n, -math.MaxInt64)
		}
		var ok bool
		if b.cost, ok = times(n, b.period, b.limit); !ok {
			b.cost = span{us: maxSpan}
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// fits reports whether a request costing b.cost fits a bucket running d ahead.
func (b *bucket) fits(d span) bool {
	return !b.impossible && !b.tol.less(d.add(b.cost, b.limit))
}

// charged applies a Charge to a bucket running d ahead.
func (b *bucket) charged(d span) span {
	if b.refund {
		if d.less(b.cost) {
			return span{}
		}
		return d.sub(b.cost, b.limit)
	}
	d = d.add(b.cost, b.limit)
	if d.us >= maxSpan {
		return span{us: maxSpan}
	}
	return d
}

// remaining is how many units fit a bucket running d ahead:
// floor((tol-d) / (period/limit)), in 128 bits.
func (b *bucket) remaining(d span) int64 {
	if b.tol.less(d) {
		return 0
	}
	x := b.tol.sub(d, b.limit)
	hi, lo := bits.Mul64(uint64(x.us), uint64(b.limit))
	lo, carry := bits.Add64(lo, uint64(x.frac), 0)
	q, _ := bits.Div64(hi+carry, lo, uint64(b.period)) // q <= burst, so no overflow
	return int64(q)
}

// decide builds a Take's Decision from how far ahead each bucket ran before
// it (before[i]) and whether the backend charged them all. Both backends
// report only before and committed, so the arithmetic is the same code.
func decide(bs []bucket, before []span, committed bool) Decision {
	dec := Decision{Allowed: committed, Denied: -1, Results: make([]Result, len(bs))}
	for i := range bs {
		b := &bs[i]
		d := before[i]
		res := Result{Limit: b.burst}
		switch {
		case committed:
			d = d.add(b.cost, b.limit)
		case b.impossible:
			dec.Impossible = true
			if dec.Denied < 0 {
				dec.Denied = i
			}
		case !b.fits(d):
			res.RetryAfter = d.add(b.cost, b.limit).sub(b.tol, b.limit).duration()
			dec.RetryAfter = max(dec.RetryAfter, res.RetryAfter)
			if dec.Denied < 0 {
				dec.Denied = i
			}
		}
		res.Remaining = b.remaining(d)
		res.Reset = d.duration()
		dec.Results[i] = res
	}
	return dec
}
