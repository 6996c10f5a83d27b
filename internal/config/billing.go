package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// LimitsConfig selects where rate-limit state lives and the default limits
// of each usage tier.
type LimitsConfig struct {
	// Backend is "local" (in-process: one replica, or per-replica limits)
	// or "redis" (shared by every replica; needs redis.url).
	Backend string `yaml:"backend"`
	// RedisFailure is what happens while Redis is unreachable: "closed"
	// refuses requests with 503, "local" falls back to in-process limits.
	RedisFailure string `yaml:"redis_failure"`
	// TierRPM is the default requests-per-minute limit of an organization
	// per model, by usage tier 0..5; "*" covers models not listed. An
	// explicit organization limit replaces it.
	TierRPM map[string][]int64 `yaml:"tier_rpm"`
}

// RedisConfig is the Redis server shared by replicas.
type RedisConfig struct {
	URL string `yaml:"url"` // redis://[user:password@]host:6379/0
}

// BillingConfig tunes metering and prepaid billing.
type BillingConfig struct {
	// RequireCredits refuses requests (402) an organization's prepaid
	// balance (plus its credit limit) cannot cover.
	RequireCredits bool `yaml:"require_credits"`
	// HoldTTL is how long a reservation outlives a process that died
	// holding it.
	HoldTTL time.Duration `yaml:"hold_ttl"`
	// UsageRetention is how long raw usage records are kept; rollups per
	// day are kept forever, per minute and per hour for MinuteRollupRetention.
	UsageRetention        time.Duration `yaml:"usage_retention"`
	MinuteRollupRetention time.Duration `yaml:"minute_rollup_retention"`
}

func defaultLimits() LimitsConfig {
	return LimitsConfig{Backend: "local", RedisFailure: "closed", TierRPM: map[string][]int64{
		// Perplexity's published Sonar limits per tier (2026).
		"*":                   {50, 150, 500, 1000, 4000, 4000},
		"sonar-deep-research": {5, 10, 20, 40, 60, 100},
		// The Search API: 50 requests a second at every tier.
		"search": {3000, 3000, 3000, 3000, 3000, 3000},
	}}
}

func defaultBilling() BillingConfig {
	return BillingConfig{RequireCredits: true, HoldTTL: 15 * time.Minute,
		UsageRetention: 90 * 24 * time.Hour, MinuteRollupRetention: 35 * 24 * time.Hour}
}

func (c *Config) validateBilling(bad func(field, format string, args ...any)) {
	switch c.Limits.Backend {
	case "local":
	case "redis":
		if c.Redis.URL == "" {
			bad("redis.url", "must be set when limits.backend is redis (e.g. redis://127.0.0.1:6379/0)")
		}
	default:
		bad("limits.backend", "%q is not local or redis", c.Limits.Backend)
	}
	if c.Limits.RedisFailure != "closed" && c.Limits.RedisFailure != "local" {
		bad("limits.redis_failure", "%q is not closed or local", c.Limits.RedisFailure)
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("redis.url", "must be a redis:// or rediss:// URL")
		}
	}
	models := make([]string, 0, len(c.Limits.TierRPM))
	for m := range c.Limits.TierRPM {
		models = append(models, m)
	}
	slices.Sort(models)
	for _, m := range models {
		rpm := c.Limits.TierRPM[m]
		if len(rpm) != 6 {
			bad("limits.tier_rpm."+m, "needs six numbers, one per tier 0..5 (got %d)", len(rpm))
			continue
		}
		for i, v := range rpm {
			if v < 0 || v > 100_000_000 {
				bad(fmt.Sprintf("limits.tier_rpm.%s[%d]", m, i), "must be between 0 (no limit) and 100000000")
			}
		}
	}
	if c.Billing.HoldTTL < time.Minute || c.Billing.HoldTTL > 24*time.Hour {
		bad("billing.hold_ttl", "must be between 1m and 24h, and longer than any request runs")
	}
	if c.Billing.UsageRetention < 24*time.Hour {
		bad("billing.usage_retention", "must be at least 24h")
	}
	if c.Billing.MinuteRollupRetention < 2*time.Hour {
		bad("billing.minute_rollup_retention", "must be at least 2h")
	}
}

// RedactedRedisURL is the Redis URL without its password, for logs.
func (c *Config) RedactedRedisURL() string {
	u, err := url.Parse(c.Redis.URL)
	if err != nil {
		return "(unparseable)"
	}
	return strings.Replace(u.Redacted(), "xxxxx", "***", 1)
}
