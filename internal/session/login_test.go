package session_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/session"
)

func TestLogin(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		// An invited user who has not set a password yet.
		if _, err := e.gov.AddMember(t.Context(), e.owner, governance.NewMember{Email: "new@example.com",
			Role: platform.RoleViewer}); err != nil {
			t.Fatalf("AddMember: %v", err)
		}
		tests := []struct {
			name, email, pw string
			ok              bool
		}{
			{"right password", "owner@example.com", e.ownerPW, true},
			{"email in another case, with spaces", "  Owner@Example.COM ", e.ownerPW, true},
			{"wrong password", "owner@example.com", e.ownerPW + "x", false},
			{"empty password", "owner@example.com", "", false},
			{"unknown email", "nobody@example.com", e.ownerPW, false},
			{"not an email", "owner", e.ownerPW, false},
			{"user without a password", "new@example.com", "", false},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ip := "198.51.100." + string(rune('1'+i)) // its own network: no throttling here
				secret, sess, err := e.svc.Login(t.Context(), tt.email, tt.pw, ip)
				if !tt.ok {
					wantUnauthenticated(t, "Login", err, badLogin)
					if secret != "" || sess != nil {
						t.Fatalf("a failed Login returned %q, %+v", secret, sess)
					}
					return
				}
				if err != nil {
					t.Fatalf("Login: %v", err)
				}
				if !strings.HasPrefix(secret, "tgs_") || len(secret) != 4+43 {
					t.Fatalf("secret %q: want tgs_ and 43 base64url characters", secret)
				}
				if !strings.HasPrefix(sess.ID, "ses_") || strings.Contains(sess.ID, secret[4:]) {
					t.Fatalf("session ID %q: want ses_…, unrelated to the secret", sess.ID)
				}
				want := &session.Session{ID: sess.ID, UserID: e.owner.Actor.ID, OrgID: e.org.ID,
					Email: "owner@example.com", Role: platform.RoleOwner, CSRFToken: sess.CSRFToken,
					CreatedAt: start, ExpiresAt: start.Add(testConfig.TTL), LastSeenAt: start}
				if *sess != *want {
					t.Fatalf("Login session:\ngot  %+v\nwant %+v", sess, want)
				}
				if got := e.resolve(secret); *got != *want {
					t.Fatalf("Resolve:\ngot  %+v\nwant %+v", got, want)
				}
				var found bool
				for _, ev := range e.audit(platform.AuditSessionCreated) {
					if ev.TargetID == sess.ID {
						found = ev.ActorType == platform.ActorUser && ev.ActorID == e.owner.Actor.ID && ev.SourceIP == ip
					}
				}
				if !found {
					t.Fatalf("no session.created event by the owner from %s for %s", ip, sess.ID)
				}
			})
		}
	})
}

// TestLoginOldestOrg: a member of several organizations signs in to the
// one they joined first.
func TestLoginOldestOrg(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		e.clock.Advance(time.Minute)
		boot, err := e.gov.CreateOrg(t.Context(), platform.SystemActor("test"), "Globex", "owner@example.com")
		if err != nil {
			t.Fatalf("CreateOrg: %v", err)
		}
		_, sess := e.login("owner@example.com", e.ownerPW, ownerIP)
		if sess.OrgID != e.org.ID || boot.Org.ID == e.org.ID {
			t.Fatalf("signed in to %s, want the oldest membership's %s", sess.OrgID, e.org.ID)
		}
	})
}

// TestLoginTiming: an unknown email costs an argon2id check like a wrong
// password, so response times do not tell which emails have accounts.
func TestLoginTiming(t *testing.T) {
	cfg := testConfig
	cfg.MaxAttempts = 100
	e := newEnv(t, "sqlite", cfg)
	fastest := func(email string) time.Duration {
		best := time.Hour
		for range 5 {
			t0 := time.Now()
			_, _, err := e.svc.Login(t.Context(), email, "wrong password", ownerIP)
			best = min(best, time.Since(t0))
			wantUnauthenticated(t, "Login", err, badLogin)
		}
		return best
	}
	fastest("nobody@example.com") // the first builds the dummy hash
	wrong, unknown := fastest("owner@example.com"), fastest("nobody@example.com")
	if unknown < wrong/3 {
		t.Fatalf("an unknown email takes %v, a wrong password %v: the unknown email skipped the password check", unknown, wrong)
	}
}

func TestThrottle(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.member("ada@example.com", goodPassword, platform.RoleMember)
		e.member("bob@example.com", goodPassword, platform.RoleMember)
		e.member("cy@example.com", goodPassword, platform.RoleMember)
		maxAttempts := testConfig.MaxAttempts

		wantThrottled := func(t *testing.T, what, email, ip string, retry time.Duration) {
			t.Helper()
			_, _, err := e.svc.Login(ctx, email, goodPassword, ip) // the right password changes nothing
			wantKind(t, what, err, platform.KindRateLimited)
			if got := platform.ErrorRetryAfter(err); got != retry {
				t.Fatalf("%s: RetryAfter %v, want %v", what, got, retry)
			}
			if msg := platform.ErrorMessage(err); !strings.Contains(msg, "try again in") {
				t.Fatalf("%s: message %q does not say when to retry", what, msg)
			}
		}

		t.Run("per email, from many networks", func(t *testing.T) {
			for i := range maxAttempts {
				_, _, err := e.svc.Login(ctx, "ada@example.com", "wrong", "192.0.2."+string(rune('1'+i)))
				wantUnauthenticated(t, "wrong password", err, badLogin)
			}
			wantThrottled(t, "ada from a new network", "ada@example.com", "192.0.2.99", testConfig.Window)
			e.clock.Advance(10 * time.Minute)
			wantThrottled(t, "ada 10 minutes later", "ada@example.com", "192.0.2.99", 5*time.Minute)
			e.login("bob@example.com", goodPassword, "192.0.2.99") // other emails are not affected
			e.clock.Advance(5 * time.Minute)                       // the window is over
			e.login("ada@example.com", goodPassword, "192.0.2.99")
		})

		t.Run("per network, over many emails", func(t *testing.T) {
			ip := "198.51.100.7"
			for _, email := range []string{"ada@example.com", "bob@example.com", "zed@example.com"} {
				_, _, err := e.svc.Login(ctx, email, "wrong", ip)
				wantUnauthenticated(t, "wrong password", err, badLogin)
			}
			wantThrottled(t, "cy from the guessing network", "cy@example.com", ip, testConfig.Window)
			e.login("cy@example.com", goodPassword, "198.51.100.8") // another network is fine
			e.clock.Advance(testConfig.Window)
			e.login("cy@example.com", goodPassword, ip)
		})

		t.Run("IPv6 counts per /64", func(t *testing.T) {
			for i := range maxAttempts {
				_, _, err := e.svc.Login(ctx, "bob@example.com", "wrong", "2001:db8:1:2::"+string(rune('a'+i)))
				wantUnauthenticated(t, "wrong password", err, badLogin)
				e.clock.Advance(time.Second)
				// Each success clears bob's own count, so only the network's fills up.
				e.login("bob@example.com", goodPassword, "2001:db8:9::1")
			}
			wantThrottled(t, "another host of the /64", "cy@example.com", "[2001:db8:1:2::ff]:443",
				testConfig.Window-time.Duration(maxAttempts)*time.Second)
			e.login("cy@example.com", goodPassword, "2001:db8:1:3::1") // the next /64 is fine
			e.clock.Advance(testConfig.Window)
		})

		t.Run("success resets the email's count", func(t *testing.T) {
			for round := range 3 {
				for i := range maxAttempts - 1 {
					ip := fmt.Sprintf("192.0.2.%d", 10*(round+1)+i) // fresh networks: only ada's count matters
					_, _, err := e.svc.Login(ctx, "ada@example.com", "wrong", ip)
					wantUnauthenticated(t, "wrong password", err, badLogin)
				}
				e.login("ada@example.com", goodPassword, "203.0.113.77")
			}
		})

		t.Run("success does not count against the network", func(t *testing.T) {
			ip := "203.0.113.50"
			for range maxAttempts + 2 {
				e.login("bob@example.com", goodPassword, ip)
			}
		})
	})
}

// TestThrottleConcurrent: guesses sent at once are held to the limit too.
func TestThrottleConcurrent(t *testing.T) {
	cfg := testConfig
	cfg.MaxAttempts = 4
	backends(t, cfg, func(t *testing.T, e *env) {
		const n = 12
		errs := make(chan error, n)
		for range n {
			go func() {
				_, _, err := e.svc.Login(t.Context(), "owner@example.com", "wrong", "192.0.2.1")
				errs <- err
			}()
		}
		var checked, throttled int
		for range n {
			switch err := <-errs; platform.ErrorKind(err) {
			case platform.KindUnauthenticated:
				checked++
			case platform.KindRateLimited:
				throttled++
			default:
				t.Errorf("Login: %v", err)
			}
		}
		if checked != cfg.MaxAttempts || throttled != n-cfg.MaxAttempts {
			t.Fatalf("%d passwords checked and %d throttled, want %d and %d", checked, throttled, cfg.MaxAttempts, n-cfg.MaxAttempts)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		ttl, idle := testConfig.TTL, testConfig.IdleTimeout

		t.Run("idle", func(t *testing.T) {
			secret, _ := e.login("owner@example.com", e.ownerPW, ownerIP)
			e.clock.Advance(idle - time.Second)
			if got := e.resolve(secret).LastSeenAt; !got.Equal(e.clock.Now()) {
				t.Fatalf("LastSeenAt = %v, want now (%v)", got, e.clock.Now())
			}
			e.clock.Advance(idle - time.Second) // used just in time again
			e.resolve(secret)
			e.clock.Advance(idle)
			_, err := e.svc.Resolve(ctx, secret)
			wantUnauthenticated(t, "Resolve after the idle timeout", err, "your session has ended; sign in again")
		})

		t.Run("touched at most once a minute", func(t *testing.T) {
			secret, sess := e.login("owner@example.com", e.ownerPW, ownerIP)
			e.clock.Advance(30 * time.Second)
			if got := e.resolve(secret).LastSeenAt; !got.Equal(sess.LastSeenAt) {
				t.Fatalf("after 30s LastSeenAt = %v, want unchanged %v", got, sess.LastSeenAt)
			}
			now := e.clock.Advance(30 * time.Second)
			if got := e.resolve(secret).LastSeenAt; !got.Equal(now) {
				t.Fatalf("after 60s LastSeenAt = %v, want %v", got, now)
			}
		})

		t.Run("absolute", func(t *testing.T) {
			secret, sess := e.login("owner@example.com", e.ownerPW, ownerIP)
			for e.clock.Now().Add(time.Hour).Before(sess.ExpiresAt) {
				e.clock.Advance(time.Hour) // busy all day
				e.resolve(secret)
			}
			e.clock.Advance(sess.ExpiresAt.Sub(e.clock.Now()) - time.Microsecond)
			e.resolve(secret)
			e.clock.Advance(time.Microsecond)
			_, err := e.svc.Resolve(ctx, secret)
			wantUnauthenticated(t, "Resolve at the session's expiry", err, "your session has ended; sign in again")
			if !sess.ExpiresAt.Equal(sess.CreatedAt.Add(ttl)) {
				t.Fatalf("ExpiresAt %v, want CreatedAt + %v", sess.ExpiresAt, ttl)
			}
		})

		t.Run("dead sessions are purged a day later", func(t *testing.T) {
			secret, sess := e.login("owner@example.com", e.ownerPW, ownerIP)
			e.clock.Advance(ttl + 24*time.Hour + time.Minute)
			e.login("owner@example.com", e.ownerPW, ownerIP) // purges
			var n int
			if err := e.st.DB().QueryRowContext(ctx, e.rebind(`SELECT COUNT(*) FROM sessions WHERE id = ?`),
				sess.ID).Scan(&n); err != nil {
				t.Fatalf("count sessions: %v", err)
			}
			if n != 0 {
				t.Fatalf("the session that expired a day ago is still stored")
			}
			_, err := e.svc.Resolve(ctx, secret)
			wantUnauthenticated(t, "Resolve of a purged session", err, "your session has ended; sign in again")
		})
	})
}

// rebind makes a one-placeholder query PostgreSQL's.
func (e *env) rebind(q string) string {
	if e.st.Backend() == "postgres" {
		return strings.Replace(q, "?", "$1", 1)
	}
	return q
}

func TestResolveRefuses(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		secret, _ := e.login("owner@example.com", e.ownerPW, ownerIP)
		tests := []struct{ name, secret string }{
			{"empty", ""},
			{"garbage", "hello"},
			{"unknown", "tgs_" + strings.Repeat("A", 43)},
			{"truncated", secret[:len(secret)-1]},
			{"other prefix", "tgi_" + secret[4:]},
			{"one character off", secret[:len(secret)-1] + flip(secret[len(secret)-1])},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.Resolve(t.Context(), tt.secret)
				wantUnauthenticated(t, "Resolve", err, "your session has ended; sign in again")
			})
		}
	})
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestLogout(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		secret, sess := e.login("owner@example.com", e.ownerPW, ownerIP)
		other, _ := e.login("owner@example.com", e.ownerPW, ownerIP)
		for range 2 { // signing out twice is fine
			if err := e.svc.Logout(ctx, secret); err != nil {
				t.Fatalf("Logout: %v", err)
			}
		}
		_, err := e.svc.Resolve(ctx, secret)
		wantUnauthenticated(t, "Resolve after Logout", err, "your session has ended; sign in again")
		e.resolve(other) // the other session lives on

		for _, s := range []string{"", "junk", "tgs_" + strings.Repeat("A", 43)} {
			if err := e.svc.Logout(ctx, s); err != nil {
				t.Fatalf("Logout(%q): %v", s, err)
			}
		}
		evs := e.audit(platform.AuditSessionEnded)
		if len(evs) != 1 || evs[0].TargetID != sess.ID || evs[0].ActorID != sess.UserID || evs[0].Details["reason"] != "sign_out" {
			t.Fatalf("session.ended events: want one sign_out of %s by %s, got %+v", sess.ID, sess.UserID, evs)
		}
		if auditHolds(e.audit(""), secret) || auditHolds(e.audit(""), secret[4:]) {
			t.Fatal("the audit log holds a session secret")
		}
	})
}

// TestRoleFresh: the role comes from the membership at every Resolve.
func TestRoleFresh(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		m := e.member("ada@example.com", goodPassword, platform.RoleAdmin)
		secret, sess := e.login("ada@example.com", goodPassword, "192.0.2.1")
		if sess.Role != platform.RoleAdmin {
			t.Fatalf("Role %s, want admin", sess.Role)
		}
		for _, role := range []platform.Role{platform.RoleViewer, platform.RoleBilling, platform.RoleAdmin} {
			if _, err := e.gov.SetMemberRole(ctx, e.owner, m.UserID, role); err != nil {
				t.Fatalf("SetMemberRole(%s): %v", role, err)
			}
			if got := e.resolve(secret); got.Role != role || got.Principal("").Role != role {
				t.Fatalf("after the change to %s, Resolve gives role %s", role, got.Role)
			}
		}

		if err := e.gov.RemoveMember(ctx, e.owner, m.UserID); err != nil {
			t.Fatalf("RemoveMember: %v", err)
		}
		_, err := e.svc.Resolve(ctx, secret)
		wantUnauthenticated(t, "Resolve after removal", err, "your session has ended; sign in again")
		_, _, err = e.svc.Login(ctx, "ada@example.com", goodPassword, "192.0.2.1")
		wantKind(t, "Login of a user with no organization", err, platform.KindForbidden)

		// Added back, the user signs in afresh: the old session stays dead.
		e.member("ada@example.com", "", platform.RoleAdmin)
		_, err = e.svc.Resolve(ctx, secret)
		wantUnauthenticated(t, "Resolve after removal and return", err, "your session has ended; sign in again")
		e.login("ada@example.com", goodPassword, "192.0.2.1")
		var ended bool
		for _, ev := range e.audit(platform.AuditSessionEnded) {
			ended = ended || ev.TargetID == sess.ID && ev.Details["reason"] == "membership_removed"
		}
		if !ended {
			t.Fatal("no session.ended event for the removed member's session")
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	e := newEnv(t, "sqlite", session.Config{})
	_, sess := e.login("owner@example.com", e.ownerPW, ownerIP)
	if got := sess.ExpiresAt.Sub(sess.CreatedAt); got != session.DefaultTTL {
		t.Fatalf("default TTL %v, want %v", got, session.DefaultTTL)
	}
	for i := range session.DefaultMaxAttempts {
		_, _, err := e.svc.Login(t.Context(), "owner@example.com", "wrong", ownerIP)
		wantUnauthenticated(t, fmt.Sprintf("failure %d", i+1), err, badLogin)
	}
	_, _, err := e.svc.Login(t.Context(), "owner@example.com", e.ownerPW, ownerIP)
	wantKind(t, "Login after the default number of failures", err, platform.KindRateLimited)
	if got := platform.ErrorRetryAfter(err); got != session.DefaultWindow {
		t.Fatalf("RetryAfter %v, want the default window %v", got, session.DefaultWindow)
	}
}

// TestPasswordChangeEndsSessions: setting a new password signs the user
// out of every session, and only that user.
func TestPasswordChangeEndsSessions(t *testing.T) {
	backends(t, testConfig, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.member("alice@example.com", "alice-password-1", platform.RoleMember)
		a1, _ := e.login("alice@example.com", "alice-password-1", "198.51.100.1")
		a2, _ := e.login("alice@example.com", "alice-password-1", "198.51.100.2")
		owner, _ := e.login("owner@example.com", e.ownerPW, ownerIP)

		if _, err := e.gov.SetPassword(ctx, platform.SystemActor("test"), e.org.ID, "alice@example.com", "alice-password-2"); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		for _, s := range []string{a1, a2} {
			if _, err := e.svc.Resolve(ctx, s); platform.ErrorKind(err) != platform.KindUnauthenticated {
				t.Errorf("Resolve after a password change: %v, want unauthenticated", err)
			}
		}
		e.resolve(owner) // another user's session lives on
		e.login("alice@example.com", "alice-password-2", "198.51.100.1")
		evs := e.audit(platform.AuditUserPasswordSet)
		if len(evs) == 0 || evs[0].Details["sessions_ended"] != "2" {
			t.Errorf("user.password_set events: %+v, want sessions_ended 2", evs)
		}
	})
}
