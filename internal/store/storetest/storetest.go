// Package storetest is the conformance suite of store.Store. Every backend
// runs Run against fresh, migrated stores and must pass all of it. The suite
// checks behaviour only (results, error kinds, audit events, behaviour under
// concurrency), never SQL, so one suite holds SQLite and PostgreSQL to the
// same contract.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// Harness is one fresh store handed to one subtest.
type Harness struct {
	// Store is empty and migrated. The backend closes it in t.Cleanup.
	Store store.Store
	// SetClock replaces the store's clock. The suite calls it once, before
	// any other use of Store, with a clock it controls, so audit times and
	// revocation times are predictable.
	SetClock func(now func() time.Time)
	// DB, when not nil, is the store's own database. The suite uses it to
	// check that the database itself refuses edits to the audit log, which
	// no store method can show.
	DB *sql.DB
}

// Run runs the suite. open must return a new, empty, migrated store on every
// call; the subtests of a group call it in parallel.
func Run(t *testing.T, open func(t *testing.T) Harness) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Orgs", orgTests},
		{"Users", userTests},
		{"Members", memberTests},
		{"Groups", groupTests},
		{"Keys", keyTests},
		{"AdminTokens", tokenTests},
		{"Audit", auditTests},
		{"Concurrency", concurrencyTests},
		{"Sessions", sessionTests},
		{"Invitations", invitationTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newEnv(t, open(t)))
				})
			}
		})
	}
}

// test is one subtest; each gets its own store.
type test struct {
	name string
	fn   func(t *testing.T, e *env)
}

// start is where every subtest's clock begins: whole seconds, UTC, so stored
// microsecond timestamps read back equal.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Actors of the suite. Each has its own source IP so audit checks can tell
// them apart.
var (
	alice  = platform.Actor{Type: platform.ActorUser, ID: "usr_alice", SourceIP: "203.0.113.10"}
	bob    = platform.Actor{Type: platform.ActorAdminToken, ID: "adt_bob", SourceIP: "198.51.100.20"}
	system = platform.SystemActor("cli")
)

// clock is the store's clock during a subtest. It is safe for concurrent use
// because the store reads it from many goroutines in the concurrency tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// env is a subtest's store with its clock and fixture helpers.
type env struct {
	t     *testing.T
	ctx   context.Context
	s     store.Store
	db    *sql.DB
	clock *clock
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	if h.Store == nil || h.SetClock == nil {
		t.Fatal("storetest: the harness must set Store and SetClock")
	}
	c := &clock{now: start}
	h.SetClock(c.Now)
	return &env{t: t, ctx: t.Context(), s: h.Store, db: h.DB, clock: c}
}

// org creates an organization named name, as the system.
func (e *env) org(name string) *platform.Org {
	e.t.Helper()
	o := &platform.Org{ID: platform.NewID(platform.PrefixOrg), Name: name, CreatedAt: e.clock.Now()}
	if err := e.s.CreateOrg(e.ctx, o, system); err != nil {
		e.t.Fatalf("CreateOrg(%q): %v", name, err)
	}
	return o
}

// newUser returns a user that is not stored yet.
func (e *env) newUser(email string) *platform.User {
	return &platform.User{
		ID:           platform.NewID(platform.PrefixUser),
		Email:        email,
		Name:         "Name of " + email,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		CreatedAt:    e.clock.Now(),
	}
}

// user creates a user with the given email.
func (e *env) user(email string) *platform.User {
	e.t.Helper()
	u := e.newUser(email)
	if err := e.s.CreateUser(e.ctx, u, system); err != nil {
		e.t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

// member adds u to orgID with role and returns the membership as reads
// return it (with the user's email and name).
func (e *env) member(orgID string, u *platform.User, role platform.Role) *platform.Membership {
	e.t.Helper()
	m := &platform.Membership{OrgID: orgID, UserID: u.ID, Role: role, CreatedAt: e.clock.Now()}
	if err := e.s.AddMember(e.ctx, m, system); err != nil {
		e.t.Fatalf("AddMember(%s, %s): %v", u.Email, role, err)
	}
	m.Email, m.Name = u.Email, u.Name
	return m
}

// newGroup returns an active group that is not stored yet.
func (e *env) newGroup(orgID, name string) *platform.Group {
	now := e.clock.Now()
	return &platform.Group{
		ID:          platform.NewID(platform.PrefixGroup),
		OrgID:       orgID,
		Name:        name,
		Description: "the " + name + " group",
		Status:      platform.GroupActive,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
}

// group creates an active group.
func (e *env) group(orgID, name string) *platform.Group {
	e.t.Helper()
	g := e.newGroup(orgID, name)
	if err := e.s.CreateGroup(e.ctx, g, system); err != nil {
		e.t.Fatalf("CreateGroup(%q): %v", name, err)
	}
	return g
}

// newKey returns a key with a random hash that is not stored yet.
func (e *env) newKey(orgID, groupID, name string) *platform.APIKey {
	return &platform.APIKey{
		ID:        platform.NewID(platform.PrefixKey),
		OrgID:     orgID,
		GroupID:   groupID,
		Name:      name,
		Hash:      randomHash(),
		Hint:      "pplx-…" + rand.Text()[:4],
		CreatedBy: alice.ID,
		CreatedAt: e.clock.Now(),
	}
}

// key creates a key.
func (e *env) key(orgID, groupID, name string) *platform.APIKey {
	e.t.Helper()
	k := e.newKey(orgID, groupID, name)
	if err := e.s.CreateKey(e.ctx, k, system); err != nil {
		e.t.Fatalf("CreateKey(%q): %v", name, err)
	}
	return k
}

// newToken returns an admin token with a random hash that is not stored yet.
func (e *env) newToken(orgID, name string, role platform.Role) *platform.AdminToken {
	return &platform.AdminToken{
		ID:        platform.NewID(platform.PrefixAdminToken),
		OrgID:     orgID,
		Name:      name,
		Role:      role,
		Hash:      randomHash(),
		Hint:      "tgadm-…" + rand.Text()[:4],
		CreatedBy: alice.ID,
		CreatedAt: e.clock.Now(),
	}
}

// token creates an admin token.
func (e *env) token(orgID, name string, role platform.Role) *platform.AdminToken {
	e.t.Helper()
	tok := e.newToken(orgID, name, role)
	if err := e.s.CreateAdminToken(e.ctx, tok, system); err != nil {
		e.t.Fatalf("CreateAdminToken(%q): %v", name, err)
	}
	return tok
}

// getKey reads a key that must exist.
func (e *env) getKey(orgID, id string) *platform.APIKey {
	e.t.Helper()
	k, err := e.s.GetKey(e.ctx, orgID, id)
	if err != nil {
		e.t.Fatalf("GetKey(%s): %v", id, err)
	}
	return k
}

// audit lists orgID's events matching f.
func (e *env) audit(orgID string, f platform.AuditFilter) []*platform.AuditEvent {
	e.t.Helper()
	evs, err := e.s.ListAudit(e.ctx, orgID, f)
	if err != nil {
		e.t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	return evs
}

// countEvents counts orgID's events with action on target.
func (e *env) countEvents(orgID, action, targetID string) int {
	e.t.Helper()
	return len(e.audit(orgID, platform.AuditFilter{Action: action, TargetID: targetID, Limit: 1000}))
}

// randomHash stands in for the SHA-256 of a secret.
func randomHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return b
}

func ptr[T any](v T) *T { return &v }

// show renders a value for failure messages; JSON prints times and pointed-to
// values instead of addresses.
func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// checkEqual fails the test unless got and want are deeply equal.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ngot  %s\nwant %s", what, show(got), show(want))
	}
}

// wantKind fails unless err is an error of kind want.
func wantKind(t *testing.T, what string, err error, want platform.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want a %s error", what, want)
	}
	if got := platform.ErrorKind(err); got != want {
		t.Fatalf("%s: got error kind %s (%v), want %s", what, got, err, want)
	}
}

// wantNotFound fails unless err is, and wraps, platform.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	wantKind(t, what, err, platform.KindNotFound)
	if !errors.Is(err, platform.ErrNotFound) {
		t.Fatalf("%s: errors.Is(%v, platform.ErrNotFound) = false, want true", what, err)
	}
}

// wantDuplicate fails unless err is, and wraps, platform.ErrConflict: what a
// uniqueness violation must return.
func wantDuplicate(t *testing.T, what string, err error) {
	t.Helper()
	wantKind(t, what, err, platform.KindConflict)
	if !errors.Is(err, platform.ErrConflict) {
		t.Fatalf("%s: errors.Is(%v, platform.ErrConflict) = false, want true", what, err)
	}
}
