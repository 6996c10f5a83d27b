package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds every browser step: a page that hangs fails the test
// instead of hanging it.
const stepTimeout = 15 * time.Second

// browser is one Chromium with its own profile (so its own cookies), one
// tab, pointed at a server.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	name  string // "owner", "viewer", …: names its failure screenshots
	shots string // where screenshots go
	// forbidden are strings no page may contain once set (a secret shown
	// once), by a label that is safe to print.
	forbidden map[string]string
	// secrets are never printed: failure messages show their labels.
	secrets map[string]string
	// visited lists the pages checked against forbidden.
	visited []string
	// last is the response of the last page loaded.
	last *network.Response
}

// newBrowser starts a headless Chromium of width×height with the flags
// that keep it off the network (it would otherwise hang on this closed
// network at start) and an empty profile.
func newBrowser(t *testing.T, base, name string, width, height int) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser with no deadline (a deadline on the first Run
	// would bind the browser's life to it), but give up after a while.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium (%s): %v", chromium, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Chromium (%s) did not start within 30s", chromium)
	}
	b := &browser{t: t, ctx: ctx, base: base, name: name, shots: screenshotDir(t), forbidden: map[string]string{}, secrets: map[string]string{}}
	b.watchConsole()
	return b
}

// watchConsole collects the pages' script errors, uncaught exceptions and
// browser complaints (a Content-Security-Policy violation, a missing
// asset): a page that works must leave the console clean. HTTP error
// statuses the tests cause on purpose are not complaints.
func (b *browser) watchConsole() {
	var (
		mu   sync.Mutex
		msgs []string
	)
	console := chromedp.Console(b.ctx) // subscribed from here on
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			if m.Source == "network" && strings.Contains(m.Text, "the server responded with a status of") {
				continue
			}
			mu.Lock()
			msgs = append(msgs, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line))
			mu.Unlock()
		}
	}()
	b.t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			b.t.Error(b.redact(b.name + ": console: " + m))
		}
	})
}

// step runs actions with a timeout; on failure it saves a screenshot of
// the page for the investigation and fails the test.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(what, err)
	}
}

// value runs one action that returns a value, with a timeout.
func value[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	loc := ""
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if l, lerr := chromedp.Run(ctx, chromedp.Location()); lerr == nil {
		loc = " at " + l
	}
	if png, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)); serr == nil {
		path := filepath.Join(b.shots, "FAILED-"+b.name+"-"+fileSafe(b.t.Name())+".png")
		if werr := os.WriteFile(path, png, 0o644); werr == nil {
			loc += " (screenshot " + path + ")"
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", stepTimeout, err)
	}
	b.t.Fatal(b.redact(fmt.Sprintf("%s: %s%s: %v", b.name, what, loc, err)))
}

// redact hides the secrets in a message for the log.
func (b *browser) redact(msg string) string {
	for label, s := range b.secrets {
		msg = strings.ReplaceAll(msg, s, "["+label+"]")
	}
	return msg
}

// forbid registers a secret that must not appear in any page from now on.
func (b *browser) forbid(label, s string) {
	b.forbidden[label] = s
	b.secret(label, s)
}

// secret registers a string that failure messages never print: they name
// it by label.
func (b *browser) secret(label, s string) { b.secrets[label] = s }

// navigate opens a dashboard path and returns the document's HTTP status.
func (b *browser) navigate(path string) int64 {
	b.t.Helper()
	return b.load("open "+path, chromedp.Navigate(b.base+path))
}

// load runs a step that causes a navigation (a click on a link or a submit
// button, back, reload), waits for the new page, checks it (see check) and
// returns the document's HTTP status.
func (b *browser) load(what string, trigger ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, trigger...)
	if err != nil {
		b.fail(what, err)
	}
	if resp == nil {
		b.fail(what, errors.New("no document response"))
	}
	b.last = resp
	b.check(what)
	b.checkTables(what)
	return resp.Status
}

// history goes back (-1) or forward (+1) in the tab's history, waits for
// the page (from the network, the HTTP cache or the back/forward cache,
// which fires no load event) and checks it.
func (b *browser) history(delta int64) {
	b.t.Helper()
	what := fmt.Sprintf("history %+d", delta)
	getHistory := func(ctx context.Context, t *chromedp.Target) (page.GetNavigationHistoryResult, error) {
		return cdp.Call(ctx, t, page.GetNavigationHistory, cdp.Empty{})
	}
	h := value(b, what, getHistory)
	to := h.CurrentIndex + delta
	if to < 0 || to >= int64(len(h.Entries)) {
		b.t.Fatalf("%s: %s: no such history entry (at %d of %d)", b.name, what, h.CurrentIndex, len(h.Entries))
	}
	b.step(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[to].ID})
		return chromedp.Void{}, err
	})
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		now, err := chromedp.Run(ctx, getHistory)
		ready := false
		if err == nil && now.CurrentIndex == to {
			// Evaluating fails while the old document goes away: retry.
			ready, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`))
		}
		cancel()
		if err == nil && ready {
			break
		}
		if time.Now().After(deadline) {
			b.fail(what, fmt.Errorf("the page did not load: %v", err))
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.check(what)
	b.checkTables(what)
}

// click clicks the element with this CSS selector and waits for the page
// it leads to.
func (b *browser) click(sel string) int64 {
	b.t.Helper()
	return b.load("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// html is the current document's markup, as the browser holds it.
func (b *browser) html() string {
	b.t.Helper()
	return value(b, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
}

// check fails the test when the current page holds a forbidden string.
func (b *browser) check(what string) {
	b.t.Helper()
	if len(b.forbidden) == 0 {
		return
	}
	h := b.html()
	loc := value(b, "location", chromedp.Location())
	b.visited = append(b.visited, loc)
	for label, s := range b.forbidden {
		if strings.Contains(h, s) {
			b.t.Fatalf("%s: after %q the page %s contains the %s", b.name, what, loc, label)
		}
	}
}

// wideTable is a table wider than its container, as checkTables sees it.
type wideTable struct {
	Table  string `json:"table"`
	Scroll int    `json:"scroll"`
	Client int    `json:"client"`
}

// checkTables fails the test when a table of the current page is wider
// than its container, so that the person would have to scroll it sideways
// to read a column (the audit log once hid its details that way at
// 1280 px). On phones the wide tables stack their rows as cards
// (.table-cards), so this holds at every width the tests use. Hidden
// tables (a closed <details>) are not measured.
func (b *browser) checkTables(what string) {
	b.t.Helper()
	wide := value(b, "measure the tables", chromedp.Evaluate[[]wideTable](`(() => {
		return [...document.querySelectorAll("table")].map(t => {
			const c = t.parentElement;
			return {table: t.id || t.dataset.testid || t.className, scroll: c.scrollWidth, client: c.clientWidth};
		}).filter(w => w.client > 0 && w.scroll > w.client + 1);
	})()`))
	for _, w := range wide {
		b.t.Errorf("%s: after %q the table %s at %s is %dpx wide in a %dpx container: it scrolls sideways",
			b.name, what, w.Table, b.redact(b.location()), w.Scroll, w.Client)
	}
}

// exists reports whether the CSS selector matches an element now.
func (b *browser) exists(sel string) bool {
	b.t.Helper()
	return value(b, "query "+sel, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, sel)))
}

// text is the trimmed text content of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(value(b, "text of "+sel, chromedp.TextContent(chromedp.CSS(sel))))
}

// location is the current URL.
func (b *browser) location() string {
	b.t.Helper()
	return value(b, "location", chromedp.Location())
}

// signIn fills the sign-in form and submits it; it returns the status of
// the page the form led to.
func (b *browser) signIn(email, password string) int64 {
	b.t.Helper()
	if st := b.navigate("/dashboard/sign-in"); st != 200 {
		b.t.Fatalf("%s: GET /dashboard/sign-in = %d", b.name, st)
	}
	b.step("fill the sign-in form",
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password))
	return b.click("#sign-in")
}

// cookie returns the browser's cookie named name for the server, or nil.
func (b *browser) cookie(name string) *network.Cookie {
	b.t.Helper()
	res := value(b, "read cookies", func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/dashboard/"}})
	})
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// fetchResult is what a fetch() run in the page saw.
type fetchResult struct {
	Status     int    `json:"status"`
	Redirected bool   `json:"redirected"`
	URL        string `json:"url"`
	Body       string `json:"body"`
}

// postForm POSTs fields, form-encoded, from inside the page with fetch():
// the browser adds the session cookie and its own Origin and Sec-Fetch-*
// headers, as a submitted form would.
func (b *browser) postForm(path string, fields map[string]string) fetchResult {
	b.t.Helper()
	var parts []string
	for k, v := range fields {
		parts = append(parts, fmt.Sprintf("[%q, %q]", k, v))
	}
	js := fmt.Sprintf(`(async () => {
		const r = await fetch(%q, {method: "POST", body: new URLSearchParams([%s]), credentials: "same-origin"});
		return {status: r.status, redirected: r.redirected, url: r.url, body: await r.text()};
	})()`, b.base+path, strings.Join(parts, ", "))
	return value(b, "POST "+path, chromedp.Evaluate[fetchResult](js, chromedp.EvalAwaitPromise))
}

// get fetches a path from inside the page and returns its status and body.
func (b *browser) get(path string) fetchResult {
	b.t.Helper()
	js := fmt.Sprintf(`(async () => {
		const r = await fetch(%q, {credentials: "same-origin"});
		return {status: r.status, redirected: r.redirected, url: r.url, body: await r.text()};
	})()`, b.base+path)
	return value(b, "GET "+path, chromedp.Evaluate[fetchResult](js, chromedp.EvalAwaitPromise))
}

// screenshot saves a full-page PNG of the current page as name.png in the
// screenshot directory.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	// Let web fonts and layout settle: the page must look as a person sees it.
	b.step("wait for fonts", chromedp.Evaluate[chromedp.Void](`document.fonts.ready.then(() => true)`, chromedp.EvalAwaitPromise))
	b.assertStyled(name)
	png := value(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if len(png) < 1000 {
		b.t.Fatalf("screenshot %s is only %d bytes", name, len(png))
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// pageLook is what assertStyled reads of a page.
type pageLook struct {
	ContentType string `json:"contentType"`
	Rules       int    `json:"rules"`
	Font        string `json:"font"`
	Main        bool   `json:"main"`
	RawJSON     bool   `json:"rawJSON"`
}

// assertStyled fails the test when the page is not a styled dashboard page:
// an HTML document with the stylesheet applied (not the browser's default
// serif), a main region, and no raw JSON for text.
func (b *browser) assertStyled(name string) {
	b.t.Helper()
	look := value(b, "look at "+name, chromedp.Evaluate[pageLook](`(() => {
		let rules = 0;
		for (const sheet of document.styleSheets) { try { rules += sheet.cssRules.length } catch (e) {} }
		return {
			contentType: document.contentType,
			rules: rules,
			font: getComputedStyle(document.body).fontFamily,
			main: document.querySelector("main") !== null,
			rawJSON: /^\s*[\[{]/.test(document.body.innerText),
		};
	})()`))
	if look.ContentType != "text/html" || look.Rules < 10 || strings.Contains(strings.ToLower(look.Font), "times") || !look.Main || look.RawJSON {
		b.t.Errorf("%s: the %s page does not look like a styled dashboard page: %+v", b.name, name, look)
	}
}

// screenshotDir is TOLLGATE_SCREENSHOTS, created if needed, or else the
// test's temporary directory (removed after the test; its path is logged).
func screenshotDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("TOLLGATE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir := t.TempDir()
	t.Logf("screenshots go to %s (removed after the test; set TOLLGATE_SCREENSHOTS to keep them)", dir)
	return dir
}

var unsafeRE = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func fileSafe(s string) string { return unsafeRE.ReplaceAllString(s, "_") }
