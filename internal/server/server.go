// Package server assembles Tollgate's HTTP surface: the inference API, the
// management API, health checks and the middleware every request passes
// through.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/internal/admin"
	"github.com/tollgate-dev/tollgate/internal/api"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/middleware"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Pinger reports whether the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health serves /healthz (the process is up) and /readyz (it can serve:
// the store answers and shutdown has not begun).
type Health struct {
	store    Pinger
	draining atomic.Bool
}

// NewHealth returns health checks over a store.
func NewHealth(s Pinger) *Health { return &Health{store: s} }

// Drain makes /readyz fail so load balancers stop sending traffic while
// in-flight requests finish.
func (h *Health) Drain() { h.draining.Store(true) }

func (h *Health) register(mux *http.ServeMux, log *slog.Logger) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if h.draining.Load() {
			httpjson.Error(w, r, log, platform.Errorf(platform.KindUnavailable, "shutting down"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.store.Ping(ctx); err != nil {
			log.Warn("readiness: store unreachable", "err", err)
			httpjson.Error(w, r, log, platform.Errorf(platform.KindUnavailable, "database unreachable"))
			return
		}
		httpjson.Encode(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// New returns the root handler. metrics serves Prometheus' /metrics;
// extra registers further routes (search, the index API).
func New(log *slog.Logger, basePath string, health *Health, metrics http.Handler, inference *api.Deps, management *admin.Deps,
	extra ...func(*http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	health.register(mux, log)
	mux.Handle("GET /metrics", metrics)
	api.Register(mux, inference)
	admin.Register(mux, management)
	for _, register := range extra {
		register(mux)
	}
	mux.Handle("/", httpjson.NotFound(log))
	return middleware.Chain(mux,
		middleware.RequestID,
		middleware.AccessLog(log),
		middleware.Recover(log),
		middleware.CleanPath(basePath, log),
	)
}
