// Package metering defines the usage record every inference request yields
// (finished, failed or aborted by the client) and the Sink that receives it.
// This package's sink logs each record and keeps Prometheus counters; the
// durable, billed meter plugs in behind the same interface.
package metering

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// Outcome says how a request ended.
type Outcome string

// Outcomes.
const (
	OutcomeOK      Outcome = "ok"
	OutcomeError   Outcome = "error"
	OutcomeAborted Outcome = "aborted" // the client went away before the end
)

// Record is the usage of one request.
type Record struct {
	RequestID  string
	OrgID      string
	GroupID    string
	KeyID      string
	Endpoint   string // e.g. "chat.completions", "async.chat.completions"
	Model      string // the public model asked for
	ServedBy   string // the public model that served it (differs after a fallback)
	Deployment string // the upstream deployment
	Stream     bool

	PromptTokens     int
	CompletionTokens int
	ReasoningTokens  int
	TotalTokens      int
	CitationTokens   int
	SearchQueries    int
	ContextSize      pricing.ContextSize
	// TokensEstimated is set when Tollgate counted the tokens itself because
	// the upstream reported none.
	TokensEstimated bool

	// Cost is what the request is billed, priced by the price version
	// Cost.PriceID in effect when it started.
	Cost pricing.Cost

	Status    int // the HTTP status the client got (200 for a stream that failed midway)
	Outcome   Outcome
	Error     string // a short, client-safe reason when Outcome is not ok
	Attempts  int
	StartedAt time.Time
	Latency   time.Duration
	// TTFT is the time to the first token streamed to the client.
	TTFT time.Duration
}

// Sink receives usage records. Record must not block the request for long
// and must be safe for concurrent use.
type Sink interface {
	Record(ctx context.Context, r Record)
}

// LogSink logs every record and counts it in Prometheus metrics.
type LogSink struct {
	log      *slog.Logger
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ttft     *prometheus.HistogramVec
}

var _ Sink = (*LogSink)(nil)

// NewLogSink returns a sink that logs to log and registers its metrics with
// reg.
func NewLogSink(log *slog.Logger, reg prometheus.Registerer) *LogSink {
	s := &LogSink{
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_inference_requests_total",
			Help: "Inference requests by endpoint, model, deployment and outcome.",
		}, []string{"endpoint", "model", "deployment", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_inference_tokens_total",
			Help: "Tokens by model and kind (prompt, completion, reasoning).",
		}, []string{"model", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_inference_duration_seconds",
			Help:    "Request duration, from receipt to the last byte.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"endpoint", "model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_inference_ttft_seconds",
			Help:    "Time to the first streamed token.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"model"}),
	}
	if reg != nil {
		reg.MustRegister(s.requests, s.tokens, s.latency, s.ttft)
	}
	return s
}

// Record logs r and updates the counters.
func (s *LogSink) Record(ctx context.Context, r Record) {
	s.requests.WithLabelValues(r.Endpoint, r.Model, r.Deployment, string(r.Outcome)).Inc()
	s.tokens.WithLabelValues(r.Model, "prompt").Add(float64(r.PromptTokens))
	s.tokens.WithLabelValues(r.Model, "completion").Add(float64(r.CompletionTokens))
	if r.ReasoningTokens > 0 {
		s.tokens.WithLabelValues(r.Model, "reasoning").Add(float64(r.ReasoningTokens))
	}
	s.latency.WithLabelValues(r.Endpoint, r.Model).Observe(r.Latency.Seconds())
	if r.Stream && r.TTFT > 0 {
		s.ttft.WithLabelValues(r.Model).Observe(r.TTFT.Seconds())
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "usage",
		slog.String("request_id", r.RequestID), slog.String("org_id", r.OrgID),
		slog.String("group_id", r.GroupID), slog.String("key_id", r.KeyID),
		slog.String("endpoint", r.Endpoint), slog.String("model", r.Model),
		slog.String("served_by", r.ServedBy), slog.String("deployment", r.Deployment),
		slog.Bool("stream", r.Stream), slog.Int("prompt_tokens", r.PromptTokens),
		slog.Int("completion_tokens", r.CompletionTokens), slog.Int("reasoning_tokens", r.ReasoningTokens),
		slog.Bool("tokens_estimated", r.TokensEstimated), slog.Int("status", r.Status),
		slog.String("outcome", string(r.Outcome)), slog.String("error", r.Error),
		slog.Int("attempts", r.Attempts), slog.Duration("latency", r.Latency), slog.Duration("ttft", r.TTFT))
}
