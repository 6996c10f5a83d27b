package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Scopes of caps and limits.
const (
	ScopeOrg   = "org"
	ScopeGroup = "group"
	ScopeKey   = "key"
)

// Cap is a monthly spend cap with this month's spend and holds.
type Cap struct {
	Object           string     `json:"object"`
	Scope            string     `json:"scope"`
	ScopeID          string     `json:"scope_id"`
	MonthlyCapMicros int64      `json:"monthly_cap_micros"`
	MonthlyCapUSD    string     `json:"monthly_cap_usd"`
	SpentMicros      int64      `json:"spent_micros"`
	SpentUSD         string     `json:"spent_usd"`
	HeldMicros       int64      `json:"held_micros"`
	HeldUSD          string     `json:"held_usd"`
	RemainingMicros  int64      `json:"remaining_micros"`
	RemainingUSD     string     `json:"remaining_usd"`
	UpdatedAt        *time.Time `json:"updated_at,omitempty"`
}

// Caps lists the organization's spend caps.
func (c *Client) Caps(ctx context.Context) ([]Cap, error) {
	var l list[Cap]
	if err := c.do(ctx, http.MethodGet, "/billing/caps", nil, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		l.Data = []Cap{}
	}
	return l.Data, nil
}

// SetCap sets the monthly spend cap of a scope (org, group or key; a group
// may be named by ID or name). A cap of zero blocks all spend.
func (c *Client) SetCap(ctx context.Context, scope, scopeID string, monthlyMicros int64) (*Cap, error) {
	body := struct {
		MonthlyCapMicros int64 `json:"monthly_cap_micros"`
	}{monthlyMicros}
	var out Cap
	if err := c.do(ctx, http.MethodPut, scopePath("/billing/caps", scope, scopeID), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCap removes a scope's spend cap.
func (c *Client) DeleteCap(ctx context.Context, scope, scopeID string) error {
	return c.do(ctx, http.MethodDelete, scopePath("/billing/caps", scope, scopeID), nil, nil)
}

func scopePath(base, scope, id string) string { return base + "/" + pathID(scope) + "/" + pathID(id) }

// Limit is a rate-limit setting; Model "" applies to every model, and a
// zero field sets no limit of that kind.
type Limit struct {
	Object      string     `json:"object"`
	Scope       string     `json:"scope"`
	ScopeID     string     `json:"scope_id"`
	Model       string     `json:"model,omitempty"`
	RPM         int64      `json:"rpm"`
	TPM         int64      `json:"tpm"`
	Concurrency int64      `json:"concurrency"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	Deleted     bool       `json:"deleted,omitempty"`
}

// LimitSetting is what SetLimit sets. Every field zero deletes the setting.
type LimitSetting struct {
	Model       string `json:"model,omitempty"`
	RPM         int64  `json:"rpm"`
	TPM         int64  `json:"tpm"`
	Concurrency int64  `json:"concurrency"`
}

// Limits lists rate-limit settings: all of them, or one scope's when scope
// is set.
func (c *Client) Limits(ctx context.Context, scope, scopeID string) ([]Limit, error) {
	v := url.Values{}
	set(v, "scope", scope)
	set(v, "scope_id", scopeID)
	var l list[Limit]
	if err := c.do(ctx, http.MethodGet, "/limits"+query(v), nil, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		l.Data = []Limit{}
	}
	return l.Data, nil
}

// SetLimit replaces the rate limit of a scope for s.Model (or every model).
func (c *Client) SetLimit(ctx context.Context, scope, scopeID string, s LimitSetting) (*Limit, error) {
	var out Limit
	if err := c.do(ctx, http.MethodPut, scopePath("/limits", scope, scopeID), s, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Price is one version of a model's prices.
type Price struct {
	ID                       string            `json:"id"`
	Object                   string            `json:"object"`
	Model                    string            `json:"model"`
	EffectiveFrom            time.Time         `json:"effective_from"`
	InEffect                 bool              `json:"in_effect"`
	InputPer1MMicros         int64             `json:"input_per_1m_micros"`
	InputPer1MUSD            string            `json:"input_per_1m_usd"`
	OutputPer1MMicros        int64             `json:"output_per_1m_micros"`
	OutputPer1MUSD           string            `json:"output_per_1m_usd"`
	ReasoningPer1MMicros     int64             `json:"reasoning_per_1m_micros"`
	ReasoningPer1MUSD        string            `json:"reasoning_per_1m_usd"`
	CitationPer1MMicros      int64             `json:"citation_per_1m_micros"`
	CitationPer1MUSD         string            `json:"citation_per_1m_usd"`
	SearchQueriesPer1KMicros int64             `json:"search_queries_per_1k_micros"`
	SearchQueriesPer1KUSD    string            `json:"search_queries_per_1k_usd"`
	RequestPer1KMicros       map[string]int64  `json:"request_per_1k_micros"`
	RequestPer1KUSD          map[string]string `json:"request_per_1k_usd"`
}

// Prices lists the price book: every version of every model, by model then
// effective time; InEffect marks the version that prices requests now.
func (c *Client) Prices(ctx context.Context) ([]Price, error) {
	var l list[Price]
	if err := c.do(ctx, http.MethodGet, "/prices", nil, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		l.Data = []Price{}
	}
	return l.Data, nil
}
