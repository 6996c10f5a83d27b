package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestKeyboardAndPhone signs in with the keyboard alone (Tab reaches the
// email, the password and the submit button, in that order; Enter submits)
// on a phone-sized screen (390×844, mobile emulation), then checks that the
// dashboard fits the screen and its navigation works by touch-sized taps,
// and that the keys table stacks as cards with Revoke and Rotate on screen.
func TestKeyboardAndPhone(t *testing.T) {
	requireBrowser(t)
	t.Parallel()
	s := startServer(t)
	grp := s.apiJSON(t, 201, "POST", "/api/v1/groups", `{"name":"mobile-app"}`)["id"].(string)
	keyID := s.apiJSON(t, 201, "POST", "/api/v1/groups/"+grp+"/keys", `{"name":"ios release build"}`)["id"].(string)
	b := newBrowser(t, s.URL, "phone", 390, 844)
	b.step("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))

	if st := b.navigate("/dashboard/sign-in"); st != 200 {
		t.Fatalf("GET /dashboard/sign-in = %d", st)
	}
	// Clicking the heading moves the focus away from the autofocused email
	// field and makes the heading the point Tab continues from.
	b.step("click the heading", chromedp.Click(chromedp.CSS("h1"), chromedp.NodeVisible))
	focused := func() string {
		return value(b, "read the focus", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
	}
	tab := func() string {
		b.step("press Tab", chromedp.KeyEvent(kb.Tab))
		return focused()
	}
	// Tab from the top of the page to each field, typing into it.
	for _, f := range []struct{ id, typed string }{{"email", s.OwnerEmail}, {"password", s.OwnerPassword}, {"sign-in", ""}} {
		var seen []string
		for got := tab(); got != f.id; got = tab() {
			if seen = append(seen, got); len(seen) > 8 || got == "sign-in" {
				t.Fatalf("Tab did not reach #%s (focus went to %q)", f.id, seen)
			}
		}
		if f.typed != "" {
			b.step("type into #"+f.id, chromedp.KeyEvent(f.typed))
		}
	}
	if st := b.load("press Enter on the sign-in button", chromedp.KeyEvent(kb.Enter)); st != 200 {
		t.Fatalf("signing in with the keyboard led to a %d page", st)
	}
	if p := urlPath(t, b.location()); p != "/dashboard/settings/api" {
		t.Fatalf("after signing in with the keyboard the browser is at %s", p)
	}
	// The page fits the phone's width: nothing scrolls sideways.
	overflow := func() int {
		return value(b, "measure", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	}
	if o := overflow(); o > 1 {
		t.Errorf("Settings → API is %dpx wider than a 390px phone screen", o)
	}
	// The navigation wraps rather than hiding entries past the screen's edge.
	hidden := value(b, "measure the navigation", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll(".sidenav a")].filter(a => a.getBoundingClientRect().right > window.innerWidth + 1).map(a => a.id)`))
	if len(hidden) > 0 {
		t.Errorf("navigation entries %q reach past the right edge of a 390px phone screen", hidden)
	}
	b.screenshot("phone-nav")

	// On a signed-in page the first Tab offers to skip the navigation.
	b.step("drop the focus", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
	b.step("press Tab", chromedp.KeyEvent(kb.Tab))
	if cls := value(b, "first focus", chromedp.Evaluate[string](`document.activeElement.className + " " + document.activeElement.getAttribute("href")`)); !strings.Contains(cls, "#main") {
		t.Errorf("the first Tab on a signed-in page focuses %q, want the skip-to-content link", cls)
	}

	// Each navigation entry is a tap target of at least 24×24 CSS pixels
	// (WCAG 2.2's minimum) and leads to its page.
	for _, n := range []struct{ id, path, shot string }{
		{"nav-usage", "/dashboard/usage", ""}, {"nav-billing", "/dashboard/billing", "phone-billing"},
		{"nav-members", "/dashboard/members", "phone-members"}, {"nav-tokens", "/dashboard/admin-tokens", "phone-admin-tokens"},
		{"nav-limits", "/dashboard/limits", ""}, {"nav-audit", "/dashboard/audit", "phone-audit"},
		{"nav-api", "/dashboard/settings/api", ""},
	} {
		size := value(b, "measure #"+n.id, chromedp.Evaluate[[]float64](
			`(() => { const r = document.getElementById("`+n.id+`").getBoundingClientRect(); return [r.width, r.height]; })()`))
		if size[0] < 24 || size[1] < 24 {
			t.Errorf("#%s is a %gx%g tap target on a phone, want at least 24x24", n.id, size[0], size[1])
		}
		if st := b.load("tap #"+n.id, chromedp.Tap(chromedp.ID(n.id), chromedp.NodeVisible)); st != 200 {
			t.Fatalf("tapping #%s led to a %d page", n.id, st)
		}
		if p := urlPath(t, b.location()); p != n.path {
			t.Fatalf("tapping #%s led to %s, want %s", n.id, p, n.path)
		}
		if o := overflow(); o > 1 {
			t.Errorf("%s is %dpx wider than a 390px phone screen", n.path, o)
		}
		if n.shot != "" {
			b.screenshot(n.shot)
		}
	}

	// The keys table stacks its rows as cards: Revoke and Rotate are on
	// the screen, not past its edge.
	b.navigate("/dashboard/groups/" + grp)
	if o := overflow(); o > 1 {
		t.Errorf("the group's page is %dpx wider than a 390px phone screen", o)
	}
	for _, id := range []string{"revoke-" + keyID, "rotate-" + keyID} {
		box := value(b, "measure #"+id, chromedp.Evaluate[[]float64](
			`(() => { const r = document.getElementById("`+id+`").getBoundingClientRect(); return [r.left, r.right, r.height]; })()`))
		if box[0] < 0 || box[1] > 390 || box[2] < 24 {
			t.Errorf("#%s spans x %g..%g (height %g) on a 390px screen, want it on the screen and at least 24px tall", id, box[0], box[1], box[2])
		}
	}
	// Keyboard focus stays visible on the cards: Tab from Rotate to Revoke.
	b.step("focus Rotate", chromedp.Evaluate[chromedp.Void](`document.getElementById("rotate-`+keyID+`").focus()`))
	b.step("press Tab", chromedp.KeyEvent(kb.Tab))
	focus := value(b, "read the focus", chromedp.Evaluate[[]string](
		`[document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle, getComputedStyle(document.activeElement).outlineWidth]`))
	if focus[0] != "revoke-"+keyID || focus[1] != "solid" || focus[2] == "0px" {
		t.Errorf("after Tab from Rotate the focus is on %q with outline %s %s, want #revoke-%s with a visible outline", focus[0], focus[1], focus[2], keyID)
	}
	b.screenshot("phone-keys")
	if st := b.click("#rotate-" + keyID); st != 200 {
		t.Fatalf("tapping Rotate led to a %d page", st)
	}
}
