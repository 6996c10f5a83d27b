package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/internal/catalog"
	"github.com/tollgate-dev/tollgate/internal/chat"
	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/tokens"
	"github.com/tollgate-dev/tollgate/internal/upstream"
)

// upstreamClient is the HTTP client of one upstream: pooled connections, a
// bounded dial, and a deadline for the response headers (a stream's body
// then flows as long as it needs).
func upstreamClient(u config.UpstreamConfig) *http.Client {
	timeout := u.Timeout
	if timeout <= 0 {
		timeout = 120 * time.Second
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
	}}
}

func provider(u config.UpstreamConfig) (upstream.Provider, error) {
	hc := upstreamClient(u)
	switch u.Provider {
	case "openai", "perplexity":
		return upstream.NewOpenAI(upstream.OpenAIConfig{Name: u.Name, BaseURL: u.BaseURL, APIKey: u.APIKey,
			Headers: u.Headers, Passthrough: u.Provider == "perplexity", HTTPClient: hc}), nil
	case "anthropic":
		return upstream.NewAnthropic(upstream.AnthropicConfig{Name: u.Name, BaseURL: u.BaseURL, APIKey: u.APIKey,
			Headers: u.Headers, HTTPClient: hc}), nil
	}
	return nil, fmt.Errorf("upstream %s: unknown provider %q", u.Name, u.Provider)
}

// newInference builds the catalog, the router over the configured
// upstreams and the chat service.
func newInference(c config.Config, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*chat.Service, *upstream.Router, error) {
	providers := map[string]upstream.Provider{}
	for _, u := range c.Upstreams {
		p, err := provider(u)
		if err != nil {
			return nil, nil, err
		}
		providers[u.Name] = p
	}
	started := now()
	models := make([]catalog.Model, 0, len(c.Models))
	routes := map[string]*upstream.Route{}
	registered := map[string]bool{}
	for _, m := range c.Models {
		models = append(models, catalog.Model{ID: m.ID, Aliases: m.Aliases, Kind: catalog.Kind(m.Kind),
			OwnedBy: m.OwnedBy, ContextWindow: m.ContextWindow, DefaultMaxTokens: m.DefaultMaxTokens,
			MaxOutputTokens: m.MaxOutputTokens, Ground: m.Ground, Created: started})
		rt := &upstream.Route{Fallbacks: m.Fallbacks}
		for _, r := range m.Routes {
			name := r.Model
			if name == "" {
				name = m.ID
			}
			d := &upstream.Deployment{
				Name: r.Upstream + "/" + name, Model: name, Weight: r.Weight, Provider: providers[r.Upstream],
				Breaker: upstream.NewBreaker(c.Routing.BreakerFailures, c.Routing.BreakerCooldown, now),
			}
			rt.Deployments = append(rt.Deployments, d)
			if reg != nil && !registered[d.Name] {
				registered[d.Name] = true
				reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
					Name:        "tollgate_upstream_breaker_open",
					Help:        "1 while a deployment's circuit breaker keeps it out of rotation.",
					ConstLabels: prometheus.Labels{"deployment": d.Name},
				}, func() float64 {
					if d.Breaker.State() == upstream.BreakerClosed {
						return 0
					}
					return 1
				}))
			}
		}
		routes[m.ID] = rt
	}
	router := upstream.NewRouter(routes, upstream.RouterOptions{Retries: c.Routing.Retries, Backoff: c.Routing.Backoff})
	sink := metering.NewLogSink(log, reg)
	return chat.NewService(router, catalog.New(models), tokens.New(), sink, now), router, nil
}
