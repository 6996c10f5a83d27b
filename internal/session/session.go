// Package session signs people in to the dashboard: password sign-in with
// throttling of guesses, sessions resolved from a cookie's secret on every
// request, per-session CSRF tokens, and invitations by one-time link.
//
// Secrets (session cookies "tgs_…", invitation tokens "tgi_…") are 32
// random bytes, handed out once and stored only as their SHA-256. The role
// of a session is read from the membership on every Resolve, so a role
// change or a removal applies on the next request. Management rules stay in
// package governance: inviting is governance.AddMember plus a link.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/password"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// Prefixes of IDs and secrets.
const (
	prefixSession    = "ses_"
	prefixInvitation = "inv_"
	secretPrefix     = "tgs_" // session secrets (the cookie)
	tokenPrefix      = "tgi_" // invitation tokens (the link)
	secretBytes      = 32
)

// Session is a signed-in user acting inside one organization.
type Session struct {
	ID         string // "ses_…" opaque public ID; safe to log and show (never the secret)
	UserID     string
	OrgID      string
	Email      string
	Name       string
	Role       platform.Role // the membership's role, read fresh on every Resolve
	CSRFToken  string        // per-session anti-CSRF token for forms
	CreatedAt  time.Time
	ExpiresAt  time.Time // the absolute end; inactivity may end it sooner
	LastSeenAt time.Time
}

// Principal is the governance principal of the session, acting from
// sourceIP.
func (s *Session) Principal(sourceIP string) platform.Principal {
	return platform.Principal{OrgID: s.OrgID, Role: s.Role,
		Actor: platform.Actor{Type: platform.ActorUser, ID: s.UserID, SourceIP: sourceIP}}
}

// Config holds the service's tunables; zero fields take the defaults.
type Config struct {
	TTL         time.Duration // absolute lifetime of a session; default 12h
	IdleTimeout time.Duration // a session unused this long ends; default 2h
	// MaxAttempts sign-ins per email and per client network are allowed in
	// Window (defaults 5 and 15 minutes); beyond, Login refuses without
	// checking the password. A successful sign-in does not count.
	MaxAttempts int
	Window      time.Duration
	InviteTTL   time.Duration // how long an invitation link works; default 7 days
}

// Defaults.
const (
	DefaultTTL         = 12 * time.Hour
	DefaultIdleTimeout = 2 * time.Hour
	DefaultMaxAttempts = 5
	DefaultWindow      = 15 * time.Minute
	DefaultInviteTTL   = 7 * 24 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.InviteTTL <= 0 {
		c.InviteTTL = DefaultInviteTTL
	}
	return c
}

// Store is what the service needs of the store; *sqlstore.Store has it all.
type Store interface {
	store.SessionStore
	GetUserByEmail(ctx context.Context, email string) (*platform.User, error)
	GetMember(ctx context.Context, orgID, userID string) (*platform.Membership, error)
	GetOrg(ctx context.Context, id string) (*platform.Org, error)
}

// Service signs users in and out and manages invitations.
type Service struct {
	st  Store
	gov *governance.Service
	cfg Config
	now func() time.Time

	dummyOnce sync.Once
	dummyHash string
	dummyErr  error

	purgeMu   sync.Mutex
	nextPurge time.Time
}

// New returns a Service. gov is used for invitations (they add members);
// now is the clock (nil: time.Now).
func New(st Store, gov *governance.Service, cfg Config, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	// The store keeps microseconds; so do the sessions handed back.
	micro := func() time.Time { return now().UTC().Truncate(time.Microsecond) }
	return &Service{st: st, gov: gov, cfg: cfg.withDefaults(), now: micro}
}

// CheckCSRF compares token with the session's CSRF token in constant time;
// an empty token never matches.
func (s *Service) CheckCSRF(sess *Session, token string) bool {
	if sess == nil || token == "" || sess.CSRFToken == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sess.CSRFToken), []byte(token)) == 1
}

// newSecret returns a fresh secret with prefix and its SHA-256.
func newSecret(prefix string) (string, []byte) {
	secret := prefix + randomText()
	h := sha256.Sum256([]byte(secret))
	return secret, h[:]
}

// randomText is 32 random bytes, base64url without padding (43 characters).
func randomText() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret returns the SHA-256 of a secret that has prefix and the right
// shape; anything else cannot be one of ours and needs no database read.
func hashSecret(secret, prefix string) ([]byte, bool) {
	body, ok := strings.CutPrefix(secret, prefix)
	if !ok || len(body) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(body); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(secret))
	return h[:], true
}

// dummy returns a hash to check passwords against when there is no real
// one (unknown email, invited user without a password yet), so that such a
// sign-in costs the same argon2id work as a wrong password.
func (s *Service) dummy() (string, error) {
	s.dummyOnce.Do(func() {
		s.dummyHash, s.dummyErr = password.Hash(randomText())
	})
	return s.dummyHash, s.dummyErr
}

// purgeEvery spaces purges of dead rows; purgeBatch bounds each; purgeAfter
// keeps dead sessions a day (a signed-out cookie still reads as ended).
const (
	purgeEvery = time.Minute
	purgeBatch = 500
	purgeAfter = 24 * time.Hour
)

// maybePurge deletes dead sessions and over attempt windows, at most once
// a minute per process and a batch at a time: cheap enough for the sign-in
// path, and sign-ins are what create the rows.
func (s *Service) maybePurge(ctx context.Context, now time.Time) error {
	s.purgeMu.Lock()
	if now.Before(s.nextPurge) {
		s.purgeMu.Unlock()
		return nil
	}
	s.nextPurge = now.Add(purgeEvery)
	s.purgeMu.Unlock()
	if _, err := s.st.PurgeSessions(ctx, now.Add(-purgeAfter), purgeBatch); err != nil {
		return fmt.Errorf("purge sessions: %w", err)
	}
	if _, err := s.st.PurgeLoginAttempts(ctx, now.Add(-s.cfg.Window), purgeBatch); err != nil {
		return fmt.Errorf("purge sign-in attempts: %w", err)
	}
	return nil
}
