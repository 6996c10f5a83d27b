package upstream_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/upstream"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func msg(text string) []upstream.Message {
	return []upstream.Message{{Role: "user", Content: []byte(`"` + text + `"`)}}
}

func deployment(name string, f *upstreamtest.Server, weight int, now func() time.Time) *upstream.Deployment {
	return &upstream.Deployment{Name: name, Model: "m-" + name, Weight: weight,
		Provider: upstream.NewOpenAI(upstream.OpenAIConfig{Name: name, BaseURL: f.BaseURL()}),
		Breaker:  upstream.NewBreaker(3, time.Minute, now)}
}

func TestBreaker(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b := upstream.NewBreaker(2, time.Minute, c.now)
	steps := []struct {
		do    string
		allow bool
		state upstream.BreakerState
	}{
		{"allow", true, upstream.BreakerClosed},
		{"fail", true, upstream.BreakerClosed},
		{"fail", false, upstream.BreakerOpen},
		{"wait59s", false, upstream.BreakerOpen},
		{"wait2s", true, upstream.BreakerHalfOpen}, // one trial
		{"allow", false, upstream.BreakerHalfOpen}, // no second trial while the first runs
		{"fail", false, upstream.BreakerOpen},      // the trial failed
		{"wait61s", true, upstream.BreakerHalfOpen},
		{"succeed", true, upstream.BreakerClosed},
	}
	for i, s := range steps {
		switch s.do {
		case "fail":
			b.Failure()
		case "succeed":
			b.Success()
		case "wait59s":
			c.add(59 * time.Second)
		case "wait2s":
			c.add(2 * time.Second)
		case "wait61s":
			c.add(61 * time.Second)
		}
		var got bool
		if s.do != "fail" {
			got = b.Allow()
		} else {
			got = s.allow // Allow would consume a trial; checked on the next step
		}
		if got != s.allow || b.State() != s.state {
			t.Fatalf("step %d (%s): allow=%v state=%s, want %v %s", i, s.do, got, b.State(), s.allow, s.state)
		}
	}
}

func TestRouterWeightsAndFailover(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	heavy := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "heavy"})
	light := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "light"})
	r := upstream.NewRouter(map[string]*upstream.Route{
		"m": {Deployments: []*upstream.Deployment{deployment("heavy", heavy, 3, c.now), deployment("light", light, 1, c.now)}},
	}, upstream.RouterOptions{Retries: 1, Backoff: time.Millisecond})
	for range 400 {
		if _, _, err := r.Complete(context.Background(), "m", &upstream.Request{Messages: msg("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	// 3:1 weights → about 300:100; far outside chance below 240 or above 360.
	if h := heavy.Served(); h < 240 || h > 360 || h+light.Served() != 400 {
		t.Fatalf("served heavy %d, light %d; want about 300:100", h, light.Served())
	}
	if got := heavy.Requests()[0]["model"]; got != "m-heavy" {
		t.Fatalf("upstream model = %v, want the deployment's own name", got)
	}
}

func TestRouterFallbackModel(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	down := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 503})
	backup := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "from the fallback"})
	r := upstream.NewRouter(map[string]*upstream.Route{
		"primary":   {Deployments: []*upstream.Deployment{deployment("down", down, 1, c.now)}, Fallbacks: []string{"secondary"}},
		"secondary": {Deployments: []*upstream.Deployment{deployment("backup", backup, 1, c.now)}},
	}, upstream.RouterOptions{Retries: 2, Backoff: time.Millisecond})
	resp, at, err := r.Complete(context.Background(), "primary", &upstream.Request{Messages: msg("hi")})
	if err != nil || resp.Content != "from the fallback" || at.Model != "secondary" || at.Attempts != 2 {
		t.Fatalf("resp %+v at %+v err %v", resp, at, err)
	}
}

func TestRouterDoesNotRetryClientErrors(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	picky := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 400})
	other := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "x"})
	r := upstream.NewRouter(map[string]*upstream.Route{
		"m": {Deployments: []*upstream.Deployment{deployment("picky", picky, 1000, c.now), deployment("other", other, 1, c.now)}},
	}, upstream.RouterOptions{Retries: 3, Backoff: time.Millisecond})
	for range 5 {
		_, _, err := r.Complete(context.Background(), "m", &upstream.Request{Messages: msg("hi")})
		if ue, ok := upstream.AsError(err); ok && ue.Status == 400 {
			continue
		}
		if err != nil {
			t.Fatalf("err %v", err)
		}
	}
	if picky.Served()+other.Served() != 5 {
		t.Fatalf("400s were retried: %d + %d requests for 5 calls", picky.Served(), other.Served())
	}
	if r.Breakers()["picky"] != upstream.BreakerClosed {
		t.Fatal("a 400 counted against the deployment")
	}
}

func TestRouterStreamRetriesOnlyBeforeFirstChunk(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	failing := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 500})
	dropping := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "a b c d", FailMidStream: 2})
	r := upstream.NewRouter(map[string]*upstream.Route{
		"m": {Deployments: []*upstream.Deployment{deployment("failing", failing, 1000000, c.now), deployment("dropping", dropping, 1, c.now)}},
	}, upstream.RouterOptions{Retries: 2, Backoff: time.Millisecond})
	s, at, err := r.Stream(context.Background(), "m", &upstream.Request{Messages: msg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if at.Deployment != "dropping" || failing.Served() != 1 {
		t.Fatalf("attempt %+v; failing served %d", at, failing.Served())
	}
	var got string
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			t.Fatal("a dropped stream ended cleanly")
		}
		if err != nil {
			break
		}
		got += ch.Content
	}
	if got != "a b " || dropping.Served() != 1 {
		t.Fatalf("streamed %q, dropping served %d: a started stream must not be retried", got, dropping.Served())
	}
}

func TestRouterNoRoute(t *testing.T) {
	r := upstream.NewRouter(map[string]*upstream.Route{"m": {}}, upstream.RouterOptions{})
	if _, _, err := r.Complete(context.Background(), "m", &upstream.Request{}); !errors.Is(err, upstream.ErrNoRoute) {
		t.Fatalf("err = %v, want ErrNoRoute", err)
	}
}

func TestRouterRateLimitsDoNotTripBreaker(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	busy := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 429})
	r := upstream.NewRouter(map[string]*upstream.Route{
		"m": {Deployments: []*upstream.Deployment{deployment("busy", busy, 1, c.now)}},
	}, upstream.RouterOptions{Retries: 0})
	for range 10 {
		_, _, err := r.Complete(context.Background(), "m", &upstream.Request{Messages: msg("hi")})
		if ue, ok := upstream.AsError(err); !ok || ue.Status != 429 {
			t.Fatalf("err = %v, want the upstream's 429", err)
		}
	}
	if st := r.Breakers()["busy"]; st != upstream.BreakerClosed {
		t.Fatalf("breaker %s after 429s; a busy deployment is not a broken one", st)
	}
}
