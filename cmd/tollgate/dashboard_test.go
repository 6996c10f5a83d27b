package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

// dashClient is a browser-like client of the dashboard: a cookie jar, no
// automatic redirects, the last HTML page kept for its form tokens.
type dashClient struct {
	t    *testing.T
	base string
	c    *http.Client
	last string
}

func newDashClient(t *testing.T, base string) *dashClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &dashClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (d *dashClient) send(method, path string, form url.Values) (int, string, string) {
	d.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, d.base+path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := d.c.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		d.last = string(raw)
	}
	return resp.StatusCode, string(raw), resp.Header.Get("Location")
}

var dashFieldRE = map[string]*regexp.Regexp{
	"csrf_token": regexp.MustCompile(`name="csrf_token" value="([^"]+)"`),
	"nonce":      regexp.MustCompile(`name="nonce" value="([^"]+)"`),
}

// submit loads from and posts form to action with the page's CSRF token
// (and nonce, when the form has one), as a browser submitting it would.
func (d *dashClient) submit(from, action string, form url.Values) (int, string, string) {
	d.t.Helper()
	if st, body, _ := d.send("GET", from, nil); st != http.StatusOK {
		d.t.Fatalf("GET %s = %d:\n%s", from, st, body)
	}
	for name, re := range dashFieldRE {
		if m := re.FindStringSubmatch(d.last); m != nil {
			form.Set(name, m[1])
		}
	}
	return d.send("POST", action, form)
}

// TestDashboardSeedFlow is the seed's flow through the wired server: sign
// in, create a group, generate a key, call /chat/completions with it, see
// the request in the usage chart, revoke the key, and the key gets 401.
func TestDashboardSeedFlow(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "Forty-two."})
	h := newAPIHarnessWith(t, "sqlite", routeAll(fake))
	ctx := context.Background()
	const pw = "a long owner password"
	if _, err := h.app.svc.SetPassword(ctx, platform.SystemActor("test"), h.orgID, "owner@acme.test", pw); err != nil {
		t.Fatal(err)
	}
	d := newDashClient(t, h.url)

	// "/" leads to the dashboard, which leads to sign-in; the API keeps
	// its JSON errors.
	if st, _, loc := d.send("GET", "/", nil); st != http.StatusFound || loc != "/dashboard/" {
		t.Fatalf("GET / = %d %q", st, loc)
	}
	if st, _, loc := d.send("GET", "/dashboard/", nil); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/sign-in") {
		t.Fatalf("GET /dashboard/ signed out = %d %q", st, loc)
	}
	if st, body := h.do("GET", "/api/v1/nope", h.owner, ""); st != http.StatusNotFound || body["error"] == nil {
		t.Fatalf("API 404 = %d %v", st, body)
	}

	st, _, _ := d.send("POST", "/dashboard/sign-in", url.Values{"email": {"owner@acme.test"}, "password": {pw}})
	if st != http.StatusSeeOther {
		t.Fatalf("sign in = %d", st)
	}
	st, _, loc := d.submit("/dashboard/settings/api", "/dashboard/settings/api/groups", url.Values{"name": {"my-app"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/groups/grp_") {
		t.Fatalf("create group = %d %q", st, loc)
	}
	group := strings.Split(loc, "?")[0]
	st, body, _ := d.submit(group+"/keys/new", group+"/keys", url.Values{"name": {"my-app prod"}})
	m := regexp.MustCompile(`id="new-key-secret"[^>]*value="([^"]+)"`).FindStringSubmatch(body)
	if st != http.StatusCreated || m == nil {
		t.Fatalf("generate key = %d:\n%s", st, body)
	}
	secret := m[1]

	// The key works on the inference API.
	req, _ := http.NewRequest("POST", h.url+"/chat/completions", strings.NewReader(chatBody("sonar", false, 0)))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat with the new key = %d", resp.StatusCode)
	}
	waitRecord(t, h.st, h.orgID, resp.Header.Get("X-Request-ID"))

	// The request is in the usage chart.
	st, body, _ = d.send("GET", "/dashboard/usage?range=24h", nil)
	if st != http.StatusOK || !strings.Contains(body, `id="total-requests">1<`) ||
		!strings.Contains(body, `<title>May 1 09:00 · All: 1</title>`) {
		t.Fatalf("usage page = %d does not show the request:\n%s", st, body)
	}

	// Revoke it from the dashboard: the key is refused at once.
	keyID := regexp.MustCompile(`data-key-id="(key_[a-z0-9]+)"`).FindStringSubmatch(func() string {
		_, b, _ := d.send("GET", group, nil)
		return b
	}())[1]
	st, _, _ = d.submit("/dashboard/keys/"+keyID+"/revoke", "/dashboard/keys/"+keyID+"/revoke", url.Values{})
	if st != http.StatusSeeOther {
		t.Fatalf("revoke = %d", st)
	}
	req, _ = http.NewRequest("POST", h.url+"/chat/completions", strings.NewReader(chatBody("sonar", false, 0)))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	if resp, err = h.client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked key = %d, want 401", resp.StatusCode)
	}
	if strings.Contains(h.logs.String(), secret) {
		t.Fatal("the key is in the server's log")
	}
}
