package storetest

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

var invitationTests = []test{
	{"CreateGet", testInvitationCreateGet},
	{"List", testInvitationList},
	{"Revoke", testInvitationRevoke},
	{"Accept", testInvitationAccept},
	{"AcceptRefused", testInvitationAcceptRefused},
	{"AcceptKeepsPassword", testInvitationAcceptKeepsPassword},
	{"AcceptConcurrent", testInvitationAcceptConcurrent},
}

const inviteTTL = 7 * 24 * time.Hour

// newInvitation returns an invitation of email to orgID, made now, that is
// not stored yet.
func (e *env) newInvitation(orgID, email string, role platform.Role) *store.Invitation {
	now := e.clock.Now()
	return &store.Invitation{
		ID:        platform.NewID("inv_"),
		OrgID:     orgID,
		Email:     email,
		Role:      role,
		TokenHash: randomHash(),
		InvitedBy: alice.ID,
		CreatedAt: now,
		ExpiresAt: now.Add(inviteTTL),
	}
}

// invite stores an invitation, and the invited member the way
// governance.AddMember adds one: a user without a password.
func (e *env) invite(orgID, email string, role platform.Role) (*store.Invitation, *platform.User) {
	e.t.Helper()
	u, err := e.s.GetUserByEmail(e.ctx, email)
	if err != nil {
		u = e.newUser(email)
		u.PasswordHash = ""
		if err := e.s.CreateUser(e.ctx, u, system); err != nil {
			e.t.Fatalf("CreateUser(%q): %v", email, err)
		}
	}
	e.member(orgID, u, role)
	inv := e.newInvitation(orgID, email, role)
	if err := e.sessions().CreateInvitation(e.ctx, inv, alice); err != nil {
		e.t.Fatalf("CreateInvitation(%q): %v", email, err)
	}
	return inv, u
}

func testInvitationCreateGet(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	inv, _ := e.invite(acme.ID, "ada@example.com", platform.RoleMember)
	ss := e.sessions()

	got, err := ss.GetInvitation(e.ctx, acme.ID, inv.ID)
	if err != nil {
		t.Fatalf("GetInvitation: %v", err)
	}
	checkEqual(t, "GetInvitation", got, inv)
	got, err = ss.InvitationByHash(e.ctx, inv.TokenHash)
	if err != nil {
		t.Fatalf("InvitationByHash: %v", err)
	}
	checkEqual(t, "InvitationByHash", got, inv)

	_, err = ss.GetInvitation(e.ctx, globex.ID, inv.ID)
	wantNotFound(t, "GetInvitation from another org", err)
	_, err = ss.InvitationByHash(e.ctx, randomHash())
	wantNotFound(t, "InvitationByHash of an unknown hash", err)
	dup := e.newInvitation(acme.ID, "bob@example.com", platform.RoleViewer)
	dup.TokenHash = inv.TokenHash
	wantDuplicate(t, "CreateInvitation with another's hash", ss.CreateInvitation(e.ctx, dup, alice))

	evs := e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditInvitationCreated})
	if len(evs) != 1 {
		t.Fatalf("invitation.created events = %d, want 1: %s", len(evs), show(evs))
	}
	checkEvent(t, evs[0], wantEvent{OrgID: acme.ID, Actor: alice, Action: platform.AuditInvitationCreated,
		TargetType: "invitation", TargetID: inv.ID, At: start,
		Details: map[string]string{"email": "ada@example.com", "role": "member"}})
}

func testInvitationList(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	ss := e.sessions()
	old, _ := e.invite(acme.ID, "old@example.com", platform.RoleViewer) // expires at start+TTL
	e.clock.Advance(time.Hour)
	pending, _ := e.invite(acme.ID, "pending@example.com", platform.RoleMember)
	e.clock.Advance(time.Hour)
	newer, _ := e.invite(acme.ID, "newer@example.com", platform.RoleAdmin)
	revoked, _ := e.invite(acme.ID, "revoked@example.com", platform.RoleViewer)
	if _, err := ss.RevokeInvitation(e.ctx, acme.ID, revoked.ID, e.clock.Now(), alice); err != nil {
		t.Fatalf("RevokeInvitation: %v", err)
	}
	accepted, u := e.invite(acme.ID, "accepted@example.com", platform.RoleViewer)
	if err := ss.AcceptInvitation(e.ctx, accepted.ID, "$argon2id$x", e.newSession(acme.ID, u), alice); err != nil {
		t.Fatalf("AcceptInvitation: %v", err)
	}
	theirs, _ := e.invite(globex.ID, "theirs@example.com", platform.RoleViewer)

	tests := []struct {
		name  string
		orgID string
		now   time.Time
		want  []*store.Invitation
	}{
		{"pending, newest first", acme.ID, e.clock.Now(), []*store.Invitation{newer, pending, old}},
		{"the oldest expired", acme.ID, start.Add(inviteTTL), []*store.Invitation{newer, pending}},
		{"other org", globex.ID, e.clock.Now(), []*store.Invitation{theirs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ss.ListInvitations(e.ctx, tt.orgID, tt.now)
			if err != nil {
				t.Fatalf("ListInvitations: %v", err)
			}
			checkEqual(t, "ListInvitations", got, tt.want)
		})
	}
}

func testInvitationRevoke(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	ss := e.sessions()
	inv, _ := e.invite(acme.ID, "ada@example.com", platform.RoleMember)

	_, err := ss.RevokeInvitation(e.ctx, globex.ID, inv.ID, start, bob)
	wantNotFound(t, "RevokeInvitation from another org", err)

	at := e.clock.Advance(time.Minute)
	want := *inv
	want.RevokedAt = &at
	for range 2 { // revoking twice changes nothing
		got, err := ss.RevokeInvitation(e.ctx, acme.ID, inv.ID, at, bob)
		if err != nil {
			t.Fatalf("RevokeInvitation: %v", err)
		}
		checkEqual(t, "RevokeInvitation", got, &want)
	}
	evs := e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditInvitationRevoked})
	if len(evs) != 1 {
		t.Fatalf("invitation.revoked events = %d, want 1: %s", len(evs), show(evs))
	}
	checkEvent(t, evs[0], wantEvent{OrgID: acme.ID, Actor: bob, Action: platform.AuditInvitationRevoked,
		TargetType: "invitation", TargetID: inv.ID, At: at,
		Details: map[string]string{"email": "ada@example.com", "role": "member"}})

	used, u := e.invite(acme.ID, "bob@example.com", platform.RoleMember)
	if err := ss.AcceptInvitation(e.ctx, used.ID, "$argon2id$x", e.newSession(acme.ID, u), alice); err != nil {
		t.Fatalf("AcceptInvitation: %v", err)
	}
	_, err = ss.RevokeInvitation(e.ctx, acme.ID, used.ID, at, bob)
	wantKind(t, "RevokeInvitation of an accepted invitation", err, platform.KindConflict)
}

func testInvitationAccept(t *testing.T, e *env) {
	acme := e.org("Acme")
	ss := e.sessions()
	inv, u := e.invite(acme.ID, "ada@example.com", platform.RoleMember)
	at := e.clock.Advance(time.Hour)
	sess := e.newSession(acme.ID, u)
	invitee := platform.Actor{Type: platform.ActorUser, ID: u.ID, SourceIP: "192.0.2.7"}

	if err := ss.AcceptInvitation(e.ctx, inv.ID, "$argon2id$new", sess, invitee); err != nil {
		t.Fatalf("AcceptInvitation: %v", err)
	}
	got, err := ss.GetInvitation(e.ctx, acme.ID, inv.ID)
	if err != nil {
		t.Fatalf("GetInvitation: %v", err)
	}
	want := *inv
	want.AcceptedAt = &at
	checkEqual(t, "the accepted invitation", got, &want)
	checkEqual(t, "the session", e.getSession(sess.SecretHash), sess)
	gotUser, err := e.s.GetUser(e.ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if gotUser.PasswordHash != "$argon2id$new" {
		t.Fatalf("PasswordHash = %q, want the accepted one", gotUser.PasswordHash)
	}

	for _, w := range []wantEvent{
		{Action: platform.AuditInvitationAccepted, TargetType: "invitation", TargetID: inv.ID},
		{Action: platform.AuditUserPasswordSet, TargetType: "user", TargetID: u.ID},
		{Action: platform.AuditSessionCreated, TargetType: "session", TargetID: sess.ID},
	} {
		evs := e.audit(acme.ID, platform.AuditFilter{Action: w.Action})
		if len(evs) != 1 {
			t.Fatalf("%s events = %d, want 1: %s", w.Action, len(evs), show(evs))
		}
		w.OrgID, w.Actor, w.At = acme.ID, invitee, at
		checkEvent(t, evs[0], w)
	}
}

// testInvitationAcceptRefused checks every invitation that cannot be used
// is refused as not found and leaves nothing behind.
func testInvitationAcceptRefused(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	ss := e.sessions()

	tests := []struct {
		name  string
		setup func(inv *store.Invitation, u *platform.User) (orgID string, at time.Duration)
	}{
		{"used", func(inv *store.Invitation, u *platform.User) (string, time.Duration) {
			if err := ss.AcceptInvitation(e.ctx, inv.ID, "", e.newSession(acme.ID, u), alice); err != nil {
				t.Fatalf("first AcceptInvitation: %v", err)
			}
			return acme.ID, 0
		}},
		{"expired", func(*store.Invitation, *platform.User) (string, time.Duration) {
			return acme.ID, inviteTTL
		}},
		{"revoked", func(inv *store.Invitation, _ *platform.User) (string, time.Duration) {
			if _, err := ss.RevokeInvitation(e.ctx, acme.ID, inv.ID, start, alice); err != nil {
				t.Fatalf("RevokeInvitation: %v", err)
			}
			return acme.ID, 0
		}},
		{"member removed", func(_ *store.Invitation, u *platform.User) (string, time.Duration) {
			if err := e.s.RemoveMember(e.ctx, acme.ID, u.ID, alice); err != nil {
				t.Fatalf("RemoveMember: %v", err)
			}
			return acme.ID, 0
		}},
		{"session in another org", func(_ *store.Invitation, u *platform.User) (string, time.Duration) {
			e.member(globex.ID, u, platform.RoleViewer)
			return globex.ID, 0
		}},
	}
	owner := e.user("owner@example.com")
	e.member(acme.ID, owner, platform.RoleOwner) // so removing the invitee is allowed
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, u := e.invite(acme.ID, "invitee"+string(rune('a'+i))+"@example.com", platform.RoleViewer)
			orgID, after := tt.setup(inv, u)
			sess := e.newSession(orgID, u)
			sess.CreatedAt = sess.CreatedAt.Add(after)
			err := ss.AcceptInvitation(e.ctx, inv.ID, "$argon2id$x", sess, alice)
			wantNotFound(t, "AcceptInvitation", err)
			_, err = ss.SessionByHash(e.ctx, sess.SecretHash)
			wantNotFound(t, "SessionByHash of the refused session", err)
		})
	}
	wantNotFound(t, "AcceptInvitation of an unknown invitation",
		ss.AcceptInvitation(e.ctx, "inv_nope", "", e.newSession(acme.ID, owner), alice))
}

// testInvitationAcceptKeepsPassword: an invitation never replaces a password
// an account already has (whoever holds the link could take it over).
func testInvitationAcceptKeepsPassword(t *testing.T, e *env) {
	acme := e.org("Acme")
	ss := e.sessions()
	u := e.user("ada@example.com") // has a password
	e.member(acme.ID, u, platform.RoleViewer)
	inv := e.newInvitation(acme.ID, u.Email, platform.RoleViewer)
	if err := ss.CreateInvitation(e.ctx, inv, alice); err != nil {
		t.Fatalf("CreateInvitation: %v", err)
	}

	sess := e.newSession(acme.ID, u)
	err := ss.AcceptInvitation(e.ctx, inv.ID, "$argon2id$attacker", sess, alice)
	wantKind(t, "AcceptInvitation with a new password for an account that has one", err, platform.KindConflict)
	if got, _ := ss.GetInvitation(e.ctx, acme.ID, inv.ID); got == nil || got.AcceptedAt != nil {
		t.Fatalf("the refused acceptance used the invitation: %s", show(got))
	}
	if got, _ := e.s.GetUser(e.ctx, u.ID); got == nil || got.PasswordHash != u.PasswordHash {
		t.Fatalf("the refused acceptance changed the password: %s", show(got))
	}
	if _, err := ss.SessionByHash(e.ctx, sess.SecretHash); platform.ErrorKind(err) != platform.KindNotFound {
		t.Fatalf("the refused acceptance stored its session (err %v)", err)
	}

	// Without a new password (the caller checked the existing one) it works.
	if err := ss.AcceptInvitation(e.ctx, inv.ID, "", sess, alice); err != nil {
		t.Fatalf("AcceptInvitation without a password: %v", err)
	}
	if got, _ := e.s.GetUser(e.ctx, u.ID); got == nil || got.PasswordHash != u.PasswordHash {
		t.Fatalf("accepting changed the password: %s", show(got))
	}
	if n := e.countEvents(acme.ID, platform.AuditUserPasswordSet, u.ID); n != 0 {
		t.Fatalf("user.password_set events = %d, want 0", n)
	}
}

func testInvitationAcceptConcurrent(t *testing.T, e *env) {
	const n = 8
	acme := e.org("Acme")
	ss := e.sessions()
	for round := range rounds {
		inv, u := e.invite(acme.ID, "ada"+string(rune('a'+round))+"@example.com", platform.RoleViewer)
		errs := make([]error, n)
		sessions := make([]*store.Session, n)
		var fns []func()
		for i := range n {
			sessions[i] = e.newSession(acme.ID, u)
			fns = append(fns, func() {
				errs[i] = ss.AcceptInvitation(e.ctx, inv.ID, "$argon2id$x", sessions[i], alice)
			})
		}
		race(fns...)
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
				e.getSession(sessions[i].SecretHash)
			case platform.ErrorKind(err) != platform.KindNotFound:
				t.Fatalf("round %d: AcceptInvitation: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d concurrent acceptances succeeded, want exactly 1", round, ok)
		}
	}
}
