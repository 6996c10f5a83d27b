package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/prelude.lua
	preludeLua string
	//go:embed lua/take.lua
	takeLua string
	//go:embed lua/charge.lua
	chargeLua string
	//go:embed lua/acquire.lua
	acquireLua string
	//go:embed lua/release.lua
	releaseLua string
)

// Redis is a Limiter whose state lives in one Redis server (7 or later), so
// every Tollgate replica shares the same limits. Each operation is one Lua
// script, which Redis runs atomically: all-or-nothing holds across processes.
// The scripts read the server's clock, so replicas with skewed clocks agree.
// Every key expires once it no longer matters (a full bucket, the last lease),
// so nothing leaks.
//
// Keys are prefix+"rate:"+Rule.Key and prefix+"conc:"+Slot.Key. One call
// touches several keys, so this works against a single Redis node only: Redis
// Cluster would need every key of a call in one slot, through hash tags.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	take    *redis.Script
	charge  *redis.Script
	acquire *redis.Script
	release *redis.Script
	// now pins the scripts' clock in tests; nil uses the server's.
	now func() time.Time
}

// NewRedis returns a Limiter on client, whose keys all start with prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{
		client:  client,
		prefix:  prefix,
		take:    redis.NewScript(preludeLua + takeLua),
		charge:  redis.NewScript(preludeLua + chargeLua),
		acquire: redis.NewScript(preludeLua + acquireLua),
		release: redis.NewScript(releaseLua),
	}
}

func (r *Redis) clock() string {
	if r.now == nil {
		return ""
	}
	return strconv.FormatInt(r.now().UnixMicro(), 10)
}

// Take implements Limiter.
func (r *Redis) Take(ctx context.Context, rules []Rule) (Decision, error) {
	bs, err := takeBuckets(rules, make([]bucket, 0, len(rules)))
	if err != nil {
		return Decision{}, err
	}
	if len(bs) == 0 {
		return allowed(0), nil
	}
	keys := make([]string, len(bs))
	args := make([]any, 1, 1+5*len(bs))
	args[0] = r.clock()
	for i, b := range bs {
		keys[i] = r.prefix + "rate:" + b.key
		cost := b.cost
		if b.impossible {
			cost = span{us: -1}
		}
		args = append(args, b.limit, b.tol.us, b.tol.frac, cost.us, cost.frac)
	}
	out, err := r.take.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis take: %w", err)
	}
	if len(out) != 1+2*len(bs) {
		return Decision{}, fmt.Errorf("ratelimit: redis take: %d values in the reply, want %d", len(out), 1+2*len(bs))
	}
	before := make([]span, len(bs))
	for i := range before {
		before[i] = span{out[1+2*i], out[2+2*i]}
	}
	return decide(bs, before, out[0] == 1), nil
}

// Charge implements Limiter.
func (r *Redis) Charge(ctx context.Context, rules []Rule) error {
	bs, err := chargeBuckets(rules)
	if err != nil || len(bs) == 0 {
		return err
	}
	keys := make([]string, len(bs))
	args := make([]any, 2, 2+4*len(bs))
	args[0], args[1] = r.clock(), int64(maxSpan)
	for i, b := range bs {
		keys[i] = r.prefix + "rate:" + b.key
		sign := 1
		if b.refund {
			sign = -1
		}
		args = append(args, b.limit, sign, b.cost.us, b.cost.frac)
	}
	if err := r.charge.Run(ctx, r.client, keys, args...).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis charge: %w", err)
	}
	return nil
}

// Acquire implements Limiter.
func (r *Redis) Acquire(ctx context.Context, slots []Slot, holder string, lease time.Duration) (Decision, error) {
	leaseMS, err := checkSlots(slots, holder, lease, true)
	if err != nil {
		return Decision{}, err
	}
	if len(slots) == 0 {
		return allowed(0), nil
	}
	keys := make([]string, len(slots))
	args := make([]any, 3, 3+len(slots))
	args[0], args[1], args[2] = r.clock(), holder, leaseMS
	for i, s := range slots {
		keys[i] = r.prefix + "conc:" + s.Key
		args = append(args, s.Limit)
	}
	out, err := r.acquire.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis acquire: %w", err)
	}
	if len(out) != 1+2*len(slots) {
		return Decision{}, fmt.Errorf("ratelimit: redis acquire: %d values in the reply, want %d", len(out), 1+2*len(slots))
	}
	dec := allowed(len(slots))
	dec.Allowed = out[0] == 1
	for i, s := range slots {
		n, held := out[1+2*i], out[2+2*i] == 1
		dec.Results[i] = Result{Limit: s.Limit, Remaining: max(s.Limit-n, 0)}
		if !dec.Allowed && !held && n >= s.Limit && dec.Denied < 0 {
			dec.Denied = i
		}
	}
	return dec, nil
}

// Release implements Limiter.
func (r *Redis) Release(ctx context.Context, slots []Slot, holder string) error {
	if _, err := checkSlots(slots, holder, 0, false); err != nil || len(slots) == 0 {
		return err
	}
	keys := make([]string, len(slots))
	for i, s := range slots {
		keys[i] = r.prefix + "conc:" + s.Key
	}
	if err := r.release.Run(ctx, r.client, keys, holder).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis release: %w", err)
	}
	return nil
}
