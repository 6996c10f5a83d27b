package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

var tokenSecretRE = regexp.MustCompile(`id="new-token-secret"[^>]*value="([^"]+)"`)

func TestAdminTokensShownOnce(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(h.email, h.passwd)
	p := b.submit("/dashboard/admin-tokens", "/dashboard/admin-tokens", url.Values{"name": {"terraform"}, "role": {"admin"}, "expires_in_days": {"30"}})
	m := tokenSecretRE.FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create token = %d:\n%s", p.status, p.body)
	}
	secret := m[1]
	contains(t, "token page", p.body, `id="copy-token"`)
	var id string
	for _, tk := range must(h.gov.AdminTokens(t.Context(), h.owner)) {
		if tk.Name == "terraform" {
			id = tk.ID
		}
	}
	p = b.must(http.StatusOK, "/dashboard/admin-tokens")
	contains(t, "tokens page", p.body, "terraform", `id="revoke-token-`+id+`"`)
	lacks(t, "tokens page", p.body, secret)
	p = b.submit("/dashboard/admin-tokens/"+id+"/revoke", "/dashboard/admin-tokens/"+id+"/revoke", nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("revoke token = %d", p.status)
	}
	p = b.must(http.StatusOK, "/dashboard/admin-tokens")
	lacks(t, "after revoke", p.body, `id="revoke-token-`+id+`"`, secret)

	// An admin may not mint an owner token; the refusal sits by the role.
	email, pw := h.member(platform.RoleAdmin)
	a := h.browser()
	a.signIn(email, pw)
	lacks(t, "admin's token form", a.must(http.StatusOK, "/dashboard/admin-tokens").body, `<option value="owner"`)
	p = a.submit("/dashboard/admin-tokens", "/dashboard/admin-tokens", url.Values{"name": {"x"}, "role": {"owner"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("admin mints an owner token = %d", p.status)
	}
	contains(t, "refused role", p.body, `id="token-role-error"`)
}

func TestAuditLogFiltersAndPages(t *testing.T) {
	h := newHarness(t)
	for i := range 60 {
		h.group(fmt.Sprintf("g%02d", i))
	}
	g := h.group("target")
	b := h.browser()
	b.signIn(h.email, h.passwd)
	p := b.must(http.StatusOK, "/dashboard/audit")
	if n := strings.Count(p.body, `data-testid="audit-row"`); n != 50 {
		t.Fatalf("first page has %d events, want 50", n)
	}
	older := regexp.MustCompile(`id="audit-older" href="([^"]+)"`).FindStringSubmatch(p.body)
	if older == nil {
		t.Fatal("no link to older events")
	}
	p = b.must(http.StatusOK, strings.ReplaceAll(older[1], "&amp;", "&"))
	if n := strings.Count(p.body, `data-testid="audit-row"`); n == 0 {
		t.Fatalf("second page has %d events", n)
	}
	p = b.must(http.StatusOK, "/dashboard/audit?action=group.created&target="+g)
	if n := strings.Count(p.body, `data-testid="audit-row"`); n != 1 {
		t.Fatalf("filtered to one target: %d events", n)
	}
	contains(t, "filtered", p.body, "<code>group.<wbr>created</code>", h.email, `href="/dashboard/groups/`+g+`"`)
	p = b.must(http.StatusOK, "/dashboard/audit?actor=usr_nobody")
	contains(t, "no match", p.body, `data-testid="audit-empty"`, "Nothing matches")
}
