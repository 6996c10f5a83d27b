package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/dashboard"
)

func TestSignInAndOut(t *testing.T) {
	h := newHarness(t)
	b := h.browser()

	// A page without a session sends the browser to sign in, and back.
	p := b.get("/dashboard/usage?range=24h")
	if p.status != http.StatusSeeOther || p.location != "/dashboard/sign-in?next="+url.QueryEscape("/dashboard/usage?range=24h") {
		t.Fatalf("signed-out GET = %d %q, want 303 to sign-in with next", p.status, p.location)
	}
	p = b.must(http.StatusOK, "/dashboard/sign-in?next="+url.QueryEscape("/dashboard/usage?range=24h"))
	contains(t, "sign-in page", p.body, `id="email"`, `id="password"`, `id="sign-in"`, `name="next" value="/dashboard/usage?range=24h"`)

	// A wrong password is refused with the page and a message, no cookie.
	p = b.post("/dashboard/sign-in", url.Values{"email": {h.email}, "password": {"wrong password!"}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("wrong password = %d, want 401", p.status)
	}
	contains(t, "refused sign-in", p.body, "invalid email or password", `value="`+h.email+`"`)
	if p.header.Get("Set-Cookie") != "" {
		t.Fatalf("a refused sign-in set a cookie: %s", p.header.Get("Set-Cookie"))
	}

	// The right one signs in and goes on to next.
	p = b.post("/dashboard/sign-in", url.Values{"email": {h.email}, "password": {h.passwd}, "next": {"/dashboard/usage?range=24h"}})
	if p.status != http.StatusSeeOther || p.location != "/dashboard/usage?range=24h" {
		t.Fatalf("sign in = %d %q, want 303 to next", p.status, p.location)
	}
	ck := p.header.Get("Set-Cookie")
	for _, want := range []string{dashboard.CookieName + "=tgs_", "Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(ck, want) {
			t.Fatalf("session cookie %q lacks %q", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Fatalf("cookie over plain HTTP without a trusted proxy is Secure: %s", ck)
	}
	p = b.must(http.StatusOK, "/dashboard/settings/api")
	contains(t, "signed-in page", p.body, h.email, `id="sign-out"`)

	// Signing out needs the CSRF token.
	if p := b.post("/dashboard/sign-out", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("sign-out without CSRF = %d, want 403", p.status)
	}
	b.must(http.StatusOK, "/dashboard/settings/api")
	p = b.post("/dashboard/sign-out", url.Values{"csrf_token": {b.csrf()}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign-out = %d, cookie %q", p.status, p.header.Get("Set-Cookie"))
	}
	if p := b.get("/dashboard/settings/api"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out GET = %d, want a redirect to sign in", p.status)
	}
}

func TestSignInNextStaysOnTheDashboard(t *testing.T) {
	h := newHarness(t)
	tests := []struct{ next, want string }{
		{"/dashboard/billing", "/dashboard/billing"},
		{"//evil.example/dashboard/", "/dashboard/"},
		{"https://evil.example/dashboard/", "/dashboard/"},
		{"/\\evil.example", "/dashboard/"},
		{"/dashboard/../api/v1/org", "/dashboard/"},
		{"/api/v1/org", "/dashboard/"},
		{"", "/dashboard/"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			b := h.browser()
			p := b.post("/dashboard/sign-in", url.Values{"email": {h.email}, "password": {h.passwd}, "next": {tt.next}})
			if p.status != http.StatusSeeOther || p.location != tt.want {
				t.Fatalf("next %q led to %d %q, want %q", tt.next, p.status, p.location, tt.want)
			}
		})
	}
}

func TestSignInThrottled(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	for i := 0; i < 5; i++ {
		if p := b.post("/dashboard/sign-in", url.Values{"email": {h.email}, "password": {"not the password"}}); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i+1, p.status)
		}
	}
	// Beyond the limit even the right password is refused, politely.
	p := b.post("/dashboard/sign-in", url.Values{"email": {h.email}, "password": {h.passwd}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("throttled sign-in = %d (Retry-After %q), want 429 with Retry-After", p.status, p.header.Get("Retry-After"))
	}
	contains(t, "throttled sign-in", p.body, `data-testid="form-error"`, `id="sign-in"`)
	lacks(t, "throttled sign-in", p.body, "{\"error\"")
}

func TestCSRFRefused(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(h.email, h.passwd)
	b.must(http.StatusOK, "/dashboard/settings/api")
	token := b.csrf()
	tests := []struct {
		name    string
		form    url.Values
		headers []string
		want    int
	}{
		{"no token", url.Values{"name": {"a"}}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"name": {"b"}, "csrf_token": {"x" + token}}, nil, http.StatusForbidden},
		{"empty token", url.Values{"name": {"c"}, "csrf_token": {""}}, nil, http.StatusForbidden},
		{"cross-site browser", url.Values{"name": {"d"}, "csrf_token": {token}}, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"other origin", url.Values{"name": {"e"}, "csrf_token": {token}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"same origin with token", url.Values{"name": {"f"}, "csrf_token": {token}}, []string{"Sec-Fetch-Site", "same-origin"}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post("/dashboard/settings/api/groups", tt.form, tt.headers...)
			if p.status != tt.want {
				t.Fatalf("POST = %d, want %d:\n%s", p.status, tt.want, p.body)
			}
			if tt.want == http.StatusForbidden {
				contains(t, "refusal", p.body, `data-testid="error-page"`, "nothing was changed")
			}
		})
	}
	gs := must(h.gov.Groups(t.Context(), h.owner))
	if len(gs) != 1 || gs[0].Name != "f" {
		t.Fatalf("groups after the refused posts: %d, want only \"f\"", len(gs))
	}
}

func TestSecurityHeadersAndErrorPages(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(h.email, h.passwd)
	for _, path := range []string{"/dashboard/sign-in", "/dashboard/settings/api", "/dashboard/nope", "/dashboard/groups/grp_missing"} {
		p := b.get(path)
		for k, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "no-store",
		} {
			if !strings.Contains(p.header.Get(k), want) {
				t.Errorf("%s: %s = %q, want %q", path, k, p.header.Get(k), want)
			}
		}
		if csp := p.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %s", path, csp)
		}
		if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: content type %q, want a rendered page", path, p.header.Get("Content-Type"))
		}
	}
	p := b.get("/dashboard/nope")
	if p.status != http.StatusNotFound {
		t.Fatalf("unknown page = %d", p.status)
	}
	contains(t, "404 page", p.body, `data-testid="error-page"`, "There is no such page")
	if p := b.get("/dashboard/groups/grp_missing"); p.status != http.StatusNotFound {
		t.Fatalf("unknown group = %d", p.status)
	}
	// No inline script or style anywhere: the CSP would block it.
	for _, path := range []string{"/dashboard/settings/api", "/dashboard/usage", "/dashboard/billing", "/dashboard/members"} {
		body := b.must(http.StatusOK, path).body
		lacks(t, path, body, "<script>", " style=", "onclick=", "<style")
	}
	// The assets are embedded and served with their types.
	for path, ctype := range map[string]string{"/dashboard/static/app.css": "text/css", "/dashboard/static/app.js": "text/javascript"} {
		p := b.get(path)
		if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), ctype) || len(p.body) < 500 {
			t.Errorf("%s = %d %q (%d bytes)", path, p.status, p.header.Get("Content-Type"), len(p.body))
		}
	}
	if p := b.get("/"); p.status != http.StatusFound || p.location != "/dashboard/" {
		t.Errorf("GET / = %d %q, want a redirect to the dashboard", p.status, p.location)
	}
}

// TestMountedBehindAProxy: under a base path every link and the cookie
// carry it; behind a trusted TLS proxy the cookie is Secure.
func TestMountedBehindAProxy(t *testing.T) {
	h := newHarnessWith(t, "/tollgate", true)
	b := h.browser()
	p := b.get("/tollgate/dashboard/billing")
	if p.status != http.StatusSeeOther || p.location != "/tollgate/dashboard/sign-in?next="+url.QueryEscape("/dashboard/billing") {
		t.Fatalf("signed out under a base path = %d %q", p.status, p.location)
	}
	p = b.post("/tollgate/dashboard/sign-in", url.Values{"email": {h.email}, "password": {h.passwd}, "next": {"/dashboard/billing"}},
		"X-Forwarded-Proto", "https")
	if p.status != http.StatusSeeOther || p.location != "/tollgate/dashboard/billing" {
		t.Fatalf("sign in = %d %q", p.status, p.location)
	}
	ck := p.header.Get("Set-Cookie")
	if !strings.Contains(ck, "Path=/tollgate/") || !strings.Contains(ck, "Secure") {
		t.Fatalf("cookie %q: want Path=/tollgate/ and Secure", ck)
	}
	// The jar keeps a Secure cookie for https only; send it by hand.
	secret := strings.TrimPrefix(strings.Split(ck, ";")[0], dashboard.CookieName+"=")
	req, _ := http.NewRequest(http.MethodGet, h.url+"/tollgate/dashboard/settings/api", nil)
	req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: secret})
	p = b.do(req)
	if p.status != http.StatusOK {
		t.Fatalf("signed-in page under a base path = %d", p.status)
	}
	contains(t, "links", p.body, `href="/tollgate/dashboard/usage"`, `href="/tollgate/dashboard/static/app.css?v=`,
		`action="/tollgate/dashboard/sign-out"`)
	lacks(t, "links", p.body, `href="/dashboard/`, `action="/dashboard/`)

	// An invitation link is written as the browser reaches the proxy.
	req, _ = http.NewRequest(http.MethodGet, h.url+"/tollgate/dashboard/members", nil)
	req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: secret})
	b.do(req)
	form := url.Values{"csrf_token": {b.csrf()}, "nonce": {b.field(nonceRE)}, "email": {"new@acme.test"}, "role": {"viewer"}}
	req, _ = http.NewRequest(http.MethodPost, h.url+"/tollgate/dashboard/members/invite", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "console.acme.example")
	req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: secret})
	p = b.do(req)
	contains(t, "invitation", p.body, `value="https://console.acme.example/tollgate/dashboard/invite?token=tgi_`)
}
