package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Admin token failures.
var (
	ErrAdminMissing = platform.Errorf(platform.KindUnauthenticated,
		"Missing admin token. Send 'Authorization: Bearer tgadm-…'; `tollgate admin create-token` issues one.")
	ErrAdminMalformed = platform.Errorf(platform.KindUnauthenticated,
		"Malformed admin token; check that it was copied whole.")
	ErrAdminIsKey = platform.Errorf(platform.KindUnauthenticated,
		"This is an inference API key. The management API needs an admin token (tgadm-…).")
	ErrAdminInvalid = platform.Errorf(platform.KindUnauthenticated,
		"Invalid admin token: unknown, revoked or expired.")
)

// AdminStore is what admin-token authentication reads and writes.
type AdminStore interface {
	AdminTokenByHash(ctx context.Context, hash []byte) (*platform.AdminToken, error)
	TouchAdminTokens(ctx context.Context, used map[string]time.Time) error
}

// AdminAuthenticator authenticates management API calls. Admin traffic is
// light, so every call reads the store: a revoked token stops at once in
// every replica.
type AdminAuthenticator struct {
	store     AdminStore
	prefix    string
	keyPrefix string
	now       func() time.Time
	used      lastUsed
}

// NewAdminAuthenticator returns an authenticator for admin tokens with the
// given prefix; keyPrefix lets it recognise a misplaced inference key.
func NewAdminAuthenticator(s AdminStore, prefix, keyPrefix string, now func() time.Time) *AdminAuthenticator {
	if now == nil {
		now = time.Now
	}
	return &AdminAuthenticator{store: s, prefix: prefix, keyPrefix: keyPrefix, now: now}
}

// Authenticate checks an Authorization header value and returns the
// principal the token stands for.
func (a *AdminAuthenticator) Authenticate(ctx context.Context, h, sourceIP string) (*platform.Principal, error) {
	tok, err := ParseBearer(h)
	switch {
	case errors.Is(err, ErrMissing):
		return nil, ErrAdminMissing
	case errors.Is(err, ErrMalformed):
		return nil, ErrAdminMalformed
	case err != nil:
		return nil, err
	}
	if err := keys.Parse(tok, a.prefix); err != nil {
		if a.keyPrefix != "" && strings.HasPrefix(tok, a.keyPrefix) {
			return nil, ErrAdminIsKey
		}
		return nil, ErrAdminMalformed
	}
	hash := keys.Hash(tok)
	t, err := a.store.AdminTokenByHash(ctx, hash[:])
	if errors.Is(err, platform.ErrNotFound) {
		return nil, ErrAdminInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate admin token: %w", err)
	}
	now := a.now()
	if subtle.ConstantTimeCompare(t.Hash, hash[:]) != 1 || !t.Usable(now) {
		return nil, ErrAdminInvalid
	}
	a.used.record(t.ID, now)
	return &platform.Principal{OrgID: t.OrgID, Role: t.Role,
		Actor: platform.Actor{Type: platform.ActorAdminToken, ID: t.ID, SourceIP: sourceIP}}, nil
}

// Flush writes pending last-used times to the store.
func (a *AdminAuthenticator) Flush(ctx context.Context) error {
	return a.used.flush(ctx, a.store.TouchAdminTokens)
}
