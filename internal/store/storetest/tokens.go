package storetest

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

var tokenTests = []test{
	{"CreateGet", testTokenCreateGet},
	{"DuplicateHash", testTokenDuplicateHash},
	{"List", testTokenList},
	{"OtherOrg", testTokenOtherOrg},
	{"Revoke", testTokenRevoke},
	{"ByHash", testTokenByHash},
	{"Touch", testTokenTouch},
}

func testTokenCreateGet(t *testing.T, e *env) {
	acme := e.org("Acme")
	ci := e.token(acme.ID, "ci", platform.RoleAdmin)
	expiring := e.newToken(acme.ID, "contractor", platform.RoleViewer)
	expiring.ExpiresAt = ptr(start.Add(7 * 24 * time.Hour))
	if err := e.s.CreateAdminToken(e.ctx, expiring, alice); err != nil {
		t.Fatalf("CreateAdminToken(expiring): %v", err)
	}

	for _, want := range []*platform.AdminToken{ci, expiring} {
		got, err := e.s.GetAdminToken(e.ctx, acme.ID, want.ID)
		if err != nil {
			t.Fatalf("GetAdminToken(%s): %v", want.Name, err)
		}
		checkEqual(t, "GetAdminToken", got, want)
	}
}

func testTokenDuplicateHash(t *testing.T, e *env) {
	acme := e.org("Acme")
	first := e.token(acme.ID, "first", platform.RoleAdmin)
	dup := e.newToken(acme.ID, "second", platform.RoleOwner)
	dup.Hash = first.Hash
	wantDuplicate(t, "CreateAdminToken with another token's hash", e.s.CreateAdminToken(e.ctx, dup, alice))

	_, err := e.s.GetAdminToken(e.ctx, acme.ID, dup.ID)
	wantNotFound(t, "GetAdminToken of the refused token", err)
	got, err := e.s.AdminTokenByHash(e.ctx, first.Hash)
	if err != nil {
		t.Fatalf("AdminTokenByHash: %v", err)
	}
	checkEqual(t, "AdminTokenByHash after the refused duplicate", got, first)
}

func testTokenList(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	t1 := e.token(acme.ID, "t1", platform.RoleAdmin)
	e.clock.Advance(time.Second)
	t2 := e.token(acme.ID, "t2", platform.RoleViewer)
	e.clock.Advance(time.Second)
	t3 := e.token(acme.ID, "t3", platform.RoleBilling)
	tx := e.token(globex.ID, "tx", platform.RoleOwner)

	tests := []struct {
		name  string
		orgID string
		want  []*platform.AdminToken
	}{
		{"acme", acme.ID, []*platform.AdminToken{t3, t2, t1}},
		{"globex", globex.ID, []*platform.AdminToken{tx}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.s.ListAdminTokens(e.ctx, tt.orgID)
			if err != nil {
				t.Fatalf("ListAdminTokens: %v", err)
			}
			checkEqual(t, "ListAdminTokens (newest first)", got, tt.want)
		})
	}

	empty := e.org("Empty")
	got, err := e.s.ListAdminTokens(e.ctx, empty.ID)
	if err != nil {
		t.Fatalf("ListAdminTokens(empty): %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("ListAdminTokens of an org without tokens = %s, want none", show(got))
	}
}

func testTokenOtherOrg(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	tok := e.token(acme.ID, "ci", platform.RoleAdmin)

	tests := []struct {
		name string
		call func() error
	}{
		{"GetAdminToken with another org's ID", func() error { _, err := e.s.GetAdminToken(e.ctx, globex.ID, tok.ID); return err }},
		{"RevokeAdminToken with another org's ID", func() error {
			_, err := e.s.RevokeAdminToken(e.ctx, globex.ID, tok.ID, alice)
			return err
		}},
		{"GetAdminToken of a missing token", func() error { _, err := e.s.GetAdminToken(e.ctx, acme.ID, "adt_missing"); return err }},
		{"RevokeAdminToken of a missing token", func() error {
			_, err := e.s.RevokeAdminToken(e.ctx, acme.ID, "adt_missing", alice)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name, tt.call())
		})
	}

	got, err := e.s.GetAdminToken(e.ctx, acme.ID, tok.ID)
	if err != nil {
		t.Fatalf("GetAdminToken: %v", err)
	}
	checkEqual(t, "the token after another org's attempts", got, tok)
}

func testTokenRevoke(t *testing.T, e *env) {
	acme := e.org("Acme")
	tok := e.token(acme.ID, "ci", platform.RoleAdmin)
	keep := e.token(acme.ID, "keep", platform.RoleAdmin)

	revokedAt := e.clock.Advance(time.Minute)
	want := *tok
	want.RevokedAt = &revokedAt
	for i := range 2 {
		got, err := e.s.RevokeAdminToken(e.ctx, acme.ID, tok.ID, bob)
		if err != nil {
			t.Fatalf("RevokeAdminToken #%d: %v", i+1, err)
		}
		checkEqual(t, "RevokeAdminToken result", got, &want)
		stored, err := e.s.GetAdminToken(e.ctx, acme.ID, tok.ID)
		if err != nil {
			t.Fatalf("GetAdminToken: %v", err)
		}
		checkEqual(t, "GetAdminToken after RevokeAdminToken", stored, &want)
		if stored.Usable(e.clock.Now()) {
			t.Errorf("a revoked token is usable")
		}
		e.clock.Advance(time.Hour) // a second revocation must not move RevokedAt
	}
	if n := e.countEvents(acme.ID, platform.AuditAdminTokenRevoked, tok.ID); n != 1 {
		t.Errorf("two revocations wrote %d admin_token.revoked events, want 1", n)
	}
	got, err := e.s.GetAdminToken(e.ctx, acme.ID, keep.ID)
	if err != nil {
		t.Fatalf("GetAdminToken(keep): %v", err)
	}
	checkEqual(t, "another token", got, keep)
}

func testTokenByHash(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	tok := e.token(acme.ID, "ci", platform.RoleAdmin)
	theirs := e.token(globex.ID, "theirs", platform.RoleOwner)
	revoked := e.token(acme.ID, "revoked", platform.RoleViewer)
	now := e.clock.Advance(time.Minute)
	if _, err := e.s.RevokeAdminToken(e.ctx, acme.ID, revoked.ID, alice); err != nil {
		t.Fatalf("RevokeAdminToken: %v", err)
	}
	revoked.RevokedAt = &now

	// The lookup returns revoked tokens too: the caller decides, and can
	// tell a revoked token from an unknown one.
	for _, want := range []*platform.AdminToken{tok, theirs, revoked} {
		got, err := e.s.AdminTokenByHash(e.ctx, want.Hash)
		if err != nil {
			t.Fatalf("AdminTokenByHash(%s): %v", want.Name, err)
		}
		checkEqual(t, "AdminTokenByHash", got, want)
	}

	_, err := e.s.AdminTokenByHash(e.ctx, randomHash())
	wantNotFound(t, "AdminTokenByHash of an unknown hash", err)
	g := e.group(acme.ID, "Production")
	k := e.key(acme.ID, g.ID, "prod")
	_, err = e.s.AdminTokenByHash(e.ctx, k.Hash)
	wantNotFound(t, "AdminTokenByHash of an API key's hash", err)
	_, err = e.s.KeyByHash(e.ctx, tok.Hash)
	wantNotFound(t, "KeyByHash of an admin token's hash", err)
}

func testTokenTouch(t *testing.T, e *env) {
	acme := e.org("Acme")
	tok := e.token(acme.ID, "ci", platform.RoleAdmin)
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }

	steps := []struct {
		name string
		used time.Time
		want time.Time
	}{
		{"first use", at(5), at(5)},
		{"later use", at(9), at(9)},
		{"an earlier time is ignored", at(7), at(9)},
		{"the same time", at(9), at(9)},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.s.TouchAdminTokens(e.ctx, map[string]time.Time{tok.ID: tt.used, "adt_missing": tt.used}); err != nil {
				t.Fatalf("TouchAdminTokens: %v", err)
			}
			got, err := e.s.GetAdminToken(e.ctx, acme.ID, tok.ID)
			if err != nil {
				t.Fatalf("GetAdminToken: %v", err)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(tt.want) {
				t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, tt.want)
			}
		})
	}
	if err := e.s.TouchAdminTokens(e.ctx, nil); err != nil {
		t.Errorf("TouchAdminTokens(nil): %v", err)
	}
}
