package session_test

// The service's tests run on real stores, a SQLite file and a PostgreSQL
// database, with a clock they move by hand.

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/session"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// clock is the service's and the store's clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testConfig is small enough to reach every limit quickly.
var testConfig = session.Config{
	TTL:         12 * time.Hour,
	IdleTimeout: 2 * time.Hour,
	MaxAttempts: 3,
	Window:      15 * time.Minute,
	InviteTTL:   7 * 24 * time.Hour,
}

const ownerIP = "203.0.113.10"

// env is an organization with its owner, on a fresh store.
type env struct {
	t       *testing.T
	st      *sqlstore.Store
	path    string // the SQLite file; empty on PostgreSQL
	gov     *governance.Service
	svc     *session.Service
	clock   *clock
	org     *platform.Org
	ownerPW string
	owner   platform.Principal
}

func newEnv(t *testing.T, backend string, cfg session.Config) *env {
	t.Helper()
	ctx := t.Context()
	e := &env{t: t, clock: &clock{now: start}}
	target := pgURL(t, backend)
	if target == "" {
		e.path = filepath.Join(t.TempDir(), "tollgate.db")
		target = e.path
	}
	st, err := sqlstore.Open(ctx, target)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	st.Now = e.clock.Now
	e.st = st
	e.gov = governance.New(st, governance.Config{}, nil, e.clock.Now)
	boot, err := e.gov.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@example.com")
	if err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	e.org, e.ownerPW = boot.Org, boot.Password
	e.owner = platform.Principal{OrgID: boot.Org.ID, Role: platform.RoleOwner,
		Actor: platform.Actor{Type: platform.ActorUser, ID: boot.User.ID, SourceIP: ownerIP}}
	e.svc = session.New(st, e.gov, cfg, e.clock.Now)
	return e
}

func pgURL(t *testing.T, backend string) string {
	if backend == "postgres" {
		return pgtest.URL(t)
	}
	return ""
}

// backends runs fn on SQLite and on PostgreSQL.
func backends(t *testing.T, cfg session.Config, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel()
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, b, cfg))
		})
	}
}

// login signs in and fails the test on error.
func (e *env) login(email, pw, ip string) (string, *session.Session) {
	e.t.Helper()
	secret, sess, err := e.svc.Login(e.t.Context(), email, pw, ip)
	if err != nil {
		e.t.Fatalf("Login(%s): %v", email, err)
	}
	return secret, sess
}

// resolve resolves a secret that must sign someone in.
func (e *env) resolve(secret string) *session.Session {
	e.t.Helper()
	sess, err := e.svc.Resolve(e.t.Context(), secret)
	if err != nil {
		e.t.Fatalf("Resolve: %v", err)
	}
	return sess
}

// member adds email to the organization with role and a password.
func (e *env) member(email, pw string, role platform.Role) *platform.Membership {
	e.t.Helper()
	m, err := e.gov.AddMember(e.t.Context(), e.owner, governance.NewMember{Email: email, Role: role, Password: pw})
	if err != nil {
		e.t.Fatalf("AddMember(%s): %v", email, err)
	}
	return m
}

// audit lists the organization's events with action.
func (e *env) audit(action string) []*platform.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(e.t.Context(), e.org.ID, platform.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatalf("ListAudit: %v", err)
	}
	return evs
}

// wantKind fails unless err has kind want.
func wantKind(t *testing.T, what string, err error, want platform.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want a %s error", what, want)
	}
	if got := platform.ErrorKind(err); got != want {
		t.Fatalf("%s: error kind %s (%v), want %s", what, got, err, want)
	}
}

// wantUnauthenticated fails unless err is the unauthenticated answer with
// the given message.
func wantUnauthenticated(t *testing.T, what string, err error, msg string) {
	t.Helper()
	wantKind(t, what, err, platform.KindUnauthenticated)
	var pe *platform.Error
	if !errors.As(err, &pe) || pe.Message != msg {
		t.Fatalf("%s: message %q, want %q", what, platform.ErrorMessage(err), msg)
	}
}

const badLogin = "invalid email or password"

// goodPassword is a valid password for tests that set their own.
const goodPassword = "correct horse battery staple"

func TestPrincipal(t *testing.T) {
	s := &session.Session{OrgID: "org_a", UserID: "usr_b", Role: platform.RoleBilling}
	got := s.Principal("192.0.2.1")
	want := platform.Principal{OrgID: "org_a", Role: platform.RoleBilling,
		Actor: platform.Actor{Type: platform.ActorUser, ID: "usr_b", SourceIP: "192.0.2.1"}}
	if got != want {
		t.Fatalf("Principal = %+v, want %+v", got, want)
	}
}

func TestCheckCSRF(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		secret, sess := e.login("owner@example.com", e.ownerPW, ownerIP)
		_, other := e.login("owner@example.com", e.ownerPW, ownerIP)
		if len(sess.CSRFToken) < 40 || sess.CSRFToken == other.CSRFToken {
			t.Fatalf("CSRF tokens %q and %q: want long random tokens, one per session", sess.CSRFToken, other.CSRFToken)
		}
		tests := []struct {
			name  string
			sess  *session.Session
			token string
			want  bool
		}{
			{"its own token", sess, sess.CSRFToken, true},
			{"empty", sess, "", false},
			{"another session's token", sess, other.CSRFToken, false},
			{"one character off", sess, sess.CSRFToken[:len(sess.CSRFToken)-1] + "x", false},
			{"a prefix", sess, sess.CSRFToken[:10], false},
			{"no session", nil, sess.CSRFToken, false},
			{"session with no token", &session.Session{}, "", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := e.svc.CheckCSRF(tt.sess, tt.token); got != tt.want {
					t.Fatalf("CheckCSRF = %v, want %v", got, tt.want)
				}
			})
		}
		// The token a session resolves with is the one it was given.
		if got := e.resolve(secret).CSRFToken; got != sess.CSRFToken {
			t.Fatalf("resolved CSRF token %q, want %q", got, sess.CSRFToken)
		}
	})
}

// auditHolds reports whether any event's fields or details hold s.
func auditHolds(evs []*platform.AuditEvent, s string) bool {
	for _, ev := range evs {
		fields := []string{ev.ActorID, ev.TargetID, ev.SourceIP, ev.Action}
		for _, v := range ev.Details {
			fields = append(fields, v)
		}
		for _, f := range fields {
			if strings.Contains(f, s) {
				return true
			}
		}
	}
	return false
}
