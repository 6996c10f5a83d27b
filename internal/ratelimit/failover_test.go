package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

// logCount counts log records by level.
type logCount struct {
	mu sync.Mutex
	n  map[slog.Level]int
}

func (h *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCount) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logCount) WithGroup(string) slog.Handler            { return h }
func (h *logCount) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = make(map[slog.Level]int)
	}
	h.n[r.Level]++
	return nil
}

func (h *logCount) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[level]
}

func (h *logCount) check(t *testing.T, warns, infos int) {
	t.Helper()
	if w, i := h.count(slog.LevelWarn), h.count(slog.LevelInfo); w != warns || i != infos {
		t.Errorf("logged %d warnings and %d info lines, want %d and %d", w, i, warns, infos)
	}
}

// TestFailoverRedisDown points the primary at a closed port.
func TestFailoverRedisDown(t *testing.T) {
	ctx := context.Background()
	// One attempt per call: go-redis otherwise retries a refused dial 5 times
	// 100ms apart.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	rule := ratelimit.Rule{Key: "k", Limit: 5, Period: time.Minute, Cost: 1}
	slot := ratelimit.Slot{Key: "s", Limit: 1}

	t.Run("closed", func(t *testing.T) {
		logs := &logCount{}
		f := ratelimit.NewFailover(ratelimit.NewRedis(client, "x:"), ratelimit.NewLocal(nil), ratelimit.FailClosed, slog.New(logs))
		ratelimit.SetProbe(f, 0) // every call tries Redis, and still one warning
		for range 20 {
			_, err := f.Take(ctx, []ratelimit.Rule{rule})
			var perr *platform.Error
			if !errors.As(err, &perr) || perr.Kind != platform.KindUnavailable || perr.RetryAfter != time.Second ||
				!strings.Contains(perr.Message, "rate-limit store is unreachable") {
				t.Fatalf("Take = %v, want an unavailable platform.Error saying the store is unreachable, retry in 1s", err)
			}
		}
		if _, err := f.Acquire(ctx, []ratelimit.Slot{slot}, "h", time.Second); platform.ErrorKind(err) != platform.KindUnavailable {
			t.Errorf("Acquire = %v, want unavailable", err)
		}
		if err := f.Charge(ctx, []ratelimit.Rule{rule}); platform.ErrorKind(err) != platform.KindUnavailable {
			t.Errorf("Charge = %v, want unavailable", err)
		}
		if err := f.Release(ctx, []ratelimit.Slot{slot}, "h"); platform.ErrorKind(err) != platform.KindUnavailable {
			t.Errorf("Release = %v, want unavailable", err)
		}
		logs.check(t, 1, 0)
	})

	t.Run("local", func(t *testing.T) {
		logs := &logCount{}
		f := ratelimit.NewFailover(ratelimit.NewRedis(client, "x:"), ratelimit.NewLocal(nil), ratelimit.FailLocal, slog.New(logs))
		ratelimit.SetProbe(f, 0)
		admitted := 0
		for range 20 {
			d, err := f.Take(ctx, []ratelimit.Rule{rule})
			if err != nil {
				t.Fatalf("Take = %v, want an answer from the local limiter", err)
			}
			if d.Allowed {
				admitted++
			}
		}
		if admitted != 5 {
			t.Errorf("the local fallback admitted %d of 20, want its limit of 5", admitted)
		}
		for _, h := range []string{"h1", "h2"} {
			d, err := f.Acquire(ctx, []ratelimit.Slot{slot}, h, time.Minute)
			if err != nil || d.Allowed != (h == "h1") {
				t.Errorf("Acquire for %s = %+v, %v; want only h1 admitted", h, d, err)
			}
		}
		if err := f.Release(ctx, []ratelimit.Slot{slot}, "h1"); err != nil {
			t.Errorf("Release = %v", err)
		}
		if d, err := f.Acquire(ctx, []ratelimit.Slot{slot}, "h2", time.Minute); err != nil || !d.Allowed {
			t.Errorf("Acquire after Release = %+v, %v; want admitted", d, err)
		}
		if err := f.Charge(ctx, []ratelimit.Rule{rule}); err != nil {
			t.Errorf("Charge = %v", err)
		}
		logs.check(t, 1, 0)
	})
}

// flaky is a primary that fails while err is set.
type flaky struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (p *flaky) set(err error) { p.mu.Lock(); p.err = err; p.mu.Unlock() }

func (p *flaky) answer() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return p.err
}

func (p *flaky) Take(_ context.Context, rules []ratelimit.Rule) (ratelimit.Decision, error) {
	if err := p.answer(); err != nil {
		return ratelimit.Decision{}, err
	}
	return ratelimit.Decision{Allowed: true, Denied: -1, Results: make([]ratelimit.Result, len(rules))}, nil
}
func (p *flaky) Charge(context.Context, []ratelimit.Rule) error { return p.answer() }
func (p *flaky) Acquire(_ context.Context, slots []ratelimit.Slot, _ string, _ time.Duration) (ratelimit.Decision, error) {
	if err := p.answer(); err != nil {
		return ratelimit.Decision{}, err
	}
	return ratelimit.Decision{Allowed: true, Denied: -1, Results: make([]ratelimit.Result, len(slots))}, nil
}
func (p *flaky) Release(context.Context, []ratelimit.Slot, string) error { return p.answer() }

func TestFailoverRecovers(t *testing.T) {
	ctx := context.Background()
	down := errors.New("connection refused")
	p := &flaky{}
	logs := &logCount{}
	f := ratelimit.NewFailover(p, nil, ratelimit.FailClosed, slog.New(logs))
	ratelimit.SetProbe(f, 0)
	rule := []ratelimit.Rule{{Key: "k", Limit: 1, Period: time.Second, Cost: 1}}
	steps := []struct {
		err          error
		calls        int
		warns, infos int
	}{
		{nil, 3, 0, 0},
		{down, 5, 1, 0},
		{nil, 3, 1, 1},
		{down, 2, 2, 1},
		{nil, 1, 2, 2},
	}
	for i, s := range steps {
		p.set(s.err)
		var wg sync.WaitGroup
		for range s.calls {
			wg.Go(func() {
				d, err := f.Take(ctx, rule)
				if (s.err == nil) != (err == nil) || s.err == nil && !d.Allowed {
					t.Errorf("step %d: Take = %+v, %v", i, d, err)
				}
			})
		}
		wg.Wait()
		if w, in := logs.count(slog.LevelWarn), logs.count(slog.LevelInfo); w != s.warns || in != s.infos {
			t.Errorf("step %d: %d warnings and %d info lines so far, want %d and %d", i, w, in, s.warns, s.infos)
		}
	}
}

// TestFailoverProbes checks that a down primary is tried once per probe
// interval, not once per request.
func TestFailoverProbes(t *testing.T) {
	ctx := context.Background()
	p := &flaky{err: errors.New("connection refused")}
	f := ratelimit.NewFailover(p, ratelimit.NewLocal(nil), ratelimit.FailLocal, nil)
	ratelimit.SetProbe(f, 50*time.Millisecond)
	rule := []ratelimit.Rule{{Key: "k", Limit: 100, Period: time.Second, Cost: 1}}
	for range 10 {
		if _, err := f.Take(ctx, rule); err != nil {
			t.Fatal(err)
		}
	}
	if p.calls != 1 {
		t.Errorf("10 requests called the down primary %d times, want 1", p.calls)
	}
	time.Sleep(60 * time.Millisecond)
	p.set(nil)
	for range 10 {
		if _, err := f.Take(ctx, rule); err != nil {
			t.Fatal(err)
		}
	}
	if p.calls != 11 {
		t.Errorf("after the probe interval the primary answered %d calls, want 11 (one probe, then all)", p.calls)
	}
}

// TestFailoverCallerErrors checks that errors that are not the store's
// pass through and do not mark it down.
func TestFailoverCallerErrors(t *testing.T) {
	logs := &logCount{}
	p := &flaky{}
	f := ratelimit.NewFailover(p, ratelimit.NewLocal(nil), ratelimit.FailLocal, slog.New(logs))

	bad := []ratelimit.Rule{{Key: "", Limit: 1, Period: time.Second}}
	p.set(ratelimit.ErrInvalid)
	if _, err := f.Take(context.Background(), bad); !errors.Is(err, ratelimit.ErrInvalid) {
		t.Errorf("invalid rule: %v, want ErrInvalid", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.set(context.Canceled)
	if _, err := f.Take(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
	logs.check(t, 0, 0)
}

// TestFailoverNoPanic checks the degenerate wiring: no primary, no
// fallback, no logger, an unknown policy. It fails closed.
func TestFailoverNoPanic(t *testing.T) {
	f := ratelimit.NewFailover(nil, nil, ratelimit.Policy("bogus"), nil)
	if _, err := f.Take(context.Background(), nil); platform.ErrorKind(err) != platform.KindUnavailable {
		t.Errorf("Take = %v, want unavailable", err)
	}
	f = ratelimit.NewFailover(nil, nil, ratelimit.FailLocal, nil)
	if err := f.Release(context.Background(), nil, "h"); platform.ErrorKind(err) != platform.KindUnavailable {
		t.Errorf("Release = %v, want unavailable", err)
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    ratelimit.Policy
		wantErr bool
	}{
		{"closed", ratelimit.FailClosed, false},
		{"local", ratelimit.FailLocal, false},
		{" Local ", ratelimit.FailLocal, false},
		{"", "", true},
		{"open", "", true},
	}
	for _, tt := range tests {
		got, err := ratelimit.ParsePolicy(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParsePolicy(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
