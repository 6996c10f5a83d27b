package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// Deployment is one place a model can run: a provider plus the upstream's
// own model name, with a weight and a breaker.
type Deployment struct {
	Name     string
	Model    string // the model name the upstream expects
	Weight   int
	Provider Provider
	Breaker  *Breaker
}

// Route is how one public model is served: its deployments and the models
// to fall back to when all of them fail.
type Route struct {
	Deployments []*Deployment
	Fallbacks   []string
}

// RouterOptions tune retries.
type RouterOptions struct {
	// Retries is how many extra attempts a request gets across deployments
	// (before any byte reached the client).
	Retries int
	// Backoff is the first pause between attempts; it doubles, with jitter.
	Backoff time.Duration
	// MaxRetryAfter caps how long an upstream's Retry-After can make us wait
	// before trying elsewhere.
	MaxRetryAfter time.Duration
}

// Router picks deployments for models and retries failures.
type Router struct {
	routes map[string]*Route
	opts   RouterOptions
	sleep  func(ctx context.Context, d time.Duration) error
}

// NewRouter returns a router over routes keyed by public model ID.
func NewRouter(routes map[string]*Route, o RouterOptions) *Router {
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 2 * time.Second
	}
	return &Router{routes: routes, opts: o, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Attempt describes where a request was finally served.
type Attempt struct {
	Model      string // public model that served it (a fallback's, if one was used)
	Deployment string
	Attempts   int
}

// Breakers reports each deployment's breaker state, for metrics and health.
func (r *Router) Breakers() map[string]BreakerState {
	out := map[string]BreakerState{}
	for _, rt := range r.routes {
		for _, d := range rt.Deployments {
			out[d.Name] = d.Breaker.State()
		}
	}
	return out
}

// HasRoute reports whether model has at least one deployment.
func (r *Router) HasRoute(model string) bool {
	rt, ok := r.routes[model]
	return ok && len(rt.Deployments) > 0
}

// candidates lists deployments in try order: the model's own, weighted at
// random among those whose breaker allows traffic, then its fallbacks'.
func (r *Router) candidates(model string) []candidate {
	var out []candidate
	seen := map[string]bool{}
	var add func(m string)
	add = func(m string) {
		if seen[m] {
			return
		}
		seen[m] = true
		rt, ok := r.routes[m]
		if !ok {
			return
		}
		for _, d := range weightedOrder(rt.Deployments) {
			out = append(out, candidate{model: m, d: d})
		}
		for _, fb := range rt.Fallbacks {
			add(fb)
		}
	}
	add(model)
	return out
}

type candidate struct {
	model string
	d     *Deployment
}

// weightedOrder shuffles deployments so each comes first with probability
// proportional to its weight.
func weightedOrder(ds []*Deployment) []*Deployment {
	rest := append([]*Deployment(nil), ds...)
	out := make([]*Deployment, 0, len(ds))
	for len(rest) > 0 {
		total := 0
		for _, d := range rest {
			total += max(d.Weight, 1)
		}
		n := rand.IntN(total)
		for i, d := range rest {
			if n -= max(d.Weight, 1); n < 0 {
				out = append(out, d)
				rest = append(rest[:i], rest[i+1:]...)
				break
			}
		}
	}
	return out
}

// Complete runs a non-streaming request with retries and fallbacks.
func (r *Router) Complete(ctx context.Context, model string, req *Request) (*Response, Attempt, error) {
	var resp *Response
	at, err := r.try(ctx, model, func(ctx context.Context, c candidate) error {
		rr := *req
		rr.Model = c.d.Model
		var err error
		resp, err = c.d.Provider.Complete(ctx, &rr)
		return err
	})
	return resp, at, err
}

// Stream opens a stream with retries and fallbacks. A deployment counts as
// working once it delivered its first chunk; until then a failure moves on
// to the next one, and nothing has reached the client. The first chunk is
// replayed by the returned stream.
func (r *Router) Stream(ctx context.Context, model string, req *Request) (Stream, Attempt, error) {
	var out Stream
	at, err := r.try(ctx, model, func(ctx context.Context, c candidate) error {
		rr := *req
		rr.Model, rr.Stream = c.d.Model, true
		s, err := c.d.Provider.Stream(ctx, &rr)
		if err != nil {
			return err
		}
		first, err := s.Recv()
		if err != nil && err != io.EOF {
			s.Close()
			return err
		}
		out = &peeked{Stream: s, first: first, firstErr: err}
		return nil
	})
	return out, at, err
}

// peeked replays a stream's first chunk.
type peeked struct {
	Stream
	first    Chunk
	firstErr error
	used     bool
}

func (p *peeked) Recv() (Chunk, error) {
	if !p.used {
		p.used = true
		return p.first, p.firstErr
	}
	return p.Stream.Recv()
}

// try runs call on candidates until one succeeds, the error is not
// retryable, or attempts run out.
func (r *Router) try(ctx context.Context, model string, call func(context.Context, candidate) error) (Attempt, error) {
	cands := r.candidates(model)
	if len(cands) == 0 {
		return Attempt{Model: model}, fmt.Errorf("model %q: %w", model, ErrNoRoute)
	}
	var (
		lastErr  error
		last     = candidate{model: model, d: &Deployment{}}
		attempts int
		backoff  = r.opts.Backoff
		skipped  int
	)
	for i := 0; attempts <= r.opts.Retries; i++ {
		c := cands[i%len(cands)]
		if !c.d.Breaker.Allow() {
			skipped++
			if skipped >= len(cands) && attempts == 0 && lastErr == nil {
				return Attempt{Model: model}, &Error{Deployment: "all", Status: http.StatusServiceUnavailable,
					Message: "every deployment of this model is failing and was taken out of rotation; retry shortly"}
			}
			if skipped > 4*len(cands) {
				break
			}
			continue
		}
		if attempts > 0 && i >= len(cands) {
			// Every candidate has had a go: back off before trying again,
			// honouring the upstream's Retry-After within reason.
			wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
			if ue, ok := AsError(lastErr); ok && ue.RetryAfter > 0 {
				wait = min(ue.RetryAfter, r.opts.MaxRetryAfter)
			}
			if err := r.sleep(ctx, wait); err != nil {
				return Attempt{Model: c.model, Deployment: c.d.Name, Attempts: attempts}, err
			}
			backoff *= 2
		}
		attempts++
		err := call(ctx, c)
		if err == nil {
			c.d.Breaker.Success()
			return Attempt{Model: c.model, Deployment: c.d.Name, Attempts: attempts}, nil
		}
		if ctx.Err() != nil {
			// The client went away: not the deployment's fault.
			return Attempt{Model: c.model, Deployment: c.d.Name, Attempts: attempts}, ctx.Err()
		}
		ue, ok := AsError(err)
		if !ok {
			return Attempt{Model: c.model, Deployment: c.d.Name, Attempts: attempts}, err
		}
		if !ue.Retryable() {
			// The request itself is at fault; the deployment is healthy.
			c.d.Breaker.Success()
			return Attempt{Model: c.model, Deployment: c.d.Name, Attempts: attempts}, err
		}
		if ue.Status != http.StatusTooManyRequests {
			// A rate-limited deployment is busy, not broken: try another, but
			// keep it in rotation.
			c.d.Breaker.Failure()
		}
		lastErr, last = err, c
	}
	if lastErr == nil {
		lastErr = errors.New("no deployment accepted the request")
	}
	// Report the last deployment tried, so the failure is attributed.
	return Attempt{Model: last.model, Deployment: last.d.Name, Attempts: attempts}, lastErr
}
