package gate_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/gate"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/ratelimit"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// clock is a settable time, shared by the store, the limiter and the gate.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t               *testing.T
	st              *sqlstore.Store
	g               *gate.Gate
	clk             *clock
	org, group, key string
	actor           platform.Actor
	requests        int
}

// newEnv is a gate over a real SQLite store and the in-process limiter,
// with an organization, a group and a key, and the list prices.
func newEnv(t *testing.T, cfg gate.Config) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	st.Now = clk.Now
	e := &env{t: t, st: st, clk: clk, actor: platform.SystemActor("test")}
	o := &platform.Org{ID: platform.NewID("org"), Name: "Acme", CreatedAt: clk.Now()}
	if err := st.CreateOrg(ctx, o, e.actor); err != nil {
		t.Fatal(err)
	}
	g := &platform.Group{ID: platform.NewID("grp"), OrgID: o.ID, Name: "app", Status: platform.GroupActive, CreatedAt: clk.Now()}
	if err := st.CreateGroup(ctx, g, e.actor); err != nil {
		t.Fatal(err)
	}
	k := &platform.APIKey{ID: platform.NewID("key"), OrgID: o.ID, GroupID: g.ID, Name: "k", Hash: []byte(platform.NewID("h")),
		Hint: "pplx-…abcd", CreatedAt: clk.Now()}
	if err := st.CreateKey(ctx, k, e.actor); err != nil {
		t.Fatal(err)
	}
	e.org, e.group, e.key = o.ID, g.ID, k.ID
	for _, p := range pricing.Defaults() {
		if _, err := st.AddPrice(ctx, p, e.actor); err != nil {
			t.Fatal(err)
		}
	}
	cfg.BatchReservations = true // as serve wires SQLite
	e.g = gate.New(st, ratelimit.NewLocal(clk.Now), cfg, slog.New(slog.DiscardHandler), clk.Now)
	t.Cleanup(e.g.Close)
	if err := e.g.LoadPrices(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) topUp(m money.Micros) {
	e.t.Helper()
	if _, err := e.st.Post(context.Background(), &billing.Transaction{OrgID: e.org, Kind: billing.KindTopUp, Amount: m,
		Reference: platform.NewID("ref")}, e.actor); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) admit(model string, prompt, maxOut int64) (*gate.Ticket, error) {
	e.requests++
	return e.g.Admit(context.Background(), gate.Admission{RequestID: platform.NewID("req"), OrgID: e.org, GroupID: e.group,
		KeyID: e.key, Model: model, PromptTokens: prompt, MaxOutputTokens: maxOut, ContextSize: pricing.ContextLow})
}

func (e *env) setLimit(scope billing.Scope, model string, rpm, tpm, conc int64) {
	e.t.Helper()
	if _, err := e.st.SetLimit(context.Background(), &billing.Limit{OrgID: e.org, Scope: scope, Model: model, RPM: rpm, TPM: tpm,
		Concurrency: conc}, e.actor); err != nil {
		e.t.Fatal(err)
	}
}

func okRecord(prompt, completion int) *metering.Record {
	return &metering.Record{RequestID: platform.NewID("req"), Model: "sonar", PromptTokens: prompt, CompletionTokens: completion,
		TotalTokens: prompt + completion, Outcome: metering.OutcomeOK, Status: 200}
}

func TestTierDefaultsApplyUntilTheOrgSetsALimit(t *testing.T) {
	e := newEnv(t, gate.Config{TierRPM: map[string][]int64{"*": {3, 6, 9, 12, 15, 18}, "sonar-pro": {1, 1, 1, 1, 1, 1}}})
	e.topUp(10 * money.PerDollar) // tier 0: $10 of lifetime purchases
	for i := range 3 {
		if _, err := e.admit("sonar", 10, 10); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := e.admit("sonar", 10, 10)
	if platform.ErrorKind(err) != platform.KindRateLimited || !strings.Contains(err.Error(), "usage tier 0 default") {
		t.Fatalf("4th request at tier 0 = %v", err)
	}
	// Each model has its own default.
	if _, err := e.admit("sonar-pro", 10, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admit("sonar-pro", 10, 10); platform.ErrorKind(err) != platform.KindRateLimited {
		t.Fatalf("2nd sonar-pro = %v", err)
	}
	// Buying credits lifts the tier at once (tier 1 at $50): six a minute,
	// in a fresh bucket.
	e.topUp(40 * money.PerDollar)
	for i := range 6 {
		if _, err := e.admit("sonar", 10, 10); err != nil {
			t.Fatalf("tier 1 request %d: %v", i, err)
		}
	}
	if _, err := e.admit("sonar", 10, 10); platform.ErrorKind(err) != platform.KindRateLimited {
		t.Fatalf("7th request at tier 1 = %v", err)
	}
	// An explicit organization limit replaces the default.
	e.setLimit(billing.Scope{Kind: billing.ScopeOrg, ID: e.org}, "", 100, 0, 0)
	for i := range 10 {
		if _, err := e.admit("sonar", 10, 10); err != nil {
			t.Fatalf("with an org limit, request %d: %v", i, err)
		}
	}
}

func TestHeadersNameTheTightestLimit(t *testing.T) {
	e := newEnv(t, gate.Config{})
	e.topUp(10 * money.PerDollar)
	e.setLimit(billing.Scope{Kind: billing.ScopeKey, ID: e.key}, "", 5, 1000, 0)
	e.setLimit(billing.Scope{Kind: billing.ScopeGroup, ID: e.group}, "sonar", 50, 0, 0)
	tk, err := e.admit("sonar", 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	h := tk.Headers()
	for k, want := range map[string]string{
		"X-Ratelimit-Limit-Requests": "5", "X-Ratelimit-Remaining-Requests": "4", "X-Ratelimit-Reset-Requests": "12s",
		"X-Ratelimit-Limit-Tokens": "1000", "X-Ratelimit-Remaining-Tokens": "900", "X-Ratelimit-Reset-Tokens": "6s",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestTokensAreCorrectedToTheRealCount(t *testing.T) {
	e := newEnv(t, gate.Config{})
	e.topUp(10 * money.PerDollar)
	e.setLimit(billing.Scope{Kind: billing.ScopeKey, ID: e.key}, "", 0, 1000, 0)
	// Estimated 100, really 100 + 700: the next request sees 200 left.
	tk, err := e.admit("sonar", 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Settle(context.Background(), okRecord(100, 700)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admit("sonar", 300, 10); platform.ErrorKind(err) != platform.KindRateLimited {
		t.Fatalf("300 tokens with 200 left = %v", err)
	}
	tk, err = e.admit("sonar", 200, 10)
	if err != nil {
		t.Fatalf("200 tokens with 200 left: %v", err)
	}
	if got := tk.Headers().Get("X-Ratelimit-Remaining-Tokens"); got != "0" {
		t.Fatalf("remaining = %s", got)
	}
	// A prompt larger than the whole limit can never pass: 400, not 429.
	if _, err := e.admit("sonar", 5000, 10); platform.ErrorKind(err) != platform.KindInvalid {
		t.Fatalf("oversized prompt = %v", err)
	}
}

// A request refused for money still counts against its rate limits (a
// client looping at zero balance is throttled, and never reaches a write),
// but holds no concurrency slot.
func TestRefusalForMoneyKeepsTheRateButFreesTheSlot(t *testing.T) {
	e := newEnv(t, gate.Config{RequireCredits: true})
	e.setLimit(billing.Scope{Kind: billing.ScopeKey, ID: e.key}, "", 2, 0, 1)
	for range 2 {
		if _, err := e.admit("sonar", 10, 10); platform.ErrorKind(err) != platform.KindPaymentRequired {
			t.Fatalf("no credits = %v", err)
		}
	}
	if _, err := e.admit("sonar", 10, 10); platform.ErrorKind(err) != platform.KindRateLimited {
		t.Fatalf("third refused request = %v; want the rate limit", err)
	}
	e.clk.Add(time.Minute)
	e.topUp(money.PerDollar)
	tk, err := e.admit("sonar", 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	// The single concurrency slot is taken until the first settles; the
	// refusal gives its rate-limit charge back.
	if _, err := e.admit("sonar", 10, 10); platform.ErrorKind(err) != platform.KindRateLimited ||
		!strings.Contains(err.Error(), "concurrent") {
		t.Fatalf("second concurrent = %v", err)
	}
	if err := tk.Settle(context.Background(), okRecord(10, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admit("sonar", 10, 10); err != nil {
		t.Fatalf("after settling: %v", err)
	}
	if err := tk.Settle(context.Background(), okRecord(10, 10)); err == nil {
		t.Fatal("a ticket settled twice")
	}
}

func TestCostOfFailures(t *testing.T) {
	p := pricing.Defaults()[0] // sonar: $1 in, $1 out, $5 per 1K requests
	for _, tc := range []struct {
		name string
		rec  metering.Record
		want money.Micros
	}{
		{"answered", metering.Record{Outcome: metering.OutcomeOK, PromptTokens: 10, CompletionTokens: 20}, 10 + 20 + 5000},
		{"failed before output", metering.Record{Outcome: metering.OutcomeError, PromptTokens: 10}, 0},
		{"aborted midway", metering.Record{Outcome: metering.OutcomeAborted, PromptTokens: 10, CompletionTokens: 4}, 10 + 4 + 5000},
		{"high context", metering.Record{Outcome: metering.OutcomeOK, PromptTokens: 1, CompletionTokens: 1, ContextSize: pricing.ContextHigh}, 2 + 12_000},
	} {
		c, err := gate.Cost(p, &tc.rec)
		if err != nil || c.Total != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, c.Total, err, tc.want)
		}
	}
}

func TestSettleIsDurableAndPriced(t *testing.T) {
	e := newEnv(t, gate.Config{RequireCredits: true})
	e.topUp(money.PerDollar)
	tk, err := e.admit("sonar-pro", 26, 2000)
	if err != nil {
		t.Fatal(err)
	}
	rec := okRecord(26, 832)
	rec.OrgID, rec.GroupID, rec.KeyID, rec.Model, rec.StartedAt = e.org, e.group, e.key, "sonar-pro", e.clk.Now()
	if err := tk.Settle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	// Perplexity's worked example for sonar-pro: $0.018558.
	if rec.Cost.Total != 18_558 || rec.Cost.PriceID != "price_list_sonar-pro" {
		t.Fatalf("cost = %+v", rec.Cost)
	}
	got, err := e.st.UsageRecord(context.Background(), e.org, rec.RequestID)
	if err != nil || got.Cost.Total != 18_558 {
		t.Fatalf("stored = %+v, %v", got, err)
	}
	a, err := e.st.Account(context.Background(), e.org, e.clk.Now())
	if err != nil || a.Balance != money.PerDollar-18_558 || a.Held != 0 {
		t.Fatalf("account = %+v, %v", a, err)
	}
}

// A request that runs longer than the hold's lifetime keeps its hold: Run
// renews it, so no replica's ExpireHolds frees the room it still needs.
func TestRunKeepsRunningRequestsHolds(t *testing.T) {
	e := newEnv(t, gate.Config{RequireCredits: true, HoldTTL: 300 * time.Millisecond})
	e.topUp(money.PerDollar)
	tk, err := e.admit("sonar", 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.g.Run(ctx, 24*time.Hour, 24*time.Hour); close(done) }()
	// Five hold lifetimes pass on the clock while the request runs.
	for range 15 {
		time.Sleep(40 * time.Millisecond)
		e.clk.Add(100 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // one more heartbeat after the last tick
	cancel()
	<-done
	if n, err := e.st.ExpireHolds(context.Background(), e.clk.Now()); err != nil || n != 0 {
		t.Fatalf("expired %d holds of a running request, %v", n, err)
	}
	if err := tk.Settle(context.Background(), okRecord(10, 10)); err != nil {
		t.Fatal(err)
	}
	a, err := e.st.Account(context.Background(), e.org, e.clk.Now())
	if err != nil || a.Held != 0 || a.Balance != money.PerDollar-(10+10+5000) {
		t.Fatalf("account = %+v, %v", a, err)
	}
}
