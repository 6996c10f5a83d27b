package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/dashboard"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/middleware"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/session"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
	"github.com/tollgate-dev/tollgate/internal/usagegen"
)

// The usage page at scale: a store filled with generated usage through the
// real settlement path (package usagegen), the real governance, billing and
// session services, and the dashboard behind the middleware every Tollgate
// request passes through, over loopback HTTP with a signed-in session.
// TestUsagePageAtScale checks what the page shows; BenchmarkUsagePage
// (usage_bench_test.go) times it.

// scaleNow is the clock of every service: mid-hour, so the last bucket of
// a range is a partial one, as it is for a user.
var scaleNow = time.Date(2026, 11, 26, 14, 37, 21, 0, time.UTC)

// scaleEnv is one seeded store and the dashboard serving it.
type scaleEnv struct {
	url    string
	client *http.Client
	cookie string
	ten    *usagegen.Tenant
	usage  *usagegen.Result
	timer  *usageTimer
}

// usageTimer is the billing store the dashboard's billing.Service reads
// through: the real store, with the time spent in its Usage (the rollup
// queries) added up, so a benchmark can tell the queries from the rest of
// a page.
type usageTimer struct {
	billing.Store
	mu    sync.Mutex
	calls int
	spent time.Duration
}

// Usage implements billing.Store.
func (u *usageTimer) Usage(ctx context.Context, q billing.UsageQuery) ([]billing.UsageRow, error) {
	start := time.Now()
	rows, err := u.Store.Usage(ctx, q)
	d := time.Since(start)
	u.mu.Lock()
	u.calls, u.spent = u.calls+1, u.spent+d
	u.mu.Unlock()
	return rows, err
}

// take returns the queries made and their time since the last take.
func (u *usageTimer) take() (int, time.Duration) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n, d := u.calls, u.spent
	u.calls, u.spent = 0, 0
	return n, d
}

// newScaleEnv seeds records requests over the 30 days before scaleNow for
// 20 keys in 5 groups and signs the owner in. backend is "sqlite" or
// "postgres".
func newScaleEnv(tb testing.TB, backend string, records int) *scaleEnv {
	tb.Helper()
	ctx := context.Background()
	dsn := filepath.Join(tb.TempDir(), "tollgate.db")
	if backend == "postgres" {
		pgtest.AdminURL(tb)
		dsn = pgtest.URL(tb)
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	now := func() time.Time { return scaleNow }
	st.Now = now
	gov := governance.New(st, governance.Config{}, nil, now)
	e := &scaleEnv{timer: &usageTimer{Store: st}}
	bill := billing.NewService(e.timer, nil, now)
	if e.ten, err = usagegen.NewTenant(ctx, gov, bill, 5, 4); err != nil {
		tb.Fatal(err)
	}
	if e.usage, err = usagegen.Generate(ctx, st, usagegen.Config{OrgID: e.ten.Org.ID, Keys: e.ten.Keys,
		Records: records, End: scaleNow, Span: 30 * 24 * time.Hour, Batch: 1000, Seed: 1}); err != nil {
		tb.Fatal(err)
	}
	if e.usage.Settled != records {
		tb.Fatalf("settled %d of %d records", e.usage.Settled, records)
	}

	log := slog.New(slog.DiscardHandler)
	d, err := dashboard.New(dashboard.Deps{Gov: gov, Billing: bill, Sessions: session.New(st, gov, session.Config{}, now),
		Log: log, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Register(mux)
	mux.Handle("/", httpjson.NotFound(log))
	h := middleware.Chain(mux, middleware.RequestID, middleware.AccessLog(log), middleware.Recover(log),
		middleware.CleanPath("", log))
	// Labelled, so a CPU profile of a benchmark can be narrowed to the
	// server's goroutines: go tool pprof -tagfocus bench=usage-page.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), pprof.Labels("bench", "usage-page"), func(ctx context.Context) {
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	}))
	tb.Cleanup(srv.Close)
	e.url = srv.URL
	e.client = &http.Client{Timeout: 5 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := e.client.PostForm(e.url+"/dashboard/sign-in", url.Values{"email": {e.ten.OwnerEmail},
		"password": {e.ten.OwnerPassword}, "next": {"/dashboard/usage"}})
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == dashboard.CookieName && c.Value != "" {
			e.cookie = c.Name + "=" + c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || e.cookie == "" {
		tb.Fatalf("sign-in: %s, session cookie %t", resp.Status, e.cookie != "")
	}
	return e
}

// get fetches a page with the session and returns its status and body,
// and the time from sending the request to reading its last byte.
func (e *scaleEnv) get(tb testing.TB, path string) (int, string, time.Duration) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Cookie", e.cookie)
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	resp.Body.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(body), took
}

// scaleVariant is one view of the usage page a user picks: its query and
// the hours it covers.
type scaleVariant struct {
	name  string
	query string
	// from is the start of the range's first bucket; the range ends at
	// scaleNow, in the current bucket.
	from                  time.Time
	groupID, keyID, model string
}

// scaleVariants are the range tabs (24 hours by hour, 7 and 30 days by
// day), hourly charts of the longer ranges, and each filter and a split.
func scaleVariants(ten *usagegen.Tenant) []scaleVariant {
	day := 24 * time.Hour
	hours := func(n int) time.Time { return scaleNow.Truncate(time.Hour).Add(time.Duration(1-n) * time.Hour) }
	days := func(n int) time.Time { return scaleNow.Truncate(day).Add(time.Duration(1-n) * day) }
	g, k := ten.Groups[1].ID, ten.Keys[2].ID
	return []scaleVariant{
		{name: "24h", query: "range=24h", from: hours(24)},
		{name: "7d", query: "range=7d", from: days(7)},
		{name: "30d", query: "range=30d", from: days(30)},
		{name: "24h-group", query: "range=24h&group=" + g, from: hours(24), groupID: g},
		{name: "7d-key", query: "range=7d&key=" + k, from: days(7), keyID: k},
		{name: "30d-model", query: "range=30d&model=sonar-pro", from: days(30), model: "sonar-pro"},
		{name: "30d-by-key", query: "range=30d&by=key", from: days(30)},
		{name: "7d-hourly", query: "range=7d&granularity=hour", from: hours(7 * 24)},
		{name: "30d-hourly", query: "range=30d&granularity=hour", from: hours(30 * 24)},
	}
}

func (v scaleVariant) filter() usagegen.Filter {
	return usagegen.Filter{From: v.from, To: scaleNow, GroupID: v.groupID, KeyID: v.keyID, Model: v.model}
}

// The patterns read cells by position and ignore their attributes, so a
// change of markup that keeps the columns keeps them working; one that
// loses them fails the test (it counts the rows it expects).
var (
	scaleStatRE   = regexp.MustCompile(`id="total-(requests|tokens|cost)">([^<]+)<`)
	scaleFailedRE = regexp.MustCompile(`id="total-requests">[^<]+</p><p class="stat-sub">([0-9,]+) failed<`)
	scaleKeyRowRE = regexp.MustCompile(`<tr data-key-id="([^"]+)"[^>]*>.*?</td><td[^>]*>([0-9,]+)</td><td[^>]*>([0-9,]+)</td><td[^>]*>([^<]+)</td></tr>`)
	scaleModelsRE = regexp.MustCompile(`(?s)id="top-models".*?</table>`)
	scaleModelRE  = regexp.MustCompile(`<tr[^>]*><td[^>]*><code>([^<]+)</code></td><td[^>]*>([0-9,]+)</td><td[^>]*>([0-9,]+)</td><td[^>]*>([^<]+)</td></tr>`)
)

// scaleTotals is what the page shows of a range: the totals, and requests,
// tokens and cost per top key and per model.
type scaleTotals struct {
	requests, errors, tokens int64
	cost                     money.Micros
	keys, models             map[string][3]int64
}

func scaleCount(tb testing.TB, s string) int64 {
	tb.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		tb.Fatalf("the page shows %q where a count belongs", s)
	}
	return n
}

func scaleMoney(tb testing.TB, s string) money.Micros {
	tb.Helper()
	m, err := money.Parse(s)
	if err != nil {
		tb.Fatalf("the page shows %q where an amount belongs: %v", s, err)
	}
	return m
}

// readPage reads the numbers off a rendered usage page.
func readPage(tb testing.TB, body string) scaleTotals {
	tb.Helper()
	t := scaleTotals{keys: map[string][3]int64{}, models: map[string][3]int64{}}
	stats := scaleStatRE.FindAllStringSubmatch(body, -1)
	if len(stats) != 3 {
		tb.Fatalf("the page shows %d of the 3 totals", len(stats))
	}
	for _, m := range stats {
		switch m[1] {
		case "requests":
			t.requests = scaleCount(tb, m[2])
		case "tokens":
			t.tokens = scaleCount(tb, m[2])
		case "cost":
			t.cost = scaleMoney(tb, m[2])
		}
	}
	if m := scaleFailedRE.FindStringSubmatch(body); m != nil {
		t.errors = scaleCount(tb, m[1])
	}
	for _, m := range scaleKeyRowRE.FindAllStringSubmatch(body, -1) {
		t.keys[m[1]] = [3]int64{scaleCount(tb, m[2]), scaleCount(tb, m[3]), int64(scaleMoney(tb, m[4]))}
	}
	for _, m := range scaleModelRE.FindAllStringSubmatch(scaleModelsRE.FindString(body), -1) {
		t.models[m[1]] = [3]int64{scaleCount(tb, m[2]), scaleCount(tb, m[3]), int64(scaleMoney(tb, m[4]))}
	}
	return t
}

func tokens(u usagegen.Totals) int64 { return u.PromptTokens + u.CompletionTokens + u.ReasoningTokens }

// TestUsagePageAtScale settles 20,000 generated requests over 30 days
// through the real store, then reads every view of the usage page over
// HTTP and checks its totals, top keys and models against the
// generator's own tally of what it settled: the page reads only rollups,
// so a rollup written or read wrong, a bucket dropped at a range's edge
// or a filter ignored shows up as a wrong number.
func TestUsagePageAtScale(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newScaleEnv(t, backend, 20_000)
			if all := e.usage.Sum(usagegen.Filter{}); all.Requests != 20_000 || all.Errors == 0 {
				t.Fatalf("generated %+v", all)
			}
			for _, v := range scaleVariants(e.ten) {
				t.Run(v.name, func(t *testing.T) {
					status, body, _ := e.get(t, "/dashboard/usage?"+v.query)
					if status != http.StatusOK {
						t.Fatalf("GET %s = %d:\n%s", v.query, status, body)
					}
					got := readPage(t, body)
					want := e.usage.Sum(v.filter())
					if want.Requests == 0 {
						t.Fatalf("the tally has no requests in this view; the test proves nothing")
					}
					if got.requests != want.Requests || got.errors != want.Errors || got.tokens != tokens(want) ||
						got.cost != want.Cost {
						t.Errorf("totals: the page shows %d requests (%d failed), %d tokens, %s; the tally %d (%d), %d, %s",
							got.requests, got.errors, got.tokens, money.Format(got.cost), want.Requests, want.Errors,
							tokens(want), money.Format(want.Cost))
					}
					byKey := e.usage.SumBy(v.filter(), "key")
					if len(got.keys) != min(10, len(byKey)) {
						t.Errorf("top keys lists %d keys, want %d", len(got.keys), min(10, len(byKey)))
					}
					for id, k := range got.keys {
						w := byKey[id]
						if k != [3]int64{w.Requests, tokens(w), int64(w.Cost)} {
							t.Errorf("top key %s: the page shows %v, the tally %d requests, %d tokens, %d µ$", id, k,
								w.Requests, tokens(w), w.Cost)
						}
					}
					// The top keys are the dearest ones.
					costs := make([]int64, 0, len(byKey))
					for _, w := range byKey {
						costs = append(costs, int64(w.Cost))
					}
					slices.Sort(costs)
					slices.Reverse(costs)
					for id, k := range got.keys {
						if len(costs) > 10 && k[2] < costs[9] {
							t.Errorf("top keys lists %s (%d µ$) but the tenth dearest key cost %d", id, k[2], costs[9])
						}
					}
					byModel := e.usage.SumBy(v.filter(), "model")
					if len(got.models) != len(byModel) {
						t.Errorf("top models lists %d models, want %d", len(got.models), len(byModel))
					}
					for m, w := range byModel {
						if got.models[m] != [3]int64{w.Requests, tokens(w), int64(w.Cost)} {
							t.Errorf("model %s: the page shows %v, the tally %d requests, %d tokens, %d µ$", m,
								got.models[m], w.Requests, tokens(w), w.Cost)
						}
					}
				})
			}
		})
	}
}

// scaleLabel is a variant's name padded for a table.
func scaleLabel(name string) string { return fmt.Sprintf("%-11s", name) }
