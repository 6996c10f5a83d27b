package browser

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// keyRE is the shape of a Perplexity-style API key.
var keyRE = regexp.MustCompile(`^pplx-[0-9A-Za-z]{49}$`)

// TestSeedFlow is acceptance 1 and 2 of the dashboard, and the screenshots
// of acceptance 4: a person signs in, opens Settings → API, creates a
// group, generates a key, copies it with the copy button, calls
// /chat/completions with what was copied, sees the request in the usage
// chart, revokes the key, and the key gets 401. The key is shown exactly
// once: no page visited afterwards (reload, back, forward, lists, audit),
// no log line of the server and no audit entry holds it.
func TestSeedFlow(t *testing.T) {
	requireBrowser(t)
	t.Parallel()
	start := time.Now()
	s := startServer(t)
	b := newBrowser(t, s.URL, "owner", 1280, 900)

	// Sign in: the dashboard opens on Settings → API.
	if st := b.signIn(s.OwnerEmail, s.OwnerPassword); st != 200 {
		t.Fatalf("signing in led to a %d page", st)
	}
	if p := urlPath(t, b.location()); p != "/dashboard/settings/api" {
		t.Fatalf("after signing in the browser is at %s, want /dashboard/settings/api", p)
	}
	if got := b.text("[data-testid=user-email]"); got != ownerEmail {
		t.Fatalf("the header shows %q as the signed-in user, want %q", got, ownerEmail)
	}
	ck := b.cookie("tollgate_session")
	if ck == nil {
		t.Fatal("no tollgate_session cookie after signing in")
	}
	if !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteLax || ck.Path != "/" {
		t.Fatalf("session cookie: HttpOnly=%v SameSite=%q Path=%q, want HttpOnly, Lax, /", ck.HTTPOnly, ck.SameSite, ck.Path)
	}
	b.forbid("session cookie's secret", ck.Value)

	// Settings → API: no group yet; create one.
	b.click("#nav-api")
	if !b.exists("[data-testid=groups-empty]") {
		t.Fatal("a new organization's Settings → API page does not say there are no groups yet")
	}
	b.step("name the group", chromedp.SendKeys(chromedp.ID("group-name"), "checkout-service"))
	if st := b.click("#create-group"); st != 200 {
		t.Fatalf("creating a group led to a %d page", st)
	}
	if got := b.text("#group-title"); !strings.HasPrefix(got, "checkout-service") {
		t.Fatalf("after creating the group the page title is %q", got)
	}
	groupID := value(b, "group id", chromedp.AttributeValue(chromedp.CSS("#group-title"), "data-group-id")).Value
	if !strings.HasPrefix(groupID, "grp_") {
		t.Fatalf("group page names group %q", groupID)
	}
	b.click("#nav-api")
	if !b.exists(fmt.Sprintf("[data-testid=group-row][data-group-id=%q]", groupID)) {
		t.Fatal("the new group is not in the list of groups")
	}
	b.screenshot("groups")

	// Generate a key in it.
	b.click(fmt.Sprintf("[data-group-id=%q] [data-testid=group-link]", groupID))
	b.click("#generate-key")
	b.step("name the key", chromedp.SendKeys(chromedp.ID("key-name"), "checkout backend"))
	if st := b.click("#create-key"); st != 201 {
		t.Fatalf("generating a key answered %d, want 201", st)
	}
	if cc := header(b.last, "Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("the page showing the key has Cache-Control %q, want no-store", cc)
	}
	shown := value(b, "read the key", chromedp.Value(chromedp.ID("new-key-secret")))
	b.secret("key shown", shown)
	if !keyRE.MatchString(shown) {
		t.Fatalf("#new-key-secret does not hold an API key (%d characters)", len(shown))
	}
	if w := b.text("#secret-warning"); !strings.Contains(w, "only time it is shown") {
		t.Errorf("the key is shown without the shown-once warning: %q", w)
	}
	if h := b.text("#secret-page-title"); h != "API key created" {
		t.Errorf("the page showing the new key is titled %q, want \"API key created\"", h)
	}
	b.screenshot("key-created")

	// Copy it with the button and read the clipboard back: the key used
	// from here on is what the copy button put there.
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: s.URL}); err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
	b.step("click copy", chromedp.Click(chromedp.ID("copy-key"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#copy-key[data-copied="true"]`)))
	key := value(b, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if key != shown {
		t.Fatalf("the copy button put %d characters on the clipboard that are not the key shown", len(key))
	}
	b.forbid("new API key", key)
	b.forbid("middle of the new API key", key[len("pplx-"):len(key)-4]) // the hint shows only its last 4

	// Shown once: reloading re-posts the form (Chromium runs with
	// --disable-prompt-on-repost) and must neither show it again nor create
	// a second key.
	if st := b.load("reload the key page", chromedp.Reload()); st == 201 {
		t.Fatal("reloading the key page created and showed a key again")
	}
	if keys := s.keys(t, groupID); len(keys) != 1 {
		t.Fatalf("the group has %d keys after generating one and reloading, want 1", len(keys))
	}
	b.click("#nav-api")
	b.click(fmt.Sprintf("[data-group-id=%q] [data-testid=group-link]", groupID))
	if !b.exists("[data-testid=key-row]") {
		t.Fatal("the group's page lists no key")
	}
	if hint := b.text("[data-testid=key-hint]"); !strings.HasSuffix(hint, key[len(key)-4:]) {
		t.Errorf("the key's hint %q does not end with the key's last 4 characters", hint)
	}
	for _, d := range []int64{-1, -1, -1, -1, +1, +1, +1, +1} {
		b.history(d)
	}
	// A page restored from the back/forward cache leaves chromedp's DOM
	// view stale; a fresh navigation renews it.
	b.navigate("/dashboard/settings/api")

	// Use the key, as copied, over real HTTP.
	code, body := s.chat(t, key, "What is Tollgate?")
	if code != 200 || answer(body) == "" {
		t.Fatalf("POST /chat/completions with the copied key = %d, answer %q", code, answer(body))
	}

	// The usage page shows the request in the chart (usage is recorded
	// asynchronously: allow it a few seconds).
	b.click("#nav-usage")
	deadline := time.Now().Add(15 * time.Second)
	for b.text("#total-requests") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("the usage page still shows %q requests 15s after one request", b.text("#total-requests"))
		}
		time.Sleep(250 * time.Millisecond)
		b.load("reload usage", chromedp.Reload())
	}
	bars := value(b, "read the chart", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#chart-requests rect.bar title")].map(t => t.textContent)`))
	if n := sumOfTips(t, bars); n != 1 {
		t.Fatalf("the requests chart's bars add up to %g requests (%q), want 1", n, bars)
	}
	// The cost axis writes its labels with one number of decimals.
	ticks := value(b, "read the cost axis", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#chart-cost text[dominant-baseline=middle]")].map(t => t.textContent)`))
	if len(ticks) < 2 {
		t.Fatalf("the cost chart's axis has labels %q", ticks)
	}
	for _, tick := range ticks {
		_, dec, _ := strings.Cut(tick, ".")
		_, want, _ := strings.Cut(ticks[0], ".")
		if len(dec) != len(want) {
			t.Errorf("the cost axis mixes numbers of decimals: %q", ticks)
			break
		}
	}
	if !strings.Contains(b.text("#top-keys"), "checkout backend") {
		t.Error("the key is not among the top keys of the usage page")
	}
	b.screenshot("usage")
	csv := b.get("/dashboard/usage/export?range=24h")
	if csv.Status != 200 || !strings.Contains(csv.Body, "1") {
		t.Errorf("usage CSV export = %d", csv.Status)
	}
	for label, s := range b.forbidden {
		if strings.Contains(csv.Body, s) {
			t.Errorf("the usage CSV contains the %s", label)
		}
	}

	// Revoke, with confirmation; the key then gets 401.
	b.click("#nav-api")
	b.click(fmt.Sprintf("[data-group-id=%q] [data-testid=group-link]", groupID))
	b.click("[data-testid=revoke-key]")
	if !b.exists("[data-testid=confirm-revoke]") {
		t.Fatal("revoking asks for no confirmation")
	}
	if st := b.click("#confirm-revoke"); st != 200 {
		t.Fatalf("confirming the revocation led to a %d page", st)
	}
	if st := b.text("[data-testid=key-status]"); st != "revoked" {
		t.Fatalf("after revoking, the key's status reads %q", st)
	}
	if code, _ := s.chat(t, key, "Still there?"); code != 401 {
		t.Fatalf("POST /chat/completions with the revoked key = %d, want 401", code)
	}

	// The other pages, each checked for the key, and screenshots.
	for _, p := range []struct{ nav, shot string }{
		{"#nav-billing", "billing"}, {"#nav-limits", "limits"}, {"#nav-members", "members"},
		{"#nav-tokens", "admin-tokens"}, {"#nav-audit", "audit"},
	} {
		if st := b.click(p.nav); st != 200 {
			t.Fatalf("%s led to a %d page", p.nav, st)
		}
		b.screenshot(p.shot)
	}
	if !strings.Contains(b.html(), "checkout backend") {
		t.Error("the audit log page does not mention the key that was created and revoked")
	}

	// Signing out ends the session: the cookie goes, and the dashboard
	// sends the browser back to sign in.
	b.click("#sign-out")
	if p := urlPath(t, b.location()); p != "/dashboard/sign-in" {
		t.Fatalf("after signing out the browser is at %s", p)
	}
	if c := b.cookie("tollgate_session"); c != nil && c.Value != "" {
		t.Error("the session cookie survived signing out")
	}
	b.navigate("/dashboard/settings/api")
	if p := urlPath(t, b.location()); p != "/dashboard/sign-in" {
		t.Fatalf("after signing out, Settings → API opens %s, want the sign-in page", p)
	}

	// Not in the server's log, nor in the audit log's JSON.
	logs := s.logs()
	for label, v := range b.forbidden {
		if strings.Contains(logs, v) {
			t.Errorf("the server's log contains the %s", label)
		}
	}
	code, audit := s.api(t, "GET", "/api/v1/audit?limit=1000", "")
	if code != 200 || !strings.Contains(string(audit), groupID) {
		t.Fatalf("GET /api/v1/audit = %d, without the group's events", code)
	}
	for label, v := range b.forbidden {
		if strings.Contains(string(audit), v) {
			t.Errorf("the audit log contains the %s", label)
		}
	}
	t.Logf("checked %d pages for the key after it was shown; %s", len(b.visited), time.Since(start).Round(time.Millisecond))
}

// keys lists a group's keys through the management API.
func (s *server) keys(t *testing.T, groupID string) []any {
	t.Helper()
	out := s.apiJSON(t, 200, "GET", "/api/v1/groups/"+groupID+"/keys", "")
	data, _ := out["data"].([]any)
	return data
}

// tipValueRE is the value at the end of a chart bar's tooltip
// ("Nov 26 14:00 · Requests: 1").
var tipValueRE = regexp.MustCompile(`:\s*([0-9][0-9,.]*)\s*$`)

// sumOfTips adds up the values the bars' tooltips name.
func sumOfTips(t *testing.T, tips []string) float64 {
	t.Helper()
	sum := 0.0
	for _, tip := range tips {
		m := tipValueRE.FindStringSubmatch(tip)
		if m == nil {
			t.Fatalf("chart tooltip %q names no value", tip)
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
		if err != nil {
			t.Fatalf("chart tooltip %q: %v", tip, err)
		}
		sum += v
	}
	return sum
}

func urlPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// header is a response header, by case-insensitive name.
func header(r *network.Response, name string) string {
	if r == nil {
		return ""
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}
