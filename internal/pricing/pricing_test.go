package pricing

import (
	"math"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
)

func defaultBook(t *testing.T) *Book {
	t.Helper()
	b, err := NewBook(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worked examples of Perplexity's docs, to the micro-dollar.
func TestPerplexityWorkedExamples(t *testing.T) {
	b := defaultBook(t)
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		model string
		u     Usage
		want  money.Micros
	}{
		// sonar-pro, 26 in + 832 out, low: $0.018558 (docs, sonar-pro page).
		{"sonar-pro", Usage{PromptTokens: 26, CompletionTokens: 832, Requests: 1}, 18_558},
		// The filters page: sonar-pro 21 in + 1206 out, low → 0.02415 (0.000063 input rounds as listed).
		{"sonar-pro", Usage{PromptTokens: 21, CompletionTokens: 1206, Requests: 1}, 63 + 18_090 + 6_000},
		{"sonar", Usage{PromptTokens: 9, CompletionTokens: 402, ContextSize: ContextHigh, Requests: 1}, 9 + 402 + 12_000},
		// Deep research: tokens, citations, searches and reasoning; no request fee.
		{"sonar-deep-research", Usage{PromptTokens: 1000, CompletionTokens: 2000, CitationTokens: 19_028,
			SearchQueries: 21, ReasoningTokens: 193_947, Requests: 1}, 2_000 + 16_000 + 38_056 + 105_000 + 581_841},
		{"search", Usage{Requests: 1}, 5_000},
	} {
		p := b.At(tc.model, now)
		if p == nil {
			t.Fatalf("%s: no price", tc.model)
		}
		c, err := Compute(p, tc.u)
		if err != nil || c.Total != tc.want {
			t.Fatalf("%s %+v: total %d, %v; want %d (%+v)", tc.model, tc.u, c.Total, err, tc.want, c)
		}
		if c.Input+c.Output+c.Reasoning+c.Citation+c.Search+c.Request != c.Total {
			t.Fatalf("%s: parts do not add up: %+v", tc.model, c)
		}
	}
}

func TestVersionsByEffectiveDate(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jun := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	b, err := NewBook([]*Price{
		{ID: "p2", Model: "m", EffectiveFrom: jun, InputPer1M: 2},
		{ID: "p1", Model: "m", EffectiveFrom: jan, InputPer1M: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{{jan.Add(-time.Second), ""}, {jan, "p1"}, {jun.Add(-time.Nanosecond), "p1"}, {jun, "p2"}, {jun.AddDate(1, 0, 0), "p2"}} {
		p := b.At("m", tc.at)
		got := ""
		if p != nil {
			got = p.ID
		}
		if got != tc.want {
			t.Fatalf("At(%s) = %q, want %q", tc.at, got, tc.want)
		}
	}
	if _, err := NewBook([]*Price{{ID: "a", Model: "m", EffectiveFrom: jan}, {ID: "b", Model: "m", EffectiveFrom: jan}}); err == nil {
		t.Fatal("two versions at one time accepted")
	}
}

func TestValidateRefusesBadPrices(t *testing.T) {
	ok := func() *Price {
		return &Price{Model: "m", EffectiveFrom: listDate, InputPer1M: 1, RequestPer1K: fees(1, 1, 1)}
	}
	for name, edit := range map[string]func(*Price){
		"negative":     func(p *Price) { p.OutputPer1M = -1 },
		"absurd":       func(p *Price) { p.InputPer1M = maxUnitPrice + 1 },
		"no model":     func(p *Price) { p.Model = " " },
		"no date":      func(p *Price) { p.EffectiveFrom = time.Time{} },
		"bad size":     func(p *Price) { p.RequestPer1K["huge"] = 1 },
		"negative fee": func(p *Price) { p.RequestPer1K[ContextHigh] = -5 },
	} {
		p := ok()
		edit(p)
		if err := p.Validate(); err == nil {
			t.Fatalf("%s: accepted %+v", name, p)
		}
	}
	if err := ok().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestOverflowIsAnError(t *testing.T) {
	p := &Price{Model: "m", EffectiveFrom: listDate, InputPer1M: maxUnitPrice, OutputPer1M: maxUnitPrice}
	if _, err := Compute(p, Usage{PromptTokens: math.MaxInt64}); err == nil {
		t.Fatal("overflowing cost accepted")
	}
	if _, err := Compute(p, Usage{PromptTokens: -1}); err == nil {
		t.Fatal("negative usage accepted")
	}
	// The largest realistic request still prices fine.
	c, err := Compute(p, Usage{PromptTokens: 10_000_000, CompletionTokens: 10_000_000})
	if err != nil || c.Total != 2*10*maxUnitPrice {
		t.Fatalf("large = %d, %v", c.Total, err)
	}
}

func TestMaxCostCoversAnyOutcome(t *testing.T) {
	p := defaultBook(t).At("sonar-deep-research", time.Now())
	worst, err := MaxCost(p, Worst{PromptTokens: 100, MaxOutputTokens: 1000, CitationTokens: 20_000, SearchQueries: 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []Usage{
		{PromptTokens: 100, CompletionTokens: 1000, Requests: 1},
		{PromptTokens: 100, ReasoningTokens: 1000, Requests: 1},
		{PromptTokens: 100, CompletionTokens: 400, ReasoningTokens: 600, Requests: 1},
		{PromptTokens: 100, CompletionTokens: 1000, CitationTokens: 20_000, SearchQueries: 30, Requests: 1},
	} {
		c, _ := Compute(p, u)
		if c.Total > worst {
			t.Fatalf("%+v costs %d > reserved %d", u, c.Total, worst)
		}
	}
	// Models that bill no searches reserve none.
	sonar := defaultBook(t).At("sonar", time.Now())
	plain, _ := MaxCost(sonar, Worst{PromptTokens: 100, MaxOutputTokens: 1000})
	withSearch, _ := MaxCost(sonar, Worst{PromptTokens: 100, MaxOutputTokens: 1000, SearchQueries: 30, CitationTokens: 20_000})
	if plain != withSearch || plain != 100+1000+5000 {
		t.Fatalf("sonar worst = %d / %d, want %d", plain, withSearch, 100+1000+5000)
	}
}
