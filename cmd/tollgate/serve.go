package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/admin"
	"github.com/tollgate-dev/tollgate/internal/api"
	"github.com/tollgate-dev/tollgate/internal/async"
	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/chat"
	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/dashboard"
	"github.com/tollgate-dev/tollgate/internal/gate"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/indexing"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/server"
	"github.com/tollgate-dev/tollgate/internal/session"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
	"github.com/tollgate-dev/tollgate/internal/upstream"
)

func serveCmd(e *env) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Tollgate server (embedded SQLite by default)",
		Long: "Run the Tollgate server. With no configuration it stores everything in ./tollgate-data\n" +
			"(SQLite) and listens on 127.0.0.1:8080. On first start it creates an organization, an\n" +
			"owner and an admin token, and prints them once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.load(e)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), e, c)
		},
	}
	f.register(cmd, true)
	return cmd
}

func serve(ctx context.Context, e *env, c config.Config) error {
	log := newLogger(e.stderr, c)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()

	now := func() time.Time { return time.Now().UTC() }
	a, err := newApp(c, st, log, now)
	if err != nil {
		return err
	}
	if err := bootstrapIfEmpty(ctx, e, c, st, a.svc); err != nil {
		return err
	}

	// Listen before serving so a taken port fails start-up, loudly.
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set --listen or TOLLGATE_LISTEN to a free address)", c.Listen, err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: c.HTTP.ReadHeaderTimeout,
		IdleTimeout:       c.HTTP.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { auth.RunFlusher(workers, c.Keys.LastUsedFlush, log, a.keyAuth, a.adminAuth) })
	// Async jobs still running when the workers stop go back to the queue.
	wg.Go(func() { a.jobs.Run(workers) })
	wg.Go(func() { a.gate.Run(workers, c.Billing.UsageRetention, c.Billing.MinuteRollupRetention) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + strings.TrimRight(c.BasePath, "/")
	fmt.Fprintf(e.stdout, "Tollgate listening on %s (database: %s)\n", url, st.Backend())
	fmt.Fprintf(e.stdout, "Dashboard: %s/dashboard/ (sign in with the owner's email and password)\n", url)
	log.Info("serving", "addr", ln.Addr().String(), "database", st.Backend(), "version", version)

	select {
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		// Staged shutdown: fail readiness, drain in-flight requests, then
		// flush last-used times, then close the store (deferred).
		log.Info("shutting down; draining in-flight requests", "timeout", c.HTTP.ShutdownTimeout)
		a.health.Drain()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.HTTP.ShutdownTimeout)
		if err = srv.Shutdown(sctx); err != nil {
			err = fmt.Errorf("drain requests: %w", err)
		}
		cancel()
		if e := <-serveErr; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
	}
	stopWorkers()
	wg.Wait()
	a.close()
	log.Info("stopped")
	return err
}

// app is the wired server: everything serve runs, built from a config and
// an open store, so tests can run the same wiring with their own clock.
type app struct {
	handler   http.Handler
	keyAuth   *auth.KeyAuthenticator
	adminAuth *auth.AdminAuthenticator
	svc       *governance.Service
	health    *server.Health
	router    *upstream.Router
	registry  *prometheus.Registry
	jobs      *async.Service
	gate      *gate.Gate
	chat      *chat.Service
	search    *searchStack
	// closeLimiter closes the limiter's Redis connection, if any.
	closeLimiter func() error
}

// close flushes queued usage and releases connections, after the HTTP
// server and the workers have stopped.
func (a *app) close() {
	a.gate.Close()
	_ = a.closeLimiter()
	a.search.close()
}

func newApp(c config.Config, st *sqlstore.Store, log *slog.Logger, now func() time.Time) (*app, error) {
	keyAuth, err := auth.NewKeyAuthenticator(st, auth.KeyOptions{Prefix: c.Keys.Prefix,
		CacheSize: c.Keys.CacheSize, CacheTTL: c.Keys.CacheTTL, Now: now})
	if err != nil {
		return nil, err
	}
	adminAuth := auth.NewAdminAuthenticator(st, c.Keys.AdminPrefix, c.Keys.Prefix, now)
	svc := governance.New(st, governance.Config{KeyPrefix: c.Keys.Prefix, AdminPrefix: c.Keys.AdminPrefix,
		RotationGrace: c.Keys.RotationGrace}, keyAuth, now)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	chatSvc, router, err := newInference(c, log, reg, now)
	if err != nil {
		return nil, err
	}
	lim, closeLimiter, err := newLimiter(c, log, now)
	if err != nil {
		return nil, err
	}
	g, err := newGate(context.Background(), c, st, lim, reg, log, now)
	if err != nil {
		_ = closeLimiter()
		return nil, err
	}
	chatSvc.SetGate(g)
	srch, err := newSearch(context.Background(), c, log)
	if err != nil {
		g.Close()
		_ = closeLimiter()
		return nil, err
	}
	if srch.engine != nil {
		chatSvc.SetGrounding(srch.engine, router.HasRoute)
	}
	jobs := async.New(st, async.NewChatRunner(chatSvc), async.Options{Workers: c.Async.Workers, TTL: c.Async.TTL,
		Now: now, Log: log})
	health := server.NewHealth(st)
	billingSvc := billing.NewService(st, nil, now)
	adminDeps := &admin.Deps{Service: svc, Billing: billingSvc, Auth: adminAuth, Log: log, Now: now,
		MaxBody: c.HTTP.MaxBodyBytes, TrustProxy: c.TrustProxy}
	if srch.index != nil {
		adminDeps.Index = indexing.New(srch.index, indexing.Options{})
	}
	dash, err := dashboard.New(dashboard.Deps{Gov: svc, Billing: billingSvc, Sessions: session.New(st, svc, session.Config{}, now),
		Log: log, Now: now, BasePath: c.BasePath, TrustProxy: c.TrustProxy, RotationGrace: c.Keys.RotationGrace,
		TierRPM: c.Limits.TierRPM})
	if err != nil {
		g.Close()
		_ = closeLimiter()
		srch.close()
		return nil, err
	}
	handler := server.New(log, c.BasePath, health, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		&api.Deps{Auth: keyAuth, Service: svc, Chat: chatSvc, Log: log, Now: now,
			MaxBody: c.HTTP.MaxBodyBytes, TrustProxy: c.TrustProxy, KeepAlive: c.Routing.StreamKeepAlive, Async: jobs},
		adminDeps,
		func(mux *http.ServeMux) {
			api.RegisterSearch(mux, api.SearchDeps{Auth: keyAuth, Search: srch.provider, Log: log, MaxBody: c.HTTP.MaxBodyBytes,
				Now: now, Gate: g})
		},
		dash.Register)
	return &app{handler: handler, keyAuth: keyAuth, adminAuth: adminAuth, svc: svc, health: health,
		router: router, registry: reg, jobs: jobs, gate: g, chat: chatSvc, closeLimiter: closeLimiter, search: srch}, nil
}

// bootstrapIfEmpty creates the first organization, its owner and an owner
// admin token on an empty store, and prints the secrets exactly once.
func bootstrapIfEmpty(ctx context.Context, e *env, c config.Config, st *sqlstore.Store, svc *governance.Service) error {
	orgs, err := st.ListOrgs(ctx)
	if err != nil {
		return err
	}
	if len(orgs) > 0 {
		return nil
	}
	b, err := svc.CreateOrg(ctx, platform.SystemActor("bootstrap"), c.Bootstrap.OrgName, c.Bootstrap.OwnerEmail)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	printBootstrap(e, b, "First start: created your organization. These secrets are shown once; store them now.")
	return nil
}

func printBootstrap(e *env, b *governance.Bootstrap, headline string) {
	if e.jsonOut {
		_ = e.printJSON(bootstrapJSON(b))
		return
	}
	w := e.stdout
	fmt.Fprintf(w, "\n%s\n\n", headline)
	fmt.Fprintf(w, "  Organization:  %s (%s)\n", b.Org.Name, b.Org.ID)
	fmt.Fprintf(w, "  Owner login:   %s\n", b.User.Email)
	if b.Password != "" {
		fmt.Fprintf(w, "  Password:      %s\n", b.Password)
	}
	fmt.Fprintf(w, "  Admin token:   %s\n\n", b.TokenSecret)
	fmt.Fprintf(w, "Use the admin token with the CLI:\n\n")
	fmt.Fprintf(w, "  export TOLLGATE_ADMIN_TOKEN=%s\n", b.TokenSecret)
	fmt.Fprintf(w, "  tollgate groups create my-app\n")
	fmt.Fprintf(w, "  tollgate billing topup 50      # credits are prepaid: requests are refused (402) at zero\n\n")
	fmt.Fprintf(w, "Lost it? `tollgate admin create-token` issues a new one offline.\n\n")
}

func bootstrapJSON(b *governance.Bootstrap) map[string]any {
	return map[string]any{
		"org_id": b.Org.ID, "org_name": b.Org.Name, "owner_email": b.User.Email,
		"owner_password": b.Password, "admin_token": b.TokenSecret, "admin_token_id": b.Token.ID,
	}
}
