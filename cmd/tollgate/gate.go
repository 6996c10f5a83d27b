package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/gate"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/ratelimit"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// newLimiter builds the configured rate-limit backend: in-process, or
// Redis shared by every replica with the configured failure policy.
func newLimiter(c config.Config, log *slog.Logger, now func() time.Time) (ratelimit.Limiter, func() error, error) {
	local := ratelimit.NewLocal(now)
	if c.Limits.Backend != "redis" {
		return local, func() error { return nil }, nil
	}
	opts, err := redis.ParseURL(c.Redis.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis.url %s: %w", c.RedactedRedisURL(), err)
	}
	// Short timeouts: a limiter that waits long on a sick Redis stalls
	// every request; the failure policy answers instead.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 500*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
	// One dial attempt: the failover probes a down Redis once a second and
	// must not stall that request through go-redis's five retries.
	opts.DialerRetries = 1
	client := redis.NewClient(opts)
	policy, err := ratelimit.ParsePolicy(c.Limits.RedisFailure)
	if err != nil {
		return nil, nil, err
	}
	log.Info("rate limits shared through Redis", "redis", c.RedactedRedisURL(), "on_failure", c.Limits.RedisFailure)
	return ratelimit.NewFailover(ratelimit.NewRedis(client, "tollgate:rl:"), local, policy, log), client.Close, nil
}

// newGate wires admission and settlement, and seeds the price book with
// the list prices the first time (an operator's later versions are kept).
func newGate(ctx context.Context, c config.Config, st *sqlstore.Store, lim ratelimit.Limiter, reg prometheus.Registerer, log *slog.Logger, now func() time.Time) (*gate.Gate, error) {
	for _, p := range pricing.Defaults() {
		if _, err := st.AddPrice(ctx, p, platform.SystemActor("pricing")); err != nil && platform.ErrorKind(err) != platform.KindConflict {
			return nil, fmt.Errorf("seed prices: %w", err)
		}
	}
	// SQLite takes one writer at a time: one settlement writer, and
	// reservations group-committed too. PostgreSQL runs transactions side
	// by side.
	workers, batch := 1, true
	if st.Backend() == "postgres" {
		workers, batch = 4, false
	}
	g := gate.New(st, lim, gate.Config{TierRPM: c.Limits.TierRPM, RequireCredits: c.Billing.RequireCredits,
		HoldTTL: c.Billing.HoldTTL, SettleWorkers: workers, Registerer: reg,
		BatchReservations: batch}, log, now)
	if err := g.LoadPrices(ctx); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}
