// Package admin serves Tollgate's management API under /api/v1: the
// organization, members, API groups, API keys, admin tokens, the audit log,
// and usage, billing, spend caps, rate limits and prices, authenticated by
// admin tokens. Every rule is enforced by packages governance and billing;
// this package only translates HTTP to calls and back.
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/middleware"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Authenticator resolves an Authorization header to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, header, sourceIP string) (*platform.Principal, error)
}

// Deps is what the management API needs.
type Deps struct {
	Service *governance.Service
	// Billing serves usage, the ledger, caps, limits and prices; nil
	// answers those routes with 503.
	Billing *billing.Service
	// Index is the local search index behind /api/v1/index/…; nil answers
	// those routes with 503.
	Index      IndexService
	Auth       Authenticator
	Log        *slog.Logger
	Now        func() time.Time
	MaxBody    int64
	TrustProxy bool
}

// handler is a management endpoint: it gets the authenticated principal and
// returns an error that the wrapper maps to a status.
type handler func(w http.ResponseWriter, r *http.Request, p platform.Principal) error

// authed authenticates the admin token, runs h and writes its error.
func (d *Deps) authed(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"), middleware.ClientIP(r, d.TrustProxy))
		if err == nil {
			err = h(w, r, *p)
		}
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
		}
	})
}

func (d *Deps) decode(w http.ResponseWriter, r *http.Request, v any) error {
	return httpjson.Decode(w, r, v, httpjson.DecodeOptions{MaxBytes: d.MaxBody, Strict: true})
}

// expiry reads the two ways a caller may ask for an expiry.
func (d *Deps) expiry(at *time.Time, inSeconds *int64) (*time.Time, error) {
	switch {
	case at != nil && inSeconds != nil:
		return nil, platform.Invalid("expires_at", "send expires_at or expires_in_seconds, not both")
	case at != nil:
		t := at.UTC()
		return &t, nil
	case inSeconds != nil:
		if *inSeconds <= 0 || *inSeconds > 10*365*24*3600 {
			return nil, platform.Invalid("expires_in_seconds", "expires_in_seconds must be between 1 and 315360000")
		}
		t := d.Now().Add(time.Duration(*inSeconds) * time.Second).UTC()
		return &t, nil
	}
	return nil, nil
}

// queryTime parses an optional RFC 3339 query parameter.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, platform.Invalid(name, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t.UTC(), nil
}

func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, platform.Invalid(name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}
