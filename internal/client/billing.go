package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Amounts in this file are integer micro-dollars (1 USD = 1,000,000) in
// fields named *Micros, as the API sends them; the matching *USD strings
// are the same amounts written in dollars, for display.

// Account is the organization's prepaid credit account.
type Account struct {
	Object               string     `json:"object"`
	OrgID                string     `json:"org_id"`
	BalanceMicros        int64      `json:"balance_micros"`
	BalanceUSD           string     `json:"balance_usd"`
	HeldMicros           int64      `json:"held_micros"`
	HeldUSD              string     `json:"held_usd"`
	AvailableMicros      int64      `json:"available_micros"`
	AvailableUSD         string     `json:"available_usd"`
	CreditLimitMicros    int64      `json:"credit_limit_micros"`
	CreditLimitUSD       string     `json:"credit_limit_usd"`
	LifetimeTopUpsMicros int64      `json:"lifetime_topups_micros"`
	LifetimeTopUpsUSD    string     `json:"lifetime_topups_usd"`
	Tier                 int        `json:"tier"`
	NextTierAtMicros     *int64     `json:"next_tier_at_micros,omitempty"`
	NextTierAtUSD        string     `json:"next_tier_at_usd,omitempty"`
	MonthlyGrantMicros   int64      `json:"monthly_grant_micros"`
	MonthlyGrantUSD      string     `json:"monthly_grant_usd"`
	GrantRemainingMicros int64      `json:"grant_remaining_micros"`
	GrantRemainingUSD    string     `json:"grant_remaining_usd"`
	GrantMonth           *time.Time `json:"grant_month,omitempty"`
	UpdatedAt            *time.Time `json:"updated_at,omitempty"`
}

// Balance returns the organization's account: balance, holds, credit
// limit, tier and monthly grant.
func (c *Client) Balance(ctx context.Context) (*Account, error) {
	var a Account
	if err := c.do(ctx, http.MethodGet, "/billing/balance", nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// BillingSettings holds the account settings to change; nil means
// unchanged.
type BillingSettings struct {
	CreditLimitMicros  *int64 `json:"credit_limit_micros,omitempty"`
	MonthlyGrantMicros *int64 `json:"monthly_grant_micros,omitempty"`
}

// UpdateBillingSettings changes the credit limit (how far below zero the
// balance may go) or the monthly grant.
func (c *Client) UpdateBillingSettings(ctx context.Context, s BillingSettings) (*Account, error) {
	var a Account
	if err := c.do(ctx, http.MethodPatch, "/billing/settings", s, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Transaction is one ledger transaction; AmountMicros is signed as the
// organization sees it (credits added are positive).
type Transaction struct {
	ID                 string    `json:"id"`
	Object             string    `json:"object"`
	Kind               string    `json:"kind"`
	AmountMicros       int64     `json:"amount_micros"`
	AmountUSD          string    `json:"amount_usd"`
	BalanceAfterMicros int64     `json:"balance_after_micros"`
	BalanceAfterUSD    string    `json:"balance_after_usd"`
	RequestID          string    `json:"request_id,omitempty"`
	GroupID            string    `json:"group_id,omitempty"`
	KeyID              string    `json:"key_id,omitempty"`
	Model              string    `json:"model,omitempty"`
	Reference          string    `json:"reference,omitempty"`
	Memo               string    `json:"memo,omitempty"`
	CreatedBy          string    `json:"created_by,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
}

// Ledger transaction kinds a caller may post (usage and grant_expiry are
// written by the server).
const (
	KindTopUp      = "topup"
	KindGrant      = "grant"
	KindRefund     = "refund"
	KindAdjustment = "adjustment"
)

// PostRequest is a manual money movement.
type PostRequest struct {
	// AmountMicros is positive, except for an adjustment, which may take
	// credits away with a negative amount.
	AmountMicros int64
	Memo         string
	// IdempotencyKey makes a retried call post once: a second call with the
	// same key returns the first transaction.
	IdempotencyKey string
}

// Post tops up, grants, refunds or adjusts (kind is one of the Kind
// constants) the organization's credits.
func (c *Client) Post(ctx context.Context, kind string, r PostRequest) (*Transaction, error) {
	path := map[string]string{KindTopUp: "/billing/topups", KindGrant: "/billing/grants",
		KindRefund: "/billing/refunds", KindAdjustment: "/billing/adjustments"}[kind]
	if path == "" {
		return nil, fmt.Errorf("unknown transaction kind %q: use topup, grant, refund or adjustment", kind)
	}
	body := struct {
		AmountMicros int64  `json:"amount_micros"`
		Memo         string `json:"memo,omitempty"`
	}{r.AmountMicros, r.Memo}
	var hdr http.Header
	if r.IdempotencyKey != "" {
		hdr = http.Header{"Idempotency-Key": {r.IdempotencyKey}}
	}
	var t Transaction
	if err := c.doWith(ctx, http.MethodPost, path, hdr, body, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// LedgerQuery filters and pages the ledger; zero fields do not filter.
type LedgerQuery struct {
	Kind     string
	Group    string // a group ID or name
	From, To time.Time
	Before   string // a previous page's NextCursor
	Limit    int
}

// LedgerPage is one page of the ledger, newest first.
type LedgerPage struct {
	Data       []Transaction
	HasMore    bool
	NextCursor string
}

// Ledger lists transactions, newest first, one page at a time.
func (c *Client) Ledger(ctx context.Context, q LedgerQuery) (*LedgerPage, error) {
	v := url.Values{}
	set(v, "kind", q.Kind)
	set(v, "group", q.Group)
	setTime(v, "from", q.From)
	setTime(v, "to", q.To)
	set(v, "before", q.Before)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var l list[Transaction]
	if err := c.do(ctx, http.MethodGet, "/billing/ledger"+query(v), nil, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		l.Data = []Transaction{}
	}
	return &LedgerPage{Data: l.Data, HasMore: l.HasMore, NextCursor: l.NextCursor}, nil
}

// StatementLine is one group's use of one model in a month.
type StatementLine struct {
	GroupID          string `json:"group_id"`
	Model            string `json:"model"`
	Requests         int64  `json:"requests"`
	PromptTokens     int64  `json:"prompt_tokens"`
	CompletionTokens int64  `json:"completion_tokens"`
	ReasoningTokens  int64  `json:"reasoning_tokens"`
	CitationTokens   int64  `json:"citation_tokens"`
	SearchQueries    int64  `json:"search_queries"`
	CostMicros       int64  `json:"cost_micros"`
	CostUSD          string `json:"cost_usd"`
}

// Statement is one month of the organization's (or one group's) billing.
type Statement struct {
	Object        string            `json:"object"`
	OrgID         string            `json:"org_id"`
	GroupID       string            `json:"group_id,omitempty"`
	Month         string            `json:"month"`
	PeriodStart   time.Time         `json:"period_start"`
	PeriodEnd     time.Time         `json:"period_end"`
	OpeningMicros *int64            `json:"opening_balance_micros,omitempty"`
	OpeningUSD    string            `json:"opening_balance_usd,omitempty"`
	ClosingMicros *int64            `json:"closing_balance_micros,omitempty"`
	ClosingUSD    string            `json:"closing_balance_usd,omitempty"`
	ByKindMicros  map[string]int64  `json:"by_kind_micros"`
	ByKindUSD     map[string]string `json:"by_kind_usd"`
	Lines         []StatementLine   `json:"lines"`
	TotalMicros   int64             `json:"usage_total_micros"`
	TotalUSD      string            `json:"usage_total_usd"`
}

// Statement returns the statement of month ("2026-11"), of the whole
// organization or, when group (an ID or name) is set, of one group.
func (c *Client) Statement(ctx context.Context, month, group string) (*Statement, error) {
	var s Statement
	if err := c.do(ctx, http.MethodGet, statementPath(month, group, false), nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// StatementCSV returns the statement's lines as CSV, header first.
func (c *Client) StatementCSV(ctx context.Context, month, group string) ([]byte, error) {
	return c.getCSV(ctx, statementPath(month, group, true))
}

func statementPath(month, group string, csv bool) string {
	v := url.Values{}
	set(v, "group", group)
	if csv {
		v.Set("format", "csv")
	}
	return "/billing/statements/" + pathID(month) + query(v)
}

// set adds a query parameter when it has a value.
func set(v url.Values, name, value string) {
	if value != "" {
		v.Set(name, value)
	}
}

func setTime(v url.Values, name string, t time.Time) {
	if !t.IsZero() {
		v.Set(name, t.UTC().Format(time.RFC3339))
	}
}

// query renders v as "?a=b", or "" when empty.
func query(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// joinComma joins the non-empty values of ss with commas.
func joinComma(ss []string) string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ",")
}
