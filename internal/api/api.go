// Package api serves Tollgate's inference API, wire-compatible with
// Perplexity's and OpenAI's clients: the model list, Perplexity's key
// endpoints (generate_auth_token, revoke_auth_token) and, as later issues
// land, chat completions, async jobs and search. Every authenticated route
// runs through RequireKey, which puts the caller's key in the context.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate-dev/tollgate/internal/async"
	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/chat"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/middleware"
)

// KeyAuthenticator resolves an Authorization header to a key.
type KeyAuthenticator interface {
	Authenticate(ctx context.Context, header string) (*auth.Key, error)
}

// Deps is what the inference API needs.
type Deps struct {
	Auth    KeyAuthenticator
	Service *governance.Service
	Chat    *chat.Service
	Log     *slog.Logger
	// KeepAlive is the interval of stream keep-alive comments, and how long
	// a stream may wait for its first token before committing a 200.
	KeepAlive time.Duration
	// MaxChatBody bounds chat request bodies (default 16 MiB).
	MaxChatBody int64
	Now         func() time.Time
	MaxBody     int64
	TrustProxy  bool

	// Async stores and reads async chat completion jobs.
	Async *async.Service
}

type keyCtx struct{}

// KeyFrom returns the authenticated key of a request that passed RequireKey.
func KeyFrom(ctx context.Context) *auth.Key {
	k, _ := ctx.Value(keyCtx{}).(*auth.Key)
	return k
}

// RequireKey authenticates the bearer key and answers 401 in the
// Perplexity/OpenAI error shape when it is missing, malformed, unknown,
// revoked, expired or in a disabled group.
func (d *Deps) RequireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := d.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, k)))
	})
}

func (d *Deps) keyCaller(r *http.Request) governance.KeyCaller {
	k := KeyFrom(r.Context())
	return governance.KeyCaller{KeyID: k.ID, OrgID: k.OrgID, GroupID: k.GroupID,
		SourceIP: middleware.ClientIP(r, d.TrustProxy)}
}
