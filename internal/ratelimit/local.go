package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

const (
	// A sweep runs when the maps have doubled since the last one (so its cost
	// is spread over the requests that grew them), or once a minute so that
	// memory is given back after a burst of new keys.
	sweepMinSize = 1024
	sweepEvery   = int64(time.Minute / time.Microsecond)
	// A map is copied to shrink it only from this size on: below it, the
	// copy and the regrowth cost more than the memory is worth.
	shrinkMinSize = 16 * 1024
)

// Local is a Limiter for one process. One mutex guards all state: a decision
// is a few map look-ups, far cheaper than the lock ordering that per-key locks
// would need for all-or-nothing across rules. A bucket that is full again, or
// a slot with no holder, is the same as no entry, so sweeps drop them and
// memory follows the keys in use, not every key ever seen.
type Local struct {
	now func() time.Time

	mu        sync.Mutex
	tats      map[string]span     // theoretical arrival time, absolute µs
	slots     map[string]*holders // concurrency slots by key
	sweepSize int                 // sweep when len(tats)+len(slots) reaches this
	sweepAt   int64               // or when the clock (µs) reaches this
}

// holders are the current holders of one concurrency key.
type holders struct {
	until map[string]int64 // holder → lease deadline, Unix ms
	next  int64            // no lease ends before this
}

// NewLocal returns an in-process Limiter; now is its clock (nil: time.Now).
func NewLocal(now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{
		now:       now,
		tats:      make(map[string]span),
		slots:     make(map[string]*holders),
		sweepSize: sweepMinSize,
	}
}

// Take implements Limiter.
func (l *Local) Take(_ context.Context, rules []Rule) (Decision, error) {
	var bbuf [4]bucket
	bs, err := takeBuckets(rules, bbuf[:0])
	if err != nil {
		return Decision{}, err
	}
	var sbuf [4]span
	before := sbuf[:0]
	now := l.now().UnixMicro()

	l.mu.Lock()
	ok := true
	for i := range bs {
		d := ahead(l.tats[bs[i].key], now, bs[i].limit)
		before = append(before, d)
		ok = ok && bs[i].fits(d)
	}
	if ok {
		for i := range bs {
			if !bs[i].cost.zero() {
				d := before[i].add(bs[i].cost, bs[i].limit)
				l.tats[bs[i].key] = span{now + d.us, d.frac}
			}
		}
	}
	l.maybeSweep(now)
	l.mu.Unlock()

	return decide(bs, before, ok), nil
}

// Charge implements Limiter.
func (l *Local) Charge(_ context.Context, rules []Rule) error {
	bs, err := chargeBuckets(rules)
	if err != nil {
		return err
	}
	now := l.now().UnixMicro()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range bs {
		d := bs[i].charged(ahead(l.tats[bs[i].key], now, bs[i].limit))
		if d.zero() {
			delete(l.tats, bs[i].key)
		} else {
			l.tats[bs[i].key] = span{now + d.us, d.frac}
		}
	}
	l.maybeSweep(now)
	return nil
}

// Acquire implements Limiter.
func (l *Local) Acquire(_ context.Context, slots []Slot, holder string, lease time.Duration) (Decision, error) {
	leaseMS, err := checkSlots(slots, holder, lease, true)
	if err != nil {
		return Decision{}, err
	}
	now := l.now().UnixMicro()
	nowMS := now / 1000
	dec := allowed(len(slots))

	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range slots {
		var n int64
		held := false
		if h := l.slots[s.Key]; h != nil {
			h.purge(nowMS)
			n = int64(len(h.until))
			_, held = h.until[holder]
		}
		dec.Results[i] = Result{Limit: s.Limit, Remaining: max(s.Limit-n, 0)}
		if !held && n >= s.Limit && dec.Allowed {
			dec.Allowed, dec.Denied = false, i
		}
	}
	if dec.Allowed {
		for i, s := range slots {
			h := l.slots[s.Key]
			if h == nil {
				h = &holders{until: make(map[string]int64), next: math.MaxInt64}
				l.slots[s.Key] = h
			}
			h.until[holder] = nowMS + leaseMS
			h.next = min(h.next, nowMS+leaseMS)
			dec.Results[i].Remaining = s.Limit - int64(len(h.until))
		}
	}
	l.maybeSweep(now)
	return dec, nil
}

// Release implements Limiter.
func (l *Local) Release(_ context.Context, slots []Slot, holder string) error {
	if _, err := checkSlots(slots, holder, 0, false); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range slots {
		if h := l.slots[s.Key]; h != nil {
			delete(h.until, holder)
			if len(h.until) == 0 {
				delete(l.slots, s.Key)
			}
		}
	}
	return nil
}

// purge drops the holders whose lease has ended, as the Redis script does
// with ZREMRANGEBYSCORE.
func (h *holders) purge(nowMS int64) {
	if nowMS < h.next {
		return
	}
	h.next = math.MaxInt64
	for k, until := range h.until {
		if until <= nowMS {
			delete(h.until, k)
		} else {
			h.next = min(h.next, until)
		}
	}
}

// maybeSweep forgets full buckets and empty slot sets; l.mu is held.
func (l *Local) maybeSweep(now int64) {
	if len(l.tats)+len(l.slots) < l.sweepSize && now < l.sweepAt {
		return
	}
	l.tats = sweep(l.tats, func(t span) bool { return t.us < now })
	nowMS := now / 1000
	l.slots = sweep(l.slots, func(h *holders) bool { h.purge(nowMS); return len(h.until) == 0 })
	l.sweepSize = max(2*(len(l.tats)+len(l.slots)), sweepMinSize)
	l.sweepAt = now + sweepEvery
}

// sweep deletes the entries of m that are idle. Go maps keep their size after
// deletes, so when three quarters went it copies the rest into a fresh map
// to give the memory back.
func sweep[V any](m map[string]V, idle func(V) bool) map[string]V {
	n := len(m)
	for k, v := range m {
		if idle(v) {
			delete(m, k)
		}
	}
	if n < shrinkMinSize || 4*len(m) > n {
		return m
	}
	fresh := make(map[string]V, len(m))
	for k, v := range m {
		fresh[k] = v
	}
	return fresh
}
