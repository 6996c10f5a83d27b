package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

var secretRE = regexp.MustCompile(`id="new-key-secret"[^>]*value="([^"]+)"`)

func TestGroupsAndKeyShownOnce(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(h.email, h.passwd)

	// An empty organization says what to do first.
	p := b.must(http.StatusOK, "/dashboard/settings/api")
	contains(t, "empty groups page", p.body, `data-testid="groups-empty"`, `id="create-group-form"`, "one key per application")

	// A bad name comes back next to its field.
	p = b.submit("/dashboard/settings/api", "/dashboard/settings/api/groups", url.Values{"name": {"  "}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("empty group name = %d, want 400", p.status)
	}
	contains(t, "refused group", p.body, `id="group-name-error"`, `aria-invalid="true"`)

	p = b.submit("/dashboard/settings/api", "/dashboard/settings/api/groups", url.Values{"name": {"checkout"}, "description": {"the shop"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/dashboard/groups/grp_") {
		t.Fatalf("create group = %d %q", p.status, p.location)
	}
	groupPath := strings.Split(p.location, "?")[0]
	groupID := strings.TrimPrefix(groupPath, "/dashboard/groups/")
	p = b.must(http.StatusOK, p.location)
	contains(t, "new group", p.body, "API group created.", `data-testid="keys-empty"`, `id="generate-key"`)

	// A second group of that name is a conflict shown on the form.
	p = b.submit("/dashboard/settings/api", "/dashboard/settings/api/groups", url.Values{"name": {"checkout"}})
	if p.status != http.StatusConflict {
		t.Fatalf("duplicate group = %d, want 409", p.status)
	}
	contains(t, "duplicate group", p.body, `data-testid="form-error"`, "already exists")

	// Generate a key: the answer shows it once, uncached.
	newKey := groupPath + "/keys/new"
	p = b.submit(newKey, groupPath+"/keys", url.Values{"name": {"checkout-prod"}, "expires_in_days": {"90"}})
	if p.status != http.StatusCreated {
		t.Fatalf("generate key = %d:\n%s", p.status, p.body)
	}
	m := secretRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no secret in the answer:\n%s", p.body)
	}
	secret := m[1]
	if err := keys.Parse(secret, keys.DefaultKeyPrefix); err != nil {
		t.Fatalf("shown secret %q is not a key: %v", secret, err)
	}
	contains(t, "secret page", p.body, `id="copy-key"`, `data-copy="new-key-secret"`, "only time it is shown")
	if cc := p.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("secret page Cache-Control = %q, want no-store", cc)
	}
	for _, hdr := range []string{"Location", "Set-Cookie"} {
		if strings.Contains(p.header.Get(hdr), secret) {
			t.Fatalf("the secret is in the %s header", hdr)
		}
	}
	ks := must(h.gov.Keys(t.Context(), h.owner, groupID))
	if len(ks) != 1 {
		t.Fatalf("%d keys after generating one", len(ks))
	}
	sum := keys.Hash(secret)
	if string(ks[0].Hash) != string(sum[:]) || ks[0].ExpiresAt == nil {
		t.Fatalf("stored key does not match the secret shown, or has no expiry")
	}

	// Reloading the answer (the browser re-posts the form) shows no key
	// and creates none.
	b.must(http.StatusOK, newKey)
	form := url.Values{"name": {"again"}, "csrf_token": {b.csrf()}, "nonce": {b.field(nonceRE)}}
	if p := b.post(groupPath+"/keys", form); p.status != http.StatusCreated {
		t.Fatalf("first post = %d", p.status)
	}
	p = b.post(groupPath+"/keys", form)
	if p.status != http.StatusConflict {
		t.Fatalf("resubmitted form = %d, want 409", p.status)
	}
	contains(t, "resubmission", p.body, "already submitted")
	lacks(t, "resubmission", p.body, `id="new-key-secret"`)
	if n := len(must(h.gov.Keys(t.Context(), h.owner, groupID))); n != 2 {
		t.Fatalf("%d keys after a resubmission, want 2", n)
	}
	// A forged or foreign nonce is refused too.
	form.Set("nonce", "abc.123.def")
	if p := b.post(groupPath+"/keys", form); p.status != http.StatusBadRequest {
		t.Fatalf("forged nonce = %d, want 400", p.status)
	}

	// The secret is on no page, in no audit event and in no log line.
	for _, path := range []string{"/dashboard/settings/api", groupPath, "/dashboard/usage", "/dashboard/audit",
		"/dashboard/audit?action=key.created", "/dashboard/limits", "/dashboard/billing"} {
		p := b.must(http.StatusOK, path)
		lacks(t, path, p.body, secret, secret[len(secret)-12:])
	}
	p = b.must(http.StatusOK, groupPath)
	contains(t, "group page", p.body, "checkout-prod", ks[0].Hint, `data-testid="key-status">active`)
	events := must(h.gov.Audit(t.Context(), h.owner, platform.AuditFilter{}))
	for _, e := range events {
		for k, v := range e.Details {
			if strings.Contains(v, secret) || strings.Contains(k, secret) {
				t.Fatalf("audit event %s holds the secret", e.Action)
			}
		}
	}
	lacks(t, "server log", h.logs.String(), secret)
	lacks(t, "SQLite files", h.files(), secret)
}

func TestRevokeAndRotate(t *testing.T) {
	h := newHarness(t)
	g := h.group("search")
	keyID, _ := h.key(g, "indexer")
	b := h.browser()
	b.signIn(h.email, h.passwd)

	// Revoking asks first, on its own page (no JavaScript needed).
	p := b.must(http.StatusOK, "/dashboard/groups/"+g)
	contains(t, "group page", p.body, `id="revoke-`+keyID+`"`, `id="rotate-`+keyID+`"`)
	p = b.must(http.StatusOK, "/dashboard/keys/"+keyID+"/revoke")
	contains(t, "confirm page", p.body, `id="confirm-revoke"`, "cannot be undone")
	if k := must(h.gov.Key(t.Context(), h.owner, keyID)); k.RevokedAt != nil {
		t.Fatal("showing the confirmation revoked the key")
	}
	// Rotation shows the successor once and keeps the old key for the grace.
	p = b.submit("/dashboard/keys/"+keyID+"/rotate", "/dashboard/keys/"+keyID+"/rotate", url.Values{"grace_seconds": {"3600"}})
	if p.status != http.StatusCreated || secretRE.FindStringSubmatch(p.body) == nil {
		t.Fatalf("rotate = %d:\n%s", p.status, p.body)
	}
	contains(t, "rotation", p.body, "keeps working until", "<title>API key rotated · Tollgate</title>",
		`<h1 id="secret-page-title">API key rotated</h1>`, `<p class="replaces" id="replaced-key">`)
	lacks(t, "rotation", p.body, "API key created")
	old := must(h.gov.Key(t.Context(), h.owner, keyID))
	if old.Status(h.clock.Now()) != platform.KeyRotating {
		t.Fatalf("old key is %s after rotation, want rotating", old.Status(h.clock.Now()))
	}
	p = b.submit("/dashboard/keys/"+keyID+"/revoke", "/dashboard/keys/"+keyID+"/revoke", nil)
	if p.status != http.StatusSeeOther || p.location != "/dashboard/groups/"+g+"?done=key-revoked" {
		t.Fatalf("revoke = %d %q", p.status, p.location)
	}
	if k := must(h.gov.Key(t.Context(), h.owner, keyID)); k.RevokedAt == nil {
		t.Fatal("the key was not revoked")
	}
	p = b.must(http.StatusOK, p.location)
	contains(t, "after revoke", p.body, "API key revoked", `data-testid="key-status">revoked`)
	lacks(t, "after revoke", p.body, `id="revoke-`+keyID+`"`)
}
