package browser

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestRolesAndCSRF is acceptance 3. A viewer, invited by the owner from the
// members page (the link shown once, followed in the viewer's own browser),
// sees no revoke or top-up controls, and the server refuses those forms
// when the viewer posts them anyway with a valid CSRF token; a post without
// the session's CSRF token is refused for an owner too. The owner's own
// browser is the control: it shows the same controls, and the same posts
// with its token succeed.
func TestRolesAndCSRF(t *testing.T) {
	requireBrowser(t)
	t.Parallel()
	s := startServer(t)
	grp := s.apiJSON(t, 201, "POST", "/api/v1/groups", `{"name":"production"}`)["id"].(string)
	keyID := s.apiJSON(t, 201, "POST", "/api/v1/groups/"+grp+"/keys", `{"name":"backend"}`)["id"].(string)
	const viewerEmail, viewerPassword = "viewer@acme.test", "viewer-password-0451"

	// The owner invites the viewer from the members page; the link is shown
	// once, and the viewer's own browser follows it and sets a password.
	owner := newBrowser(t, s.URL, "owner", 1280, 900)
	viewer := newBrowser(t, s.URL, "viewer", 1280, 900)
	if st := owner.signIn(s.OwnerEmail, s.OwnerPassword); st != 200 {
		t.Fatalf("owner: signing in led to a %d page", st)
	}
	owner.click("#nav-members")
	owner.step("fill the invitation",
		chromedp.SendKeys(chromedp.ID("invite-email"), viewerEmail),
		chromedp.SetValue(chromedp.ID("invite-role"), "viewer"))
	if st := owner.click("#send-invite"); st != 201 {
		t.Fatalf("owner: inviting answered %d, want 201", st)
	}
	link := value(owner, "read the invitation link", chromedp.Value(chromedp.ID("invite-link")))
	token := ""
	if u, err := url.Parse(link); err == nil && strings.HasPrefix(link, s.URL+"/dashboard/invite?") {
		token = u.Query().Get("token")
	}
	if !strings.HasPrefix(token, "tgi_") {
		t.Fatalf("the invitation link is not a link to this dashboard with a token (%d characters)", len(link))
	}
	owner.forbid("invitation token", token)
	viewer.secret("invitation token", token)
	owner.click("#secret-done")
	if !strings.Contains(owner.text("[data-testid=invitations-table]"), viewerEmail) {
		t.Error("the pending invitation is not listed on the members page")
	}
	if st := viewer.load("open the invitation link", chromedp.Navigate(link)); st != 200 {
		t.Fatalf("viewer: the invitation link opens a %d page", st)
	}
	if got := viewer.text("[data-testid=invite-email]"); got != viewerEmail {
		t.Fatalf("the invitation page is for %q, want %q", got, viewerEmail)
	}
	viewer.step("choose a password",
		chromedp.SendKeys(chromedp.ID("password"), viewerPassword),
		chromedp.SendKeys(chromedp.ID("password_confirm"), viewerPassword))
	if st := viewer.click("#accept-invite"); st != 200 {
		t.Fatalf("viewer: accepting the invitation led to a %d page", st)
	}
	viewer.forbid("invitation token", token)
	// Signed in by accepting; the link works once.
	if got := viewer.text("[data-testid=user-email]"); got != viewerEmail {
		t.Fatalf("after accepting, the header shows %q", got)
	}
	if st := viewer.navigate("/dashboard/invite?token=" + url.QueryEscape(token)); st != 404 {
		t.Errorf("a used invitation link opens a %d page, want 404", st)
	}
	if strings.Contains(s.logs(), token) {
		t.Error("the server's log contains the invitation token")
	}
	// The password chosen is the viewer's from now on.
	viewer.navigate("/dashboard/settings/api")
	viewer.click("#sign-out")
	if st := viewer.signIn(viewerEmail, viewerPassword); st != 200 {
		t.Fatalf("viewer: signing in with the chosen password led to a %d page", st)
	}
	if role := viewer.text("[data-testid=user-role]"); !strings.EqualFold(role, "viewer") {
		t.Fatalf("the viewer's header shows role %q", role)
	}

	// The controls: the owner has them, the viewer has none.
	controls := []struct{ page, sel, what string }{
		{"/dashboard/groups/" + grp, "[data-testid=revoke-key]", "a revoke button"},
		{"/dashboard/groups/" + grp, `a[href$="/keys/` + keyID + `/revoke"]`, "a link to revoke the key"},
		{"/dashboard/groups/" + grp, "#rotate-" + keyID, "a rotate button"},
		{"/dashboard/groups/" + grp, "#generate-key", "a generate-key button"},
		{"/dashboard/billing", "#credits-form", "the add-credits form"},
		{"/dashboard/billing", `form[action$="/billing/credits"]`, "a form posting credits"},
		{"/dashboard/billing", "#add-credits", "an add-credits button"},
	}
	for _, c := range controls {
		for _, b := range []*browser{owner, viewer} {
			if st := b.navigate(c.page); st != 200 {
				t.Fatalf("%s: %s = %d", b.name, c.page, st)
			}
			if got, want := b.exists(c.sel), b == owner; got != want {
				t.Errorf("%s: %s has %s: %v, want %v", b.name, c.page, c.what, got, want)
			}
		}
	}
	viewer.screenshot("viewer-billing")
	// The revoke confirmation page itself is refused to the viewer.
	if st := viewer.navigate("/dashboard/keys/" + keyID + "/revoke"); st != 403 {
		t.Errorf("viewer: GET the revoke confirmation = %d, want 403", st)
	}

	balance := func() float64 {
		return s.apiJSON(t, 200, "GET", "/api/v1/billing/balance", "")["balance_micros"].(float64)
	}
	keyStatus := func() string { return s.apiJSON(t, 200, "GET", "/api/v1/keys/"+keyID, "")["status"].(string) }
	before := balance()

	viewer.navigate("/dashboard/settings/api")
	owner.navigate("/dashboard/settings/api")
	viewerCSRF := csrfToken(t, viewer)
	ownerCSRF := csrfToken(t, owner)
	if viewerCSRF == ownerCSRF {
		t.Fatal("two sessions share one CSRF token")
	}
	revoke := "/dashboard/keys/" + keyID + "/revoke"
	topUp := func(token string) map[string]string {
		f := map[string]string{"kind": "topup", "amount": "50", "memo": "from the browser test"}
		if token != "" {
			f["csrf_token"] = token
		}
		return f
	}
	refused := []struct {
		b      *browser
		path   string
		fields map[string]string
		why    string
	}{
		{viewer, revoke, map[string]string{"csrf_token": viewerCSRF}, "a viewer revoking a key"},
		{viewer, "/dashboard/billing/credits", topUp(viewerCSRF), "a viewer topping up"},
		{viewer, "/dashboard/billing/credits", map[string]string{"csrf_token": viewerCSRF, "kind": "grant", "amount": "50"}, "a viewer granting credits"},
		{owner, revoke, map[string]string{}, "an owner revoking without a CSRF token"},
		{owner, revoke, map[string]string{"csrf_token": "not-the-token"}, "an owner revoking with a wrong CSRF token"},
		{owner, revoke, map[string]string{"csrf_token": viewerCSRF}, "an owner revoking with another session's CSRF token"},
		{owner, "/dashboard/billing/credits", topUp(""), "an owner topping up without a CSRF token"},
		{owner, "/dashboard/settings/api/groups", map[string]string{"name": "csrf-less"}, "an owner creating a group without a CSRF token"},
	}
	for _, r := range refused {
		got := r.b.postForm(r.path, r.fields)
		if got.Status != 403 {
			t.Errorf("%s: POST %s = %d, want 403", r.why, r.path, got.Status)
		}
		if strings.Contains(got.Body, `"error"`) || !strings.Contains(got.Body, "<html") {
			t.Errorf("%s: the refusal is not a dashboard page", r.why)
		}
	}
	if st := keyStatus(); st != "active" {
		t.Fatalf("after refused revocations the key is %s", st)
	}
	if after := balance(); after != before {
		t.Fatalf("after refused top-ups the balance moved from %v to %v micros", before, after)
	}
	if code, body := s.api(t, "GET", "/api/v1/groups", ""); code != 200 || strings.Contains(string(body), "csrf-less") {
		t.Fatalf("a group was created without a CSRF token (%d)", code)
	}

	// The control: the same posts with the owner's token go through.
	if got := owner.postForm("/dashboard/billing/credits", topUp(ownerCSRF)); got.Status != 200 || !got.Redirected {
		t.Fatalf("owner: top-up with the CSRF token = %d (redirected %v)", got.Status, got.Redirected)
	}
	if after := balance(); after != before+50_000_000 {
		t.Fatalf("owner's $50 top-up moved the balance from %v to %v micros", before, after)
	}
	if got := owner.postForm(revoke, map[string]string{"csrf_token": ownerCSRF}); got.Status != 200 || !got.Redirected {
		t.Fatalf("owner: revoke with the CSRF token = %d (redirected %v)", got.Status, got.Redirected)
	}
	if st := keyStatus(); st != "revoked" {
		t.Fatalf("the owner's revocation left the key %s", st)
	}
}

// csrfToken reads the session's CSRF token from the page's forms (the
// sign-out form carries it on every signed-in page).
func csrfToken(t *testing.T, b *browser) string {
	t.Helper()
	tok := value(b, "read the CSRF token", chromedp.Value(chromedp.CSS(`input[name="csrf_token"]`)))
	if tok == "" {
		t.Fatalf("%s: the page has no CSRF token", b.name)
	}
	return tok
}
