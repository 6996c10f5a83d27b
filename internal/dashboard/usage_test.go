package dashboard_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// settle writes n finished requests of key (in group) with model, each
// costing cost, started at the given times, through billing's real Settle.
func (h *harness) settle(group, key, model string, cost money.Micros, at ...time.Time) {
	h.t.Helper()
	var batch []*billing.Settlement
	for _, t := range at {
		batch = append(batch, &billing.Settlement{Record: metering.Record{
			RequestID: fmt.Sprintf("req_%s_%d", key, t.UnixNano()), OrgID: h.orgID, GroupID: group, KeyID: key,
			Endpoint: "chat.completions", Model: model, ServedBy: model, PromptTokens: 100, CompletionTokens: 50,
			TotalTokens: 150, Cost: pricing.Cost{Total: cost}, Status: 200, Outcome: metering.OutcomeOK, StartedAt: t}})
	}
	if _, err := h.st.Settle(h.t.Context(), batch); err != nil {
		h.t.Fatal(err)
	}
}

func TestUsageChartsAndCSV(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(h.email, h.passwd)

	// Before any request the page says how to get some.
	p := b.must(http.StatusOK, "/dashboard/usage")
	contains(t, "empty usage", p.body, `data-testid="usage-empty"`, `id="chart-requests"`)

	g := h.group("prod")
	web, _ := h.key(g, "web")
	batch, _ := h.key(g, "batch")
	now := h.clock.Now()
	// web: 3 requests two hours ago and 1 now; batch: 2 requests yesterday.
	h.settle(g, web, "sonar", 2500, now.Add(-2*time.Hour), now.Add(-2*time.Hour+time.Minute), now.Add(-2*time.Hour+2*time.Minute), now)
	h.settle(g, batch, "sonar-pro", 10_000, now.Add(-26*time.Hour), now.Add(-25*time.Hour))

	tests := []struct {
		name, query string
		requests    string // the total shown
		bars        int    // rects drawn in the requests chart
		want        []string
	}{
		{"last 24 hours by hour", "?range=24h", "4", 2, []string{`<title>May 14 07:00 · All: 3</title>`, `<title>May 14 09:00 · All: 1</title>`}},
		{"last 7 days by day", "?range=7d", "6", 2, []string{`<title>May 13 · All: 2</title>`, `<title>May 14 · All: 4</title>`}},
		{"split by key", "?range=7d&by=key", "6", 2, []string{`<title>May 14 · web: 4</title>`, `<title>May 13 · batch: 2</title>`, `class="swatch s1"`}},
		{"filtered to a model", "?range=7d&model=sonar-pro", "2", 1, []string{`<title>May 13 · All: 2</title>`}},
		{"custom dates", "?range=custom&from=2026-05-13&to=2026-05-13", "2", 1, []string{`<title>May 13 · All: 2</title>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.browserIn(t)
			b.signIn(h.email, h.passwd)
			p := b.must(http.StatusOK, "/dashboard/usage"+tt.query)
			contains(t, "usage page", p.body, `id="total-requests">`+tt.requests+`<`)
			contains(t, "usage page", p.body, tt.want...)
			svg := regexp.MustCompile(`(?s)<svg class="chart" id="chart-requests".*?</svg>`).FindString(p.body)
			if n := strings.Count(svg, `<rect class="bar"`); n != tt.bars {
				t.Fatalf("requests chart has %d bars, want %d:\n%s", n, tt.bars, svg)
			}
			contains(t, "chart", svg, `role="img"`, `class="axis"`)
		})
	}
	p = b.must(http.StatusOK, "/dashboard/usage?range=7d")
	contains(t, "top keys", p.body, `data-testid="top-keys"`, `data-key-id="`+batch+`"`, `data-key-id="`+web+`"`, "<code>sonar-pro</code>")
	if strings.Index(p.body, `data-key-id="`+batch+`"`) > strings.Index(p.body, `data-key-id="`+web+`"`) {
		t.Fatal("top keys are not ordered by cost (batch cost $0.02, web $0.01)")
	}

	// A bad filter is explained next to it, over the default view.
	p = b.get("/dashboard/usage?range=custom&from=2026-05-14&to=2026-05-01")
	if p.status != http.StatusBadRequest {
		t.Fatalf("backwards custom range = %d, want 400", p.status)
	}
	contains(t, "bad filter", p.body, `id="f-to-error"`)
	if p := b.get("/dashboard/usage?range=30d&granularity=hour&from=x"); p.status != http.StatusOK {
		t.Fatalf("30 days by hour = %d, want 200 (31 days at most)", p.status)
	}
	if p := b.get("/dashboard/usage?range=custom&from=2026-01-01&to=2026-05-01&granularity=hour"); p.status != http.StatusBadRequest {
		t.Fatalf("4 months by hour = %d, want 400", p.status)
	}

	// The CSV export has the API's columns and one row per bucket and key.
	p = b.must(http.StatusOK, "/dashboard/usage/export?range=7d&by=key")
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("export content type %q", ct)
	}
	if cd := p.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".csv") {
		t.Fatalf("export disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "start" || rows[0][11] != "cost_micros" {
		t.Fatalf("export rows %v", rows)
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[2]] = r[4] + " requests, " + r[11] + " micros"
	}
	if got[web] != "4 requests, 10000 micros" || got[batch] != "2 requests, 20000 micros" {
		t.Fatalf("export per key = %v", got)
	}
}
