package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/dashboard"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/middleware"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/session"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// clock is a settable clock shared by every service of a harness.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// syncBuffer is the server's log, read by tests that check no secret
// reaches it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// harness is the dashboard over real HTTP on a real SQLite store, with the
// real governance, billing and session services and the middleware every
// Tollgate request passes through.
type harness struct {
	t      *testing.T
	url    string
	st     *sqlstore.Store
	gov    *governance.Service
	bill   *billing.Service
	sess   *session.Service
	clock  *clock
	logs   *syncBuffer
	dbPath string
	orgID  string
	owner  platform.Principal // the owner, for setting things up directly
	email  string             // the owner's email and password
	passwd string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, "", false)
}

// newHarnessWith mounts Tollgate under basePath, behind a proxy trusted or
// not; opts change the dashboard's dependencies before it is built.
func newHarnessWith(t *testing.T, basePath string, trustProxy bool, opts ...func(*dashboard.Deps)) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, clock: &clock{t: time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	h.dbPath = filepath.Join(t.TempDir(), "tollgate.db")
	st, err := sqlstore.Open(ctx, h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st.Now = h.clock.Now
	h.st = st
	h.gov = governance.New(st, governance.Config{RotationGrace: time.Hour}, nil, h.clock.Now)
	h.bill = billing.NewService(st, nil, h.clock.Now)
	h.sess = session.New(st, h.gov, session.Config{}, h.clock.Now)
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := dashboard.Deps{Gov: h.gov, Billing: h.bill, Sessions: h.sess, Log: log, Now: h.clock.Now,
		BasePath: basePath, TrustProxy: trustProxy, RotationGrace: time.Hour, TierRPM: map[string][]int64{"*": {50, 50, 500, 1000, 2000, 4000}}}
	for _, o := range opts {
		o(&deps)
	}
	d, err := dashboard.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Register(mux)
	mux.Handle("/", httpjson.NotFound(log))
	srv := httptest.NewServer(middleware.Chain(mux, middleware.RequestID, middleware.AccessLog(log),
		middleware.Recover(log), middleware.CleanPath(basePath, log)))
	t.Cleanup(srv.Close)
	h.url = srv.URL

	b, err := h.gov.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	h.orgID, h.email, h.passwd = b.Org.ID, b.User.Email, b.Password
	h.owner = platform.Principal{OrgID: b.Org.ID, Role: platform.RoleOwner,
		Actor: platform.Actor{Type: platform.ActorUser, ID: b.User.ID}}
	return h
}

// files returns the SQLite database and its write-ahead log, as bytes.
func (h *harness) files() string {
	var all []byte
	for _, p := range []string{h.dbPath, h.dbPath + "-wal"} {
		if b, err := os.ReadFile(p); err == nil {
			all = append(all, b...)
		}
	}
	return string(all)
}

// member adds a member with a password and returns their email.
func (h *harness) member(role platform.Role) (email, password string) {
	h.t.Helper()
	email, password = string(role)+"@acme.test", "correct horse "+string(role)
	if _, err := h.gov.AddMember(context.Background(), h.owner, governance.NewMember{Email: email, Role: role,
		Password: password}); err != nil {
		h.t.Fatal(err)
	}
	return email, password
}

// group creates an API group directly and returns its ID.
func (h *harness) group(name string) string {
	h.t.Helper()
	g, err := h.gov.CreateGroup(context.Background(), h.owner, name, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return g.ID
}

// key creates a key directly and returns its ID and secret.
func (h *harness) key(groupID, name string) (string, string) {
	h.t.Helper()
	k, secret, err := h.gov.CreateKey(context.Background(), h.owner, groupID, name, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return k.ID, secret
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see every 303.
type browser struct {
	h    *harness
	t    *testing.T
	c    *http.Client
	last string // the last page's body
}

// browserIn is a browser whose failures fail t (a subtest).
func (h *harness) browserIn(t *testing.T) *browser {
	b := h.browser()
	b.t = t
	return b
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{h: h, t: h.t, c: c}
}

// page is a response as a test sees it.
type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{status: resp.StatusCode, body: string(raw), location: resp.Header.Get("Location"), header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		b.last = p.body
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.url+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form; extra headers (Origin, Sec-Fetch-Site) may be set.
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

var (
	csrfRE  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	nonceRE = regexp.MustCompile(`name="nonce" value="([^"]+)"`)
)

// field returns the first value a regexp captures in the last page.
func (b *browser) field(re *regexp.Regexp) string {
	b.t.Helper()
	m := re.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no %s in the page:\n%s", re, b.last)
	}
	return m[1]
}

func (b *browser) csrf() string { b.t.Helper(); return b.field(csrfRE) }

// signIn signs in and fails the test unless it worked.
func (b *browser) signIn(email, password string) {
	b.t.Helper()
	p := b.post("/dashboard/sign-in", url.Values{"email": {email}, "password": {password}, "next": {"/dashboard/"}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s = %d, want 303:\n%s", email, p.status, p.body)
	}
}

// must GETs a page that must answer want.
func (b *browser) must(want int, path string) page {
	b.t.Helper()
	p := b.get(path)
	if p.status != want {
		b.t.Fatalf("GET %s = %d, want %d:\n%s", path, p.status, want, p.body)
	}
	return p
}

// submit loads the page at from (for its CSRF token and nonce) and posts
// form to action with them.
func (b *browser) submit(from, action string, form url.Values) page {
	b.t.Helper()
	b.must(http.StatusOK, from)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf())
	if m := nonceRE.FindStringSubmatch(b.last); m != nil && !form.Has("nonce") {
		form.Set("nonce", m[1])
	}
	return b.post(action, form)
}

func contains(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("%s does not contain %q:\n%s", what, w, body)
		}
	}
}

func lacks(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Fatalf("%s contains %q", what, w)
		}
	}
}

// must returns v, or panics (failing the test) on a setup error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Errorf("test setup: %w", err))
	}
	return v
}
