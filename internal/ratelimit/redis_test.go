package ratelimit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
	"github.com/tollgate-dev/tollgate/internal/ratelimit/ratelimittest"
)

const redisEnv = "TOLLGATE_TEST_REDIS_URL"

// redisClient connects to the test server (redisEnv, default the local one)
// and closes the client after the test. An unreachable server skips the
// test, or fails it when CI is true.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv(redisEnv)
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", redisEnv, err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("Redis at %s is unreachable and CI is set, so the Redis tests cannot be skipped: %v", opt.Addr, err)
		}
		t.Skipf("Redis at %s is unreachable (%v); start one or set %s=redis://host:6379/0", opt.Addr, err, redisEnv)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// redisPrefix returns a prefix no other test uses and deletes its keys
// after the test, though they would expire anyway.
func redisPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	prefix := "tollgate-test:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Logf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

func TestRedis(t *testing.T) {
	c := redisClient(t)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Limiter {
		return ratelimit.NewRedis(c, redisPrefix(t, c))
	})
}

// TestRedisShared runs two limiters, each with its own client, on one
// prefix: together they must admit exactly the limit.
func TestRedisShared(t *testing.T) {
	c1, c2 := redisClient(t), redisClient(t)
	prefix := redisPrefix(t, c1)
	ls := []ratelimit.Limiter{ratelimit.NewRedis(c1, prefix), ratelimit.NewRedis(c2, prefix)}
	const limit = 40
	rule := ratelimit.Rule{Key: "shared", Limit: limit, Period: time.Minute, Cost: 1}
	slot := ratelimit.Slot{Key: "shared", Limit: limit}
	tests := []struct {
		name string
		call func(l ratelimit.Limiter, i int) (ratelimit.Decision, error)
	}{
		{"Take", func(l ratelimit.Limiter, _ int) (ratelimit.Decision, error) {
			return l.Take(context.Background(), []ratelimit.Rule{rule})
		}},
		{"Acquire", func(l ratelimit.Limiter, i int) (ratelimit.Decision, error) {
			return l.Acquire(context.Background(), []ratelimit.Slot{slot}, fmt.Sprint("h", i), time.Minute)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admitted := make(chan bool, 3*limit)
			errs := make(chan error, 3*limit)
			start := make(chan struct{})
			for i := range 3 * limit {
				go func() {
					<-start
					d, err := tt.call(ls[i%2], i)
					admitted <- d.Allowed
					errs <- err
				}()
			}
			close(start)
			n := 0
			for range 3 * limit {
				if <-admitted {
					n++
				}
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if n != limit {
				t.Errorf("two limiters admitted %d of %d, want %d", n, 3*limit, limit)
			}
		})
	}
}

// TestRedisKeysExpire checks that every key the scripts write expires.
func TestRedisKeysExpire(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	prefix := redisPrefix(t, c)
	l := ratelimit.NewRedis(c, prefix)
	rules := []ratelimit.Rule{
		{Key: "a", Limit: 10, Period: time.Minute, Cost: 1},
		{Key: "b", Limit: 10, Period: time.Hour, Cost: 0},
	}
	if _, err := l.Take(ctx, rules); err != nil {
		t.Fatal(err)
	}
	if err := l.Charge(ctx, []ratelimit.Rule{{Key: "c", Limit: 1, Period: time.Second, Cost: 5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx, []ratelimit.Slot{{Key: "s", Limit: 2}}, "h", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		prefix + "rate:a": 6 * time.Second,  // one interval of 6s
		prefix + "rate:c": 5 * time.Second,  // five intervals of 1s
		prefix + "conc:s": 30 * time.Second, // the lease
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(want) {
		t.Errorf("keys %v, want those of %v (a Cost 0 on a full bucket stores nothing)", keys, want)
	}
	for key, ttl := range want {
		got, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got <= ttl-time.Second || got > ttl+time.Millisecond {
			t.Errorf("PTTL %s = %v, want about %v", key, got, ttl)
		}
	}
	if err := l.Release(ctx, []ratelimit.Slot{{Key: "s", Limit: 2}}, "h"); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, prefix+"conc:s").Result(); err != nil || n != 0 {
		t.Errorf("after the last release, the slot key exists (%d, %v)", n, err)
	}
}
