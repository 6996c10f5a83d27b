// Package pricing turns a request's usage into money. A price book holds,
// per model, dated versions of the model's prices; the version in effect
// when a request started prices it, and the usage record keeps both the
// version and the computed cost, so a price change never rewrites history.
//
// Every amount is integer micro-dollars (package money). Token prices are
// per million tokens and per-request fees per thousand requests, as
// Perplexity lists them; a component that comes to a fraction of a
// micro-dollar is rounded up, and the total is the sum of the rounded
// components, so the parts always add up to the whole.
package pricing

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// ContextSize is Perplexity's search_context_size.
type ContextSize string

// The three search context sizes; low is the default.
const (
	ContextLow    ContextSize = "low"
	ContextMedium ContextSize = "medium"
	ContextHigh   ContextSize = "high"
)

// ParseContextSize accepts "", low, medium or high ("" is low).
func ParseContextSize(s string) (ContextSize, error) {
	switch ContextSize(strings.ToLower(s)) {
	case "", ContextLow:
		return ContextLow, nil
	case ContextMedium:
		return ContextMedium, nil
	case ContextHigh:
		return ContextHigh, nil
	}
	return "", platform.Invalid("web_search_options.search_context_size", "search_context_size must be low, medium or high, not %q", s)
}

// Price is one version of a model's prices.
type Price struct {
	ID            string    `json:"id"`
	Model         string    `json:"model"`
	EffectiveFrom time.Time `json:"effective_from"`
	// Per 1M tokens.
	InputPer1M     money.Micros `json:"input_per_1m_micros"`
	OutputPer1M    money.Micros `json:"output_per_1m_micros"`
	ReasoningPer1M money.Micros `json:"reasoning_per_1m_micros"`
	CitationPer1M  money.Micros `json:"citation_per_1m_micros"`
	// Per 1K search queries (Deep Research bills searches).
	SearchPer1K money.Micros `json:"search_queries_per_1k_micros"`
	// Per 1K requests, by search context size.
	RequestPer1K map[ContextSize]money.Micros `json:"request_per_1k_micros"`
}

// maxUnitPrice bounds any single price: a million dollars per million
// tokens is far beyond any model, and keeps every product in range.
const maxUnitPrice = 1_000_000 * money.PerDollar

// Validate refuses negative, absurd or incomplete prices.
func (p *Price) Validate() error {
	if strings.TrimSpace(p.Model) == "" {
		return platform.Invalid("model", "a price needs the model it applies to")
	}
	fields := []struct {
		name string
		v    money.Micros
	}{
		{"input_per_1m_micros", p.InputPer1M}, {"output_per_1m_micros", p.OutputPer1M},
		{"reasoning_per_1m_micros", p.ReasoningPer1M}, {"citation_per_1m_micros", p.CitationPer1M},
		{"search_queries_per_1k_micros", p.SearchPer1K},
	}
	for size, v := range p.RequestPer1K {
		if _, err := ParseContextSize(string(size)); err != nil || size == "" {
			return platform.Invalid("request_per_1k_micros", "request fees are keyed by low, medium or high, not %q", size)
		}
		fields = append(fields, struct {
			name string
			v    money.Micros
		}{"request_per_1k_micros." + string(size), v})
	}
	for _, f := range fields {
		if f.v < 0 {
			return platform.Invalid(f.name, "%s must not be negative (got %d)", f.name, f.v)
		}
		if f.v > maxUnitPrice {
			return platform.Invalid(f.name, "%s is %s dollars; the largest price accepted is %s", f.name, money.Decimal(f.v), money.Decimal(maxUnitPrice))
		}
	}
	if p.EffectiveFrom.IsZero() {
		return platform.Invalid("effective_from", "a price needs the time it takes effect")
	}
	return nil
}

// Usage is what a request consumed, as far as prices care.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	ReasoningTokens  int64
	CitationTokens   int64
	SearchQueries    int64
	ContextSize      ContextSize
	// Requests is how many request fees apply: 1 for a request that was
	// answered, 0 for one that failed before the model produced anything.
	Requests int64
}

// Cost is a priced request, component by component.
type Cost struct {
	PriceID   string
	Input     money.Micros
	Output    money.Micros
	Reasoning money.Micros
	Citation  money.Micros
	Search    money.Micros
	Request   money.Micros
	Total     money.Micros
}

// CostJSON is usage.cost as Perplexity writes it: USD numbers. Tollgate
// always writes every field (zero where nothing was charged), so a client
// summing total_cost never meets a null.
type CostJSON struct {
	Input     money.Dollars `json:"input_tokens_cost"`
	Output    money.Dollars `json:"output_tokens_cost"`
	Request   money.Dollars `json:"request_cost"`
	Citation  money.Dollars `json:"citation_tokens_cost"`
	Reasoning money.Dollars `json:"reasoning_tokens_cost"`
	Search    money.Dollars `json:"search_queries_cost"`
	Total     money.Dollars `json:"total_cost"`
}

// JSON returns c in Perplexity's wire shape.
func (c Cost) JSON() *CostJSON {
	return &CostJSON{Input: money.Dollars(c.Input), Output: money.Dollars(c.Output), Request: money.Dollars(c.Request),
		Citation: money.Dollars(c.Citation), Reasoning: money.Dollars(c.Reasoning), Search: money.Dollars(c.Search),
		Total: money.Dollars(c.Total)}
}

// Compute prices u at p.
func Compute(p *Price, u Usage) (Cost, error) {
	if u.PromptTokens < 0 || u.CompletionTokens < 0 || u.ReasoningTokens < 0 || u.CitationTokens < 0 || u.SearchQueries < 0 || u.Requests < 0 {
		return Cost{}, fmt.Errorf("pricing: negative usage %+v", u)
	}
	c := Cost{PriceID: p.ID}
	var err error
	step := func(dst *money.Micros, n int64, unit money.Micros, per int64) {
		if err != nil {
			return
		}
		*dst, err = money.MulDiv(n, int64(unit), per)
	}
	step(&c.Input, u.PromptTokens, p.InputPer1M, 1_000_000)
	step(&c.Output, u.CompletionTokens, p.OutputPer1M, 1_000_000)
	step(&c.Reasoning, u.ReasoningTokens, p.ReasoningPer1M, 1_000_000)
	step(&c.Citation, u.CitationTokens, p.CitationPer1M, 1_000_000)
	step(&c.Search, u.SearchQueries, p.SearchPer1K, 1_000)
	size := u.ContextSize
	if size == "" {
		size = ContextLow
	}
	step(&c.Request, u.Requests, p.RequestPer1K[size], 1_000)
	if err != nil {
		return Cost{}, fmt.Errorf("pricing %s: %w", p.Model, err)
	}
	for _, part := range []money.Micros{c.Input, c.Output, c.Reasoning, c.Citation, c.Search, c.Request} {
		if c.Total, err = money.Add(c.Total, part); err != nil {
			return Cost{}, fmt.Errorf("pricing %s: %w", p.Model, err)
		}
	}
	return c, nil
}

// Worst bounds what a request may still consume when it is admitted.
type Worst struct {
	PromptTokens    int64
	MaxOutputTokens int64
	ContextSize     ContextSize
	// CitationTokens, SearchQueries and ReasoningTokens bound what a model
	// that bills them apart (Deep Research) may use beyond its output; they
	// are not known before the call.
	CitationTokens  int64
	SearchQueries   int64
	ReasoningTokens int64
}

// MaxCost is the most a request can cost before it runs: its prompt, every
// output token it may produce (priced as the dearer of output and
// reasoning), the citation tokens and searches it may use when the model
// bills them, and its request fee. Reservations hold this much.
func MaxCost(p *Price, w Worst) (money.Micros, error) {
	out := p.OutputPer1M
	if p.ReasoningPer1M > out {
		out = p.ReasoningPer1M
	}
	worst := *p
	worst.OutputPer1M = out
	u := Usage{PromptTokens: w.PromptTokens, CompletionTokens: w.MaxOutputTokens, ContextSize: w.ContextSize, Requests: 1}
	if p.CitationPer1M > 0 {
		u.CitationTokens = w.CitationTokens
	}
	if p.SearchPer1K > 0 {
		u.SearchQueries = w.SearchQueries
	}
	if p.ReasoningPer1M > 0 {
		u.ReasoningTokens = w.ReasoningTokens
	}
	c, err := Compute(&worst, u)
	return c.Total, err
}

// Book is every price version of every model, newest last per model.
type Book struct {
	byModel map[string][]*Price
}

// NewBook indexes prices; versions of one model must have distinct
// effective times.
func NewBook(prices []*Price) (*Book, error) {
	b := &Book{byModel: map[string][]*Price{}}
	for _, p := range prices {
		if err := p.Validate(); err != nil {
			return nil, err
		}
		b.byModel[p.Model] = append(b.byModel[p.Model], p)
	}
	for m, vs := range b.byModel {
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].EffectiveFrom.Before(vs[j].EffectiveFrom) })
		for i := 1; i < len(vs); i++ {
			if vs[i].EffectiveFrom.Equal(vs[i-1].EffectiveFrom) {
				return nil, fmt.Errorf("pricing: two prices of %s take effect at %s", m, vs[i].EffectiveFrom.UTC().Format(time.RFC3339))
			}
		}
	}
	return b, nil
}

// At returns the price of model in effect at t, or nil when the model has
// none (it is then free: an operator's own model, say).
func (b *Book) At(model string, t time.Time) *Price {
	vs := b.byModel[model]
	i := sort.Search(len(vs), func(i int) bool { return vs[i].EffectiveFrom.After(t) })
	if i == 0 {
		return nil
	}
	return vs[i-1]
}

// All returns every version, by model then effective time.
func (b *Book) All() []*Price {
	models := make([]string, 0, len(b.byModel))
	for m := range b.byModel {
		models = append(models, m)
	}
	slices.Sort(models)
	var out []*Price
	for _, m := range models {
		out = append(out, b.byModel[m]...)
	}
	return out
}

// Free is the price of a model nobody priced: nothing.
var Free = &Price{ID: "price_free", Model: "*"}

// listDate is when the built-in list prices apply from: before any request
// this instance could have served.
var listDate = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func usd(d float64) money.Micros { return money.Micros(d * float64(money.PerDollar)) }

func fees(low, medium, high float64) map[ContextSize]money.Micros {
	return map[ContextSize]money.Micros{ContextLow: usd(low), ContextMedium: usd(medium), ContextHigh: usd(high)}
}

// Defaults are Perplexity's public list prices (docs.perplexity.ai,
// pricing, 2026) for the models the default catalog exposes. The float
// literals are exact whole or half dollars, converted once here.
func Defaults() []*Price {
	return []*Price{
		{ID: "price_list_sonar", Model: "sonar", EffectiveFrom: listDate, InputPer1M: usd(1), OutputPer1M: usd(1),
			RequestPer1K: fees(5, 8, 12)},
		{ID: "price_list_sonar-pro", Model: "sonar-pro", EffectiveFrom: listDate, InputPer1M: usd(3), OutputPer1M: usd(15),
			RequestPer1K: fees(6, 10, 14)},
		{ID: "price_list_sonar-reasoning-pro", Model: "sonar-reasoning-pro", EffectiveFrom: listDate, InputPer1M: usd(2), OutputPer1M: usd(8),
			RequestPer1K: fees(6, 10, 14)},
		{ID: "price_list_sonar-deep-research", Model: "sonar-deep-research", EffectiveFrom: listDate, InputPer1M: usd(2), OutputPer1M: usd(8),
			CitationPer1M: usd(2), SearchPer1K: usd(5), ReasoningPer1M: usd(3), RequestPer1K: map[ContextSize]money.Micros{}},
		// POST /search: $5 per 1K requests, no tokens.
		{ID: "price_list_search", Model: "search", EffectiveFrom: listDate, RequestPer1K: fees(5, 5, 5)},
	}
}
