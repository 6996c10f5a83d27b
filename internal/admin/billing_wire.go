package admin

import (
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// Wire types of usage, billing, caps, limits and prices. Every amount goes
// out twice: as integer micro-dollars in a field named *_micros (the value
// to compute with), and as a decimal string of dollars in the matching
// *_usd field (money.Format, six decimals; for people).

type accountJSON struct {
	Object               string       `json:"object"`
	OrgID                string       `json:"org_id"`
	BalanceMicros        money.Micros `json:"balance_micros"`
	BalanceUSD           string       `json:"balance_usd"`
	HeldMicros           money.Micros `json:"held_micros"`
	HeldUSD              string       `json:"held_usd"`
	AvailableMicros      money.Micros `json:"available_micros"`
	AvailableUSD         string       `json:"available_usd"`
	CreditLimitMicros    money.Micros `json:"credit_limit_micros"`
	CreditLimitUSD       string       `json:"credit_limit_usd"`
	LifetimeTopUpsMicros money.Micros `json:"lifetime_topups_micros"`
	LifetimeTopUpsUSD    string       `json:"lifetime_topups_usd"`
	Tier                 int          `json:"tier"`
	NextTierAtMicros     *int64       `json:"next_tier_at_micros,omitempty"`
	NextTierAtUSD        string       `json:"next_tier_at_usd,omitempty"`
	MonthlyGrantMicros   money.Micros `json:"monthly_grant_micros"`
	MonthlyGrantUSD      string       `json:"monthly_grant_usd"`
	GrantRemainingMicros money.Micros `json:"grant_remaining_micros"`
	GrantRemainingUSD    string       `json:"grant_remaining_usd"`
	GrantMonth           *time.Time   `json:"grant_month,omitempty"`
	UpdatedAt            *time.Time   `json:"updated_at,omitempty"`
}

func toAccount(a *billing.Account) accountJSON {
	out := accountJSON{Object: "billing_account", OrgID: a.OrgID,
		BalanceMicros: a.Balance, BalanceUSD: money.Format(a.Balance),
		HeldMicros: a.Held, HeldUSD: money.Format(a.Held),
		AvailableMicros: a.Available(), AvailableUSD: money.Format(a.Available()),
		CreditLimitMicros: a.CreditLimit, CreditLimitUSD: money.Format(a.CreditLimit),
		LifetimeTopUpsMicros: a.LifetimeTopUps, LifetimeTopUpsUSD: money.Format(a.LifetimeTopUps),
		Tier:               a.Tier,
		MonthlyGrantMicros: a.MonthlyGrant, MonthlyGrantUSD: money.Format(a.MonthlyGrant),
		GrantRemainingMicros: a.GrantRemaining, GrantRemainingUSD: money.Format(a.GrantRemaining),
		GrantMonth: optTime(a.GrantMonth), UpdatedAt: optTime(a.UpdatedAt)}
	if a.Tier < len(billing.TierThresholds) {
		next := billing.TierThresholds[a.Tier]
		n := int64(next)
		out.NextTierAtMicros, out.NextTierAtUSD = &n, money.Format(next)
	}
	return out
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

type transactionJSON struct {
	ID                 string       `json:"id"`
	Object             string       `json:"object"`
	Kind               billing.Kind `json:"kind"`
	AmountMicros       money.Micros `json:"amount_micros"`
	AmountUSD          string       `json:"amount_usd"`
	BalanceAfterMicros money.Micros `json:"balance_after_micros"`
	BalanceAfterUSD    string       `json:"balance_after_usd"`
	RequestID          string       `json:"request_id,omitempty"`
	GroupID            string       `json:"group_id,omitempty"`
	KeyID              string       `json:"key_id,omitempty"`
	Model              string       `json:"model,omitempty"`
	Reference          string       `json:"reference,omitempty"`
	Memo               string       `json:"memo,omitempty"`
	CreatedBy          string       `json:"created_by,omitempty"`
	CreatedAt          time.Time    `json:"created_at"`
}

func toTransaction(t *billing.Transaction) transactionJSON {
	return transactionJSON{ID: t.ID, Object: "ledger_transaction", Kind: t.Kind,
		AmountMicros: t.Amount, AmountUSD: money.Format(t.Amount),
		BalanceAfterMicros: t.BalanceAfter, BalanceAfterUSD: money.Format(t.BalanceAfter),
		RequestID: t.RequestID, GroupID: t.GroupID, KeyID: t.KeyID, Model: t.Model,
		Reference: t.Reference, Memo: t.Memo, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt.UTC()}
}

type usageRowJSON struct {
	Object           string       `json:"object"`
	Start            time.Time    `json:"start"`
	GroupID          string       `json:"group_id,omitempty"`
	KeyID            string       `json:"key_id,omitempty"`
	Model            string       `json:"model,omitempty"`
	Requests         int64        `json:"requests"`
	Errors           int64        `json:"errors"`
	PromptTokens     int64        `json:"prompt_tokens"`
	CompletionTokens int64        `json:"completion_tokens"`
	ReasoningTokens  int64        `json:"reasoning_tokens"`
	CitationTokens   int64        `json:"citation_tokens"`
	SearchQueries    int64        `json:"search_queries"`
	CostMicros       money.Micros `json:"cost_micros"`
	CostUSD          string       `json:"cost_usd"`
}

func toUsageRow(u billing.UsageRow) usageRowJSON {
	return usageRowJSON{Object: "usage_bucket", Start: u.Start.UTC(), GroupID: u.GroupID, KeyID: u.KeyID, Model: u.Model,
		Requests: u.Requests, Errors: u.Errors, PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		ReasoningTokens: u.ReasoningTokens, CitationTokens: u.CitationTokens, SearchQueries: u.SearchQueries,
		CostMicros: u.Cost, CostUSD: money.Format(u.Cost)}
}

// usageCSVHeader names the columns of GET /usage?format=csv; a column a
// query does not split by is empty.
var usageCSVHeader = []string{"start", "group_id", "key_id", "model", "requests", "errors", "prompt_tokens",
	"completion_tokens", "reasoning_tokens", "citation_tokens", "search_queries", "cost_micros", "cost_usd"}

func usageCSVRow(u billing.UsageRow) []string {
	return []string{u.Start.UTC().Format(time.RFC3339), u.GroupID, u.KeyID, u.Model, itoa(u.Requests), itoa(u.Errors),
		itoa(u.PromptTokens), itoa(u.CompletionTokens), itoa(u.ReasoningTokens), itoa(u.CitationTokens),
		itoa(u.SearchQueries), itoa(int64(u.Cost)), money.Format(u.Cost)}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

type usageReportJSON struct {
	Object      string              `json:"object"`
	Granularity billing.Granularity `json:"granularity"`
	From        time.Time           `json:"from"`
	To          time.Time           `json:"to"`
	By          []string            `json:"by"`
	Data        []usageRowJSON      `json:"data"`
	HasMore     bool                `json:"has_more"`
}

type statementLineJSON struct {
	GroupID          string       `json:"group_id"`
	Model            string       `json:"model"`
	Requests         int64        `json:"requests"`
	PromptTokens     int64        `json:"prompt_tokens"`
	CompletionTokens int64        `json:"completion_tokens"`
	ReasoningTokens  int64        `json:"reasoning_tokens"`
	CitationTokens   int64        `json:"citation_tokens"`
	SearchQueries    int64        `json:"search_queries"`
	CostMicros       money.Micros `json:"cost_micros"`
	CostUSD          string       `json:"cost_usd"`
}

type statementJSON struct {
	Object  string    `json:"object"`
	OrgID   string    `json:"org_id"`
	GroupID string    `json:"group_id,omitempty"`
	Month   string    `json:"month"`
	Start   time.Time `json:"period_start"`
	End     time.Time `json:"period_end"`
	// The organization's balance at the month's edges; a group statement
	// has none (a balance belongs to the organization).
	OpeningMicros *money.Micros                 `json:"opening_balance_micros,omitempty"`
	OpeningUSD    string                        `json:"opening_balance_usd,omitempty"`
	ClosingMicros *money.Micros                 `json:"closing_balance_micros,omitempty"`
	ClosingUSD    string                        `json:"closing_balance_usd,omitempty"`
	ByKindMicros  map[billing.Kind]money.Micros `json:"by_kind_micros"`
	ByKindUSD     map[billing.Kind]string       `json:"by_kind_usd"`
	Lines         []statementLineJSON           `json:"lines"`
	TotalMicros   money.Micros                  `json:"usage_total_micros"`
	TotalUSD      string                        `json:"usage_total_usd"`
}

func toStatement(s *billing.Statement, month time.Time) statementJSON {
	month = billing.MonthOf(month)
	out := statementJSON{Object: "billing_statement", OrgID: s.OrgID, GroupID: s.GroupID, Month: month.Format("2006-01"),
		Start: month, End: month.AddDate(0, 1, 0),
		ByKindMicros: map[billing.Kind]money.Micros{}, ByKindUSD: map[billing.Kind]string{},
		Lines: make([]statementLineJSON, 0, len(s.Lines)), TotalMicros: s.Total, TotalUSD: money.Format(s.Total)}
	if s.GroupID == "" {
		opening, closing := s.Opening, s.Closing
		out.OpeningMicros, out.OpeningUSD = &opening, money.Format(opening)
		out.ClosingMicros, out.ClosingUSD = &closing, money.Format(closing)
	}
	for k, v := range s.ByKind {
		out.ByKindMicros[k], out.ByKindUSD[k] = v, money.Format(v)
	}
	for _, l := range s.Lines {
		out.Lines = append(out.Lines, statementLineJSON{GroupID: l.GroupID, Model: l.Model, Requests: l.Requests,
			PromptTokens: l.PromptTokens, CompletionTokens: l.CompletionTokens, ReasoningTokens: l.ReasoningTokens,
			CitationTokens: l.CitationTokens, SearchQueries: l.SearchQueries, CostMicros: l.Cost, CostUSD: money.Format(l.Cost)})
	}
	return out
}

// statementCSVHeader names the columns of a statement's CSV: one row per
// group and model, whose cost_micros add up to the JSON's usage_total_micros.
var statementCSVHeader = []string{"month", "group_id", "model", "requests", "prompt_tokens", "completion_tokens",
	"reasoning_tokens", "citation_tokens", "search_queries", "cost_micros", "cost_usd"}

func statementCSV(s *billing.Statement, month time.Time) [][]string {
	m := billing.MonthOf(month).Format("2006-01")
	rows := [][]string{statementCSVHeader}
	for _, l := range s.Lines {
		rows = append(rows, []string{m, l.GroupID, l.Model, itoa(l.Requests), itoa(l.PromptTokens), itoa(l.CompletionTokens),
			itoa(l.ReasoningTokens), itoa(l.CitationTokens), itoa(l.SearchQueries), itoa(int64(l.Cost)), money.Format(l.Cost)})
	}
	return rows
}

type capJSON struct {
	Object           string            `json:"object"`
	Scope            billing.ScopeKind `json:"scope"`
	ScopeID          string            `json:"scope_id"`
	MonthlyCapMicros money.Micros      `json:"monthly_cap_micros"`
	MonthlyCapUSD    string            `json:"monthly_cap_usd"`
	SpentMicros      money.Micros      `json:"spent_micros"`
	SpentUSD         string            `json:"spent_usd"`
	HeldMicros       money.Micros      `json:"held_micros"`
	HeldUSD          string            `json:"held_usd"`
	// Remaining is what new requests may still reserve this month.
	RemainingMicros money.Micros `json:"remaining_micros"`
	RemainingUSD    string       `json:"remaining_usd"`
	UpdatedAt       *time.Time   `json:"updated_at,omitempty"`
}

func toCap(c *billing.Cap) capJSON {
	rem := max(c.Monthly-c.Spent-c.HeldNow, 0)
	return capJSON{Object: "spend_cap", Scope: c.Scope.Kind, ScopeID: c.Scope.ID,
		MonthlyCapMicros: c.Monthly, MonthlyCapUSD: money.Format(c.Monthly),
		SpentMicros: c.Spent, SpentUSD: money.Format(c.Spent), HeldMicros: c.HeldNow, HeldUSD: money.Format(c.HeldNow),
		RemainingMicros: rem, RemainingUSD: money.Format(rem), UpdatedAt: optTime(c.UpdatedAt)}
}

type limitJSON struct {
	Object      string            `json:"object"`
	Scope       billing.ScopeKind `json:"scope"`
	ScopeID     string            `json:"scope_id"`
	Model       string            `json:"model,omitempty"`
	RPM         int64             `json:"rpm"`
	TPM         int64             `json:"tpm"`
	Concurrency int64             `json:"concurrency"`
	UpdatedAt   *time.Time        `json:"updated_at,omitempty"`
	// Deleted is set on the answer to a PUT whose every limit was zero.
	Deleted bool `json:"deleted,omitempty"`
}

func toLimit(l *billing.Limit) limitJSON {
	return limitJSON{Object: "rate_limit", Scope: l.Scope.Kind, ScopeID: l.Scope.ID, Model: l.Model,
		RPM: l.RPM, TPM: l.TPM, Concurrency: l.Concurrency, UpdatedAt: optTime(l.UpdatedAt)}
}

// amountJSON is one price component: micro-dollars and dollars.
type amountJSON struct {
	Micros money.Micros `json:"micros"`
	USD    string       `json:"usd"`
}

func amount(m money.Micros) amountJSON { return amountJSON{Micros: m, USD: money.Format(m)} }

type priceJSON struct {
	ID                       string                               `json:"id"`
	Object                   string                               `json:"object"`
	Model                    string                               `json:"model"`
	EffectiveFrom            time.Time                            `json:"effective_from"`
	InEffect                 bool                                 `json:"in_effect"`
	InputPer1MMicros         money.Micros                         `json:"input_per_1m_micros"`
	InputPer1MUSD            string                               `json:"input_per_1m_usd"`
	OutputPer1MMicros        money.Micros                         `json:"output_per_1m_micros"`
	OutputPer1MUSD           string                               `json:"output_per_1m_usd"`
	ReasoningPer1MMicros     money.Micros                         `json:"reasoning_per_1m_micros"`
	ReasoningPer1MUSD        string                               `json:"reasoning_per_1m_usd"`
	CitationPer1MMicros      money.Micros                         `json:"citation_per_1m_micros"`
	CitationPer1MUSD         string                               `json:"citation_per_1m_usd"`
	SearchQueriesPer1KMicros money.Micros                         `json:"search_queries_per_1k_micros"`
	SearchQueriesPer1KUSD    string                               `json:"search_queries_per_1k_usd"`
	RequestPer1KMicros       map[pricing.ContextSize]money.Micros `json:"request_per_1k_micros"`
	RequestPer1KUSD          map[pricing.ContextSize]string       `json:"request_per_1k_usd"`
}

func toPrice(p *pricing.Price, inEffect bool) priceJSON {
	out := priceJSON{ID: p.ID, Object: "price", Model: p.Model, EffectiveFrom: p.EffectiveFrom.UTC(), InEffect: inEffect,
		InputPer1MMicros: p.InputPer1M, InputPer1MUSD: money.Format(p.InputPer1M),
		OutputPer1MMicros: p.OutputPer1M, OutputPer1MUSD: money.Format(p.OutputPer1M),
		ReasoningPer1MMicros: p.ReasoningPer1M, ReasoningPer1MUSD: money.Format(p.ReasoningPer1M),
		CitationPer1MMicros: p.CitationPer1M, CitationPer1MUSD: money.Format(p.CitationPer1M),
		SearchQueriesPer1KMicros: p.SearchPer1K, SearchQueriesPer1KUSD: money.Format(p.SearchPer1K),
		RequestPer1KMicros: map[pricing.ContextSize]money.Micros{}, RequestPer1KUSD: map[pricing.ContextSize]string{}}
	for size, v := range p.RequestPer1K {
		out.RequestPer1KMicros[size], out.RequestPer1KUSD[size] = v, money.Format(v)
	}
	return out
}

// costJSON is a usage record's priced cost, component by component.
type costJSON struct {
	PriceID   string     `json:"price_id,omitempty"`
	Input     amountJSON `json:"input"`
	Output    amountJSON `json:"output"`
	Reasoning amountJSON `json:"reasoning"`
	Citation  amountJSON `json:"citation"`
	Search    amountJSON `json:"search_queries"`
	Request   amountJSON `json:"request"`
	Total     amountJSON `json:"total"`
}

type usageRecordJSON struct {
	Object           string              `json:"object"`
	RequestID        string              `json:"request_id"`
	GroupID          string              `json:"group_id,omitempty"`
	KeyID            string              `json:"key_id,omitempty"`
	Endpoint         string              `json:"endpoint"`
	Model            string              `json:"model"`
	ServedBy         string              `json:"served_by,omitempty"`
	Deployment       string              `json:"deployment,omitempty"`
	Stream           bool                `json:"stream"`
	PromptTokens     int                 `json:"prompt_tokens"`
	CompletionTokens int                 `json:"completion_tokens"`
	ReasoningTokens  int                 `json:"reasoning_tokens"`
	TotalTokens      int                 `json:"total_tokens"`
	CitationTokens   int                 `json:"citation_tokens"`
	SearchQueries    int                 `json:"search_queries"`
	ContextSize      pricing.ContextSize `json:"search_context_size,omitempty"`
	TokensEstimated  bool                `json:"tokens_estimated"`
	Cost             costJSON            `json:"cost"`
	Status           int                 `json:"status"`
	Outcome          metering.Outcome    `json:"outcome"`
	Error            string              `json:"error,omitempty"`
	Attempts         int                 `json:"attempts"`
	StartedAt        time.Time           `json:"started_at"`
	LatencyMS        int64               `json:"latency_ms"`
	TTFTMS           int64               `json:"ttft_ms,omitempty"`
}

func toUsageRecord(r *metering.Record) usageRecordJSON {
	c := r.Cost
	return usageRecordJSON{Object: "usage_record", RequestID: r.RequestID, GroupID: r.GroupID, KeyID: r.KeyID,
		Endpoint: r.Endpoint, Model: r.Model, ServedBy: r.ServedBy, Deployment: r.Deployment, Stream: r.Stream,
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, ReasoningTokens: r.ReasoningTokens,
		TotalTokens: r.TotalTokens, CitationTokens: r.CitationTokens, SearchQueries: r.SearchQueries,
		ContextSize: r.ContextSize, TokensEstimated: r.TokensEstimated,
		Cost: costJSON{PriceID: c.PriceID, Input: amount(c.Input), Output: amount(c.Output), Reasoning: amount(c.Reasoning),
			Citation: amount(c.Citation), Search: amount(c.Search), Request: amount(c.Request), Total: amount(c.Total)},
		Status: r.Status, Outcome: r.Outcome, Error: r.Error, Attempts: r.Attempts, StartedAt: r.StartedAt.UTC(),
		LatencyMS: r.Latency.Milliseconds(), TTFTMS: r.TTFT.Milliseconds()}
}
