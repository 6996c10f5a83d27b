package dashboard_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// TestRoleRules: a role that may not do something sees no control for it,
// and the server refuses the form when it is posted anyway.
func TestRoleRules(t *testing.T) {
	h := newHarness(t)
	g := h.group("prod")
	keyID, _ := h.key(g, "web")
	tokenID := must(h.gov.AdminTokens(t.Context(), h.owner))[0].ID

	type post struct {
		path string
		form url.Values
	}
	posts := map[string]post{
		"revoke key":    {"/dashboard/keys/" + keyID + "/revoke", nil},
		"rotate key":    {"/dashboard/keys/" + keyID + "/rotate", url.Values{"grace_seconds": {"0"}, "nonce": {"x.1.y"}}},
		"top up":        {"/dashboard/billing/credits", url.Values{"kind": {"topup"}, "amount": {"100"}, "idempotency_key": {"k1"}}},
		"grant":         {"/dashboard/billing/credits", url.Values{"kind": {"grant"}, "amount": {"100"}, "idempotency_key": {"k2"}}},
		"set cap":       {"/dashboard/billing/caps", url.Values{"scope": {"group:" + g}, "monthly_cap": {"5"}}},
		"create group":  {"/dashboard/settings/api/groups", url.Values{"name": {"new"}}},
		"disable group": {"/dashboard/groups/" + g + "/status", url.Values{"status": {"disabled"}}},
		"set limit":     {"/dashboard/limits", url.Values{"scope": {"group:" + g}, "rpm": {"1"}, "tpm": {"0"}, "concurrency": {"0"}}},
		"change role":   {"/dashboard/members/" + h.owner.Actor.ID + "/role", url.Values{"role": {"viewer"}}},
		"revoke token":  {"/dashboard/admin-tokens/" + tokenID + "/revoke", nil},
	}
	tests := []struct {
		role platform.Role
		// hidden are markers that must not be on the page named.
		hidden  map[string][]string
		refused []string
	}{
		{platform.RoleViewer,
			map[string][]string{
				"/dashboard/groups/" + g:  {`id="revoke-` + keyID + `"`, `id="rotate-` + keyID + `"`, `id="generate-key"`, `id="disable-group"`},
				"/dashboard/billing":      {`id="credits-form"`, `id="cap-form"`, "Remove cap"},
				"/dashboard/settings/api": {`id="create-group-form"`},
				"/dashboard/limits":       {`id="limit-form"`},
				"/dashboard/members":      {`id="invite-form"`},
			},
			[]string{"revoke key", "rotate key", "top up", "grant", "set cap", "create group", "disable group", "set limit", "change role", "revoke token"}},
		{platform.RoleMember,
			map[string][]string{
				"/dashboard/settings/api": {`id="create-group-form"`, `id="nav-billing"`, `id="nav-audit"`, `id="nav-tokens"`},
			},
			[]string{"top up", "grant", "set cap", "create group", "disable group", "set limit", "change role", "revoke token"}},
		{platform.RoleBilling,
			map[string][]string{
				"/dashboard/groups/" + g: {`id="revoke-` + keyID + `"`, `id="generate-key"`},
			},
			[]string{"revoke key", "create group", "change role", "revoke token"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			email, pw := h.member(tt.role)
			b := h.browserIn(t)
			b.signIn(email, pw)
			for path, markers := range tt.hidden {
				p := b.must(http.StatusOK, path)
				lacks(t, string(tt.role)+" "+path, p.body, markers...)
			}
			b.must(http.StatusOK, "/dashboard/usage")
			token := b.csrf()
			for _, name := range tt.refused {
				ps := posts[name]
				form := url.Values{}
				for k, v := range ps.form {
					form[k] = v
				}
				form.Set("csrf_token", token)
				p := b.post(ps.path, form)
				if p.status != http.StatusForbidden {
					t.Fatalf("%s: %s = %d, want 403:\n%s", tt.role, name, p.status, p.body)
				}
				contains(t, name, p.body, `data-testid="error-page"`)
			}
		})
	}
	// Nothing changed.
	if k := must(h.gov.Key(t.Context(), h.owner, keyID)); k.RevokedAt != nil || k.RotatedTo != "" {
		t.Fatal("a refused form changed the key")
	}
	acct := must(h.bill.Balance(t.Context(), h.owner))
	if acct.Balance != 0 {
		t.Fatalf("a refused form moved money: balance %d", acct.Balance)
	}
	if caps := must(h.bill.Caps(t.Context(), h.owner)); len(caps) != 0 {
		t.Fatal("a refused form set a cap")
	}
	if gs := must(h.gov.Groups(t.Context(), h.owner)); len(gs) != 1 || gs[0].Status != platform.GroupActive {
		t.Fatal("a refused form changed the groups")
	}
	if ls := must(h.bill.Limits(t.Context(), h.owner, &billing.Scope{Kind: billing.ScopeGroup, ID: g})); len(ls) != 0 {
		t.Fatal("a refused form set a limit")
	}
}

// TestRoleChangeAppliesAtOnce: the session reads the role fresh, so a
// demoted admin loses the controls on the next page.
func TestRoleChangeAppliesAtOnce(t *testing.T) {
	h := newHarness(t)
	email, pw := h.member(platform.RoleAdmin)
	b := h.browser()
	b.signIn(email, pw)
	contains(t, "admin", b.must(http.StatusOK, "/dashboard/settings/api").body, `id="create-group-form"`, `id="nav-audit"`)
	ms := must(h.gov.Members(t.Context(), h.owner))
	for _, m := range ms {
		if m.Email == email {
			must(h.gov.SetMemberRole(t.Context(), h.owner, m.UserID, platform.RoleViewer))
		}
	}
	p := b.must(http.StatusOK, "/dashboard/settings/api")
	lacks(t, "demoted", p.body, `id="create-group-form"`, `id="nav-audit"`)
	if p := b.get("/dashboard/audit"); p.status != http.StatusForbidden {
		t.Fatalf("demoted admin reads the audit log: %d", p.status)
	}
}
