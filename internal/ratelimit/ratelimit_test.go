package ratelimit_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

// benchRules are 1024 keys of 60 per minute, each request keeping its
// bucket busy for a second as in a gateway's steady state, with a burst
// so deep that every request passes: the benchmarks measure decisions, not
// refusals.
func benchRules() [][]ratelimit.Rule {
	rules := make([][]ratelimit.Rule, 1024)
	for i := range rules {
		rules[i] = []ratelimit.Rule{{Key: fmt.Sprint("bench:", i), Limit: 60, Period: time.Minute, Burst: 1e9, Cost: 1}}
	}
	return rules
}

// latencies collects a sample of per-call latencies from many goroutines.
type latencies struct {
	mu     sync.Mutex
	sample []time.Duration
}

func (l *latencies) add(s []time.Duration) {
	l.mu.Lock()
	l.sample = append(l.sample, s...)
	l.mu.Unlock()
}

// report adds decisions/s and the p99 latency of the sample to b's output.
func (l *latencies) report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	if len(l.sample) > 0 {
		slices.Sort(l.sample)
		b.ReportMetric(float64(l.sample[len(l.sample)*99/100].Nanoseconds()), "p99-ns")
	}
}

// take runs calls and times every every-th one: timing each call of a
// sub-microsecond operation would slow it measurably.
func take(b *testing.B, l ratelimit.Limiter, rules [][]ratelimit.Rule, start, every int, next func() bool) []time.Duration {
	ctx := context.Background()
	var sample []time.Duration
	for i := start; next(); i++ {
		timed := i%every == 0
		var t0 time.Time
		if timed {
			t0 = time.Now()
		}
		d, err := l.Take(ctx, rules[i%len(rules)])
		if err != nil || !d.Allowed {
			b.Errorf("Take = %+v, %v", d, err)
			return sample
		}
		if timed {
			sample = append(sample, time.Since(t0))
		}
	}
	return sample
}

func BenchmarkLocalTake(b *testing.B) {
	rules := benchRules()
	b.Run("single", func(b *testing.B) {
		l := ratelimit.NewLocal(nil)
		var lat latencies
		b.ReportAllocs()
		lat.add(take(b, l, rules, 0, 16, b.Loop))
		lat.report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		l := ratelimit.NewLocal(nil)
		var lat latencies
		var worker sync.Mutex
		n := 0
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			worker.Lock()
			n++
			start := n * 101
			worker.Unlock()
			lat.add(take(b, l, rules, start, 16, pb.Next))
		})
		lat.report(b)
	})
}

func BenchmarkRedisTake(b *testing.B) {
	c := redisClient(b)
	l := ratelimit.NewRedis(c, redisPrefix(b, c))
	rules := benchRules()
	var lat latencies
	var worker sync.Mutex
	n := 0
	b.SetParallelism(8) // calls wait on the network, not the CPU
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		worker.Lock()
		n++
		start := n * 101
		worker.Unlock()
		lat.add(take(b, l, rules, start, 1, pb.Next))
	})
	lat.report(b)
}
