package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

var inviteLinkRE = regexp.MustCompile(`id="invite-link"[^>]*value="([^"]+)"`)

func TestInviteAcceptAndManageMembers(t *testing.T) {
	h := newHarness(t)
	owner := h.browser()
	owner.signIn(h.email, h.passwd)

	// A bad email comes back next to its field.
	p := owner.submit("/dashboard/members", "/dashboard/members/invite", url.Values{"email": {"not an email"}, "role": {"member"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("bad email = %d", p.status)
	}
	contains(t, "bad invite", p.body, `id="invite-email-error"`)

	p = owner.submit("/dashboard/members", "/dashboard/members/invite", url.Values{"email": {"dev@acme.test"}, "role": {"member"}})
	if p.status != http.StatusCreated {
		t.Fatalf("invite = %d:\n%s", p.status, p.body)
	}
	m := inviteLinkRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no invitation link shown:\n%s", p.body)
	}
	link, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil || link.Path != "/dashboard/invite" || !strings.HasPrefix(link.Query().Get("token"), "tgi_") {
		t.Fatalf("invitation link %q", m[1])
	}
	token := link.Query().Get("token")
	contains(t, "invite page", p.body, `id="copy-invite-link"`, "only time it is shown")
	if p.header.Get("Cache-Control") != "no-store" {
		t.Fatal("the invitation link page may be cached")
	}

	// The members page lists the pending invitation, never its token.
	p = owner.must(http.StatusOK, "/dashboard/members")
	contains(t, "members", p.body, "dev@acme.test", `data-testid="invitations-table"`, "invited")
	lacks(t, "members", p.body, token)

	// The invitee sets a password and is signed in.
	guest := h.browser()
	p = guest.must(http.StatusOK, "/dashboard/invite?token="+url.QueryEscape(token))
	contains(t, "accept page", p.body, "dev@acme.test", `id="accept-invite"`)
	p = guest.post("/dashboard/invite", url.Values{"token": {token}, "password": {"a long new password"}, "password_confirm": {"another one entirely"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("mismatched passwords = %d", p.status)
	}
	contains(t, "mismatch", p.body, `id="password_confirm-error"`)
	lacks(t, "mismatch", p.body, "a long new password")
	p = guest.post("/dashboard/invite", url.Values{"token": {token}, "password": {"a long new password"}, "password_confirm": {"a long new password"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("accept = %d:\n%s", p.status, p.body)
	}
	p = guest.must(http.StatusOK, "/dashboard/settings/api?done=welcome")
	contains(t, "welcome", p.body, "dev@acme.test", `data-testid="user-role">member`)

	// The link works once.
	if p := h.browser().get("/dashboard/invite?token=" + url.QueryEscape(token)); p.status != http.StatusNotFound {
		t.Fatalf("used invitation = %d, want 404", p.status)
	}
	lacks(t, "server log", h.logs.String(), token)

	// The owner changes the new member's role, then removes them.
	var devID string
	for _, m := range must(h.gov.Members(t.Context(), h.owner)) {
		if m.Email == "dev@acme.test" {
			devID = m.UserID
		}
	}
	p = owner.submit("/dashboard/members", "/dashboard/members/"+devID+"/role", url.Values{"role": {"billing"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("change role = %d", p.status)
	}
	contains(t, "after role change", guest.must(http.StatusOK, "/dashboard/billing").body, `data-testid="user-role">billing`)
	p = owner.must(http.StatusOK, "/dashboard/members/"+devID+"/remove")
	contains(t, "confirm removal", p.body, `id="confirm-remove"`)
	if p := owner.submit("/dashboard/members/"+devID+"/remove", "/dashboard/members/"+devID+"/remove", nil); p.status != http.StatusSeeOther {
		t.Fatalf("remove = %d", p.status)
	}
	if p := guest.get("/dashboard/settings/api"); p.status != http.StatusSeeOther {
		t.Fatalf("a removed member still sees the dashboard: %d", p.status)
	}
}

func TestInvitationRevokedAndForbiddenRole(t *testing.T) {
	h := newHarness(t)
	email, pw := h.member(platform.RoleAdmin)
	admin := h.browser()
	admin.signIn(email, pw)
	// An admin is not offered the owner role, and is refused it when
	// posting it anyway, next to the field.
	p := admin.must(http.StatusOK, "/dashboard/members")
	lacks(t, "admin's invite form", p.body, `<option value="owner"`)
	p = admin.submit("/dashboard/members", "/dashboard/members/invite", url.Values{"email": {"boss@acme.test"}, "role": {"owner"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("admin invites an owner = %d", p.status)
	}
	contains(t, "refused role", p.body, `id="invite-role-error"`)

	p = admin.submit("/dashboard/members", "/dashboard/members/invite", url.Values{"email": {"temp@acme.test"}, "role": {"viewer"}})
	token := must(url.Parse(strings.ReplaceAll(inviteLinkRE.FindStringSubmatch(p.body)[1], "&amp;", "&"))).Query().Get("token")
	invs := must(h.sess.Invitations(t.Context(), h.owner))
	if len(invs) != 1 {
		t.Fatalf("%d pending invitations", len(invs))
	}
	p = admin.submit("/dashboard/members", "/dashboard/invitations/"+invs[0].ID+"/revoke", nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("revoke invitation = %d", p.status)
	}
	if p := h.browser().get("/dashboard/invite?token=" + url.QueryEscape(token)); p.status != http.StatusNotFound {
		t.Fatalf("revoked invitation = %d, want 404", p.status)
	}
}
