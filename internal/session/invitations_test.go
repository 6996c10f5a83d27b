package session_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/password"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/session"
)

// invite invites email as role, as the owner.
func (e *env) invite(email string, role platform.Role) (*session.Invitation, string) {
	e.t.Helper()
	inv, token, err := e.svc.Invite(e.t.Context(), e.owner, email, "", role)
	if err != nil {
		e.t.Fatalf("Invite(%s): %v", email, err)
	}
	return inv, token
}

const noInvitation = "this invitation link is not valid: it may have expired, been revoked or been used; ask whoever invited you for a new one"

// wantNoInvitation fails unless err is the not-found answer to a link.
func wantNoInvitation(t *testing.T, what string, err error) {
	t.Helper()
	wantKind(t, what, err, platform.KindNotFound)
	if got := platform.ErrorMessage(err); got != noInvitation {
		t.Fatalf("%s: message %q, want %q", what, got, noInvitation)
	}
}

func TestInvitationFlow(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		inv, token := e.invite("New@Example.com", platform.RoleMember)
		if !strings.HasPrefix(token, "tgi_") || len(token) != 4+43 || !strings.HasPrefix(inv.ID, "inv_") {
			t.Fatalf("token %q, ID %q: want tgi_ with 43 characters, inv_…", token, inv.ID)
		}
		want := &session.Invitation{ID: inv.ID, OrgID: e.org.ID, Email: "new@example.com", Role: platform.RoleMember,
			InvitedBy: e.owner.Actor.ID, CreatedAt: start, ExpiresAt: start.Add(testConfig.InviteTTL)}
		if *inv != *want {
			t.Fatalf("Invite:\ngot  %+v\nwant %+v", inv, want)
		}
		// The member is there at once, with no password yet.
		m, err := e.st.GetMember(ctx, e.org.ID, mustUser(t, e, "new@example.com").ID)
		if err != nil || m.Role != platform.RoleMember {
			t.Fatalf("GetMember after Invite: %+v, %v", m, err)
		}

		list, err := e.svc.Invitations(ctx, e.owner)
		if err != nil || len(list) != 1 || *list[0] != *want {
			t.Fatalf("Invitations = %+v, %v; want just %+v", list, err, want)
		}
		got, err := e.svc.LookupInvitation(ctx, token)
		if err != nil {
			t.Fatalf("LookupInvitation: %v", err)
		}
		lookedUp := *want
		lookedUp.OrgName = "Acme"
		if *got != lookedUp {
			t.Fatalf("LookupInvitation:\ngot  %+v\nwant %+v", got, &lookedUp)
		}

		e.clock.Advance(time.Hour)
		_, _, err = e.svc.AcceptInvitation(ctx, token, "short", "192.0.2.5")
		wantKind(t, "AcceptInvitation with a short password", err, platform.KindInvalid)
		secret, sess, err := e.svc.AcceptInvitation(ctx, token, goodPassword, "192.0.2.5")
		if err != nil {
			t.Fatalf("AcceptInvitation: %v", err)
		}
		if sess.Email != "new@example.com" || sess.Role != platform.RoleMember || sess.OrgID != e.org.ID {
			t.Fatalf("the accepted invitation signed in %+v", sess)
		}
		if r := e.resolve(secret); r.ID != sess.ID {
			t.Fatalf("Resolve gives session %s, want %s", r.ID, sess.ID)
		}
		e.login("new@example.com", goodPassword, "192.0.2.5") // the password is set

		_, _, err = e.svc.AcceptInvitation(ctx, token, "another password!", "192.0.2.5")
		wantNoInvitation(t, "a second AcceptInvitation", err)
		_, err = e.svc.LookupInvitation(ctx, token)
		wantNoInvitation(t, "LookupInvitation of a used link", err)
		if list, err := e.svc.Invitations(ctx, e.owner); err != nil || len(list) != 0 {
			t.Fatalf("Invitations after acceptance = %+v, %v; want none", list, err)
		}
		e.login("new@example.com", goodPassword, "192.0.2.5") // the second try changed nothing

		for _, action := range []string{platform.AuditInvitationCreated, platform.AuditInvitationAccepted, platform.AuditUserPasswordSet} {
			if evs := e.audit(action); len(evs) != 1 {
				t.Fatalf("%s events: %d, want 1", action, len(evs))
			}
		}
		if all := e.audit(""); auditHolds(all, token[4:]) || auditHolds(all, secret[4:]) || auditHolds(all, goodPassword) {
			t.Fatal("the audit log holds a secret")
		}
	})
}

func mustUser(t *testing.T, e *env, email string) *platform.User {
	t.Helper()
	u, err := e.st.GetUserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("GetUserByEmail(%s): %v", email, err)
	}
	return u
}

// TestInvitationRefused: links that cannot be used all read the same.
func TestInvitationRefused(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		tests := []struct {
			name  string
			spoil func(t *testing.T, inv *session.Invitation)
		}{
			{"expired", func(*testing.T, *session.Invitation) { e.clock.Advance(testConfig.InviteTTL) }},
			{"revoked", func(t *testing.T, inv *session.Invitation) {
				if err := e.svc.RevokeInvitation(ctx, e.owner, inv.ID); err != nil {
					t.Fatalf("RevokeInvitation: %v", err)
				}
			}},
			{"member removed", func(t *testing.T, inv *session.Invitation) {
				u := mustUser(t, e, inv.Email)
				if err := e.gov.RemoveMember(ctx, e.owner, u.ID); err != nil {
					t.Fatalf("RemoveMember: %v", err)
				}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				inv, token := e.invite(strings.ReplaceAll(tt.name, " ", "")+"@example.com", platform.RoleViewer)
				if _, err := e.svc.LookupInvitation(ctx, token); err != nil {
					t.Fatalf("LookupInvitation before: %v", err)
				}
				tt.spoil(t, inv)
				_, err := e.svc.LookupInvitation(ctx, token)
				wantNoInvitation(t, "LookupInvitation", err)
				_, _, err = e.svc.AcceptInvitation(ctx, token, goodPassword, "192.0.2.5")
				wantNoInvitation(t, "AcceptInvitation", err)
			})
		}
		for _, token := range []string{"", "tgi_", "tgi_" + strings.Repeat("A", 43), "tgs_" + strings.Repeat("A", 43)} {
			_, err := e.svc.LookupInvitation(ctx, token)
			wantNoInvitation(t, "LookupInvitation("+token+")", err)
		}
	})
}

// TestInvitationRoles: inviting and revoking follow governance's rules.
func TestInvitationRoles(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		as := func(role platform.Role) platform.Principal {
			p := e.owner
			p.Role = role
			return p
		}
		tests := []struct {
			name string
			by   platform.Role
			role platform.Role
			want platform.Kind // "" for success
		}{
			{"viewer cannot invite", platform.RoleViewer, platform.RoleViewer, platform.KindForbidden},
			{"member cannot invite", platform.RoleMember, platform.RoleViewer, platform.KindForbidden},
			{"billing cannot invite", platform.RoleBilling, platform.RoleViewer, platform.KindForbidden},
			{"admin cannot invite an owner", platform.RoleAdmin, platform.RoleOwner, platform.KindForbidden},
			{"admin invites an admin", platform.RoleAdmin, platform.RoleAdmin, ""},
			{"admin invites a viewer", platform.RoleAdmin, platform.RoleViewer, ""},
			{"owner invites an owner", platform.RoleOwner, platform.RoleOwner, ""},
			{"unknown role", platform.RoleOwner, "god", platform.KindInvalid},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				email := "invitee" + string(rune('a'+i)) + "@example.com"
				_, _, err := e.svc.Invite(ctx, as(tt.by), email, "", tt.role)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("Invite: %v", err)
					}
					return
				}
				wantKind(t, "Invite", err, tt.want)
				if _, err := e.st.GetUserByEmail(ctx, email); platform.ErrorKind(err) != platform.KindNotFound {
					t.Fatalf("a refused Invite left a user behind (err %v)", err)
				}
			})
		}

		ownerInv, _ := e.invite("future-owner@example.com", platform.RoleOwner)
		viewerInv, _ := e.invite("future-viewer@example.com", platform.RoleViewer)
		_, err := e.svc.Invitations(ctx, as(platform.RoleViewer))
		if err != nil {
			t.Fatalf("Invitations as a viewer: %v", err)
		}
		wantKind(t, "RevokeInvitation as a viewer", e.svc.RevokeInvitation(ctx, as(platform.RoleViewer), viewerInv.ID), platform.KindForbidden)
		wantKind(t, "RevokeInvitation of an owner's as an admin", e.svc.RevokeInvitation(ctx, as(platform.RoleAdmin), ownerInv.ID), platform.KindForbidden)
		if err := e.svc.RevokeInvitation(ctx, as(platform.RoleAdmin), viewerInv.ID); err != nil {
			t.Fatalf("RevokeInvitation as an admin: %v", err)
		}
		if err := e.svc.RevokeInvitation(ctx, e.owner, ownerInv.ID); err != nil {
			t.Fatalf("RevokeInvitation of an owner's as the owner: %v", err)
		}
		other := platform.Principal{OrgID: "org_other", Role: platform.RoleOwner, Actor: e.owner.Actor}
		wantKind(t, "RevokeInvitation from another org", e.svc.RevokeInvitation(ctx, other, viewerInv.ID), platform.KindNotFound)
		if evs := e.audit(platform.AuditInvitationRevoked); len(evs) != 2 {
			t.Fatalf("invitation.revoked events: %d, want 2", len(evs))
		}
	})
}

// TestReinvite: a pending invitee may be invited again; the old link dies.
func TestReinvite(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, first := e.invite("ada@example.com", platform.RoleViewer)
		e.clock.Advance(time.Minute)
		second, token := e.invite("ada@example.com", platform.RoleMember)
		_, err := e.svc.LookupInvitation(ctx, first)
		wantNoInvitation(t, "the first link after a new invitation", err)
		if list, err := e.svc.Invitations(ctx, e.owner); err != nil || len(list) != 1 || list[0].ID != second.ID {
			t.Fatalf("Invitations = %+v, %v; want just the second", list, err)
		}
		_, sess, err := e.svc.AcceptInvitation(ctx, token, goodPassword, "192.0.2.5")
		if err != nil || sess.Role != platform.RoleMember {
			t.Fatalf("AcceptInvitation = %+v, %v; want a member's session", sess, err)
		}
		// Once the password is set, inviting again is the usual conflict.
		_, _, err = e.svc.Invite(ctx, e.owner, "ada@example.com", "", platform.RoleAdmin)
		wantKind(t, "Invite of a member with a password", err, platform.KindConflict)
		// And an admin may not re-invite a pending owner as something else.
		e.invite("boss@example.com", platform.RoleOwner)
		admin := e.owner
		admin.Role = platform.RoleAdmin
		_, _, err = e.svc.Invite(ctx, admin, "boss@example.com", "", platform.RoleAdmin)
		wantKind(t, "an admin re-inviting a pending owner", err, platform.KindForbidden)
	})
}

// TestInviteExistingAccount: someone who already has a password (from
// another organization) joins by entering it; the link never replaces it.
func TestInviteExistingAccount(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		boot, err := e.gov.CreateOrg(ctx, platform.SystemActor("test"), "Globex", "carol@example.com")
		if err != nil {
			t.Fatalf("CreateOrg: %v", err)
		}
		e.clock.Advance(time.Second) // Globex is her oldest membership
		_, token := e.invite("carol@example.com", platform.RoleBilling)
		inv, err := e.svc.LookupInvitation(ctx, token)
		if err != nil || !inv.HasPassword {
			t.Fatalf("LookupInvitation = %+v, %v; want HasPassword", inv, err)
		}

		// Whoever holds the link cannot set a password of their choosing.
		_, _, err = e.svc.AcceptInvitation(ctx, token, "attacker's new password", "192.0.2.66")
		wantKind(t, "AcceptInvitation with another password", err, platform.KindUnauthenticated)
		_, sess := e.login("carol@example.com", boot.Password, "192.0.2.5")
		if sess.OrgID != boot.Org.ID {
			t.Fatalf("carol signs in to %s, want her first organization %s", sess.OrgID, boot.Org.ID)
		}
		// Guessing her password through the link is throttled like Login.
		for range testConfig.MaxAttempts - 1 {
			_, _, err = e.svc.AcceptInvitation(ctx, token, "guess", "192.0.2.66")
			wantKind(t, "AcceptInvitation with a guess", err, platform.KindUnauthenticated)
		}
		_, _, err = e.svc.AcceptInvitation(ctx, token, boot.Password, "192.0.2.66")
		wantKind(t, "AcceptInvitation after the guesses", err, platform.KindRateLimited)

		e.clock.Advance(testConfig.Window)
		secret, sess, err := e.svc.AcceptInvitation(ctx, token, boot.Password, "192.0.2.5")
		if err != nil {
			t.Fatalf("AcceptInvitation with her password: %v", err)
		}
		if sess.OrgID != e.org.ID || sess.Role != platform.RoleBilling {
			t.Fatalf("the accepted invitation signed in to %s as %s, want %s as billing", sess.OrgID, sess.Role, e.org.ID)
		}
		e.resolve(secret)
		if u := mustUser(t, e, "carol@example.com"); password.Check(u.PasswordHash, boot.Password) != nil {
			t.Fatal("accepting changed her password")
		}
	})
}

// TestAcceptConcurrent: a link works once even when used twice at once.
func TestAcceptConcurrent(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		const n = 6
		_, token := e.invite("ada@example.com", platform.RoleViewer)
		errs := make(chan error, n)
		for range n {
			go func() {
				_, _, err := e.svc.AcceptInvitation(t.Context(), token, goodPassword, "192.0.2.5")
				errs <- err
			}()
		}
		ok := 0
		for range n {
			err := <-errs
			switch {
			case err == nil:
				ok++
			case platform.ErrorKind(err) == platform.KindNotFound, platform.ErrorKind(err) == platform.KindConflict:
			default:
				t.Errorf("AcceptInvitation: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d acceptances succeeded, want exactly 1", ok)
		}
		if evs := e.audit(platform.AuditInvitationAccepted); len(evs) != 1 {
			t.Fatalf("invitation.accepted events: %d, want 1", len(evs))
		}
	})
}

// TestInviteCannotTakeOverAnotherOrgsInvitee: an account invited by one
// organization that has no password yet cannot be given one through
// another organization's link. That link goes to the other
// organization's admin, and sign-in opens the first organization: its
// holder would sign in there with the role the first one granted.
func TestInviteCannotTakeOverAnotherOrgsInvitee(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		boot, err := e.gov.CreateOrg(ctx, platform.SystemActor("test"), "Globex", "mallory@example.com")
		if err != nil {
			t.Fatalf("CreateOrg: %v", err)
		}
		mallory := platform.Principal{OrgID: boot.Org.ID, Role: platform.RoleOwner,
			Actor: platform.Actor{Type: platform.ActorUser, ID: boot.User.ID, SourceIP: "192.0.2.66"}}
		_, acmeToken := e.invite("victim@example.com", platform.RoleOwner)
		e.clock.Advance(time.Second)
		_, globexToken, err := e.svc.Invite(ctx, mallory, "victim@example.com", "", platform.RoleViewer)
		if err != nil {
			t.Fatalf("Invite from Globex: %v", err)
		}
		_, _, err = e.svc.AcceptInvitation(ctx, globexToken, "mallory's choice!", "192.0.2.66")
		wantKind(t, "AcceptInvitation of the later organization's link", err, platform.KindConflict)
		if _, _, err := e.svc.Login(ctx, "victim@example.com", "mallory's choice!", "192.0.2.66"); err == nil {
			t.Fatal("the later organization's link set the password of Acme's invitee")
		}

		// The first organization's link sets it; the later one's then
		// takes it, like any account that has a password.
		_, sess, err := e.svc.AcceptInvitation(ctx, acmeToken, goodPassword, "192.0.2.5")
		if err != nil || sess.OrgID != e.org.ID || sess.Role != platform.RoleOwner {
			t.Fatalf("AcceptInvitation of Acme's link = %+v, %v; want an owner session in Acme", sess, err)
		}
		_, sess, err = e.svc.AcceptInvitation(ctx, globexToken, goodPassword, "192.0.2.5")
		if err != nil || sess.OrgID != boot.Org.ID {
			t.Fatalf("AcceptInvitation of Globex's link with her password = %+v, %v", sess, err)
		}
	})
}
