package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// UsageQuery selects usage; zero fields do not filter, and the server
// picks the range (the last 30 days, or the last hour by the minute) and
// the granularity (day) when they are not set.
type UsageQuery struct {
	Group       string // a group ID or name
	Key         string // a key ID
	Model       string
	From, To    time.Time
	Granularity string // minute, hour or day
	// By splits the rows further: any of "group", "key", "model".
	By []string
}

// UsageRow is one bucket of usage.
type UsageRow struct {
	Object           string    `json:"object"`
	Start            time.Time `json:"start"`
	GroupID          string    `json:"group_id,omitempty"`
	KeyID            string    `json:"key_id,omitempty"`
	Model            string    `json:"model,omitempty"`
	Requests         int64     `json:"requests"`
	Errors           int64     `json:"errors"`
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	ReasoningTokens  int64     `json:"reasoning_tokens"`
	CitationTokens   int64     `json:"citation_tokens"`
	SearchQueries    int64     `json:"search_queries"`
	CostMicros       int64     `json:"cost_micros"`
	CostUSD          string    `json:"cost_usd"`
}

// UsageReport is the answer to a usage query: the range and granularity
// the server used, and the buckets.
type UsageReport struct {
	Object      string     `json:"object"`
	Granularity string     `json:"granularity"`
	From        time.Time  `json:"from"`
	To          time.Time  `json:"to"`
	By          []string   `json:"by"`
	Data        []UsageRow `json:"data"`
	HasMore     bool       `json:"has_more"`
}

// Usage reads usage, from the server's rollups.
func (c *Client) Usage(ctx context.Context, q UsageQuery) (*UsageReport, error) {
	var r UsageReport
	if err := c.do(ctx, http.MethodGet, "/usage"+query(q.values(false)), nil, &r); err != nil {
		return nil, err
	}
	if r.Data == nil {
		r.Data = []UsageRow{}
	}
	return &r, nil
}

// UsageCSV reads usage as CSV, header first.
func (c *Client) UsageCSV(ctx context.Context, q UsageQuery) ([]byte, error) {
	return c.getCSV(ctx, "/usage"+query(q.values(true)))
}

func (q UsageQuery) values(csv bool) url.Values {
	v := url.Values{}
	set(v, "group", q.Group)
	set(v, "key", q.Key)
	set(v, "model", q.Model)
	setTime(v, "from", q.From)
	setTime(v, "to", q.To)
	set(v, "granularity", q.Granularity)
	set(v, "by", joinComma(q.By))
	if csv {
		v.Set("format", "csv")
	}
	return v
}

// Amount is one component of a cost, in micro-dollars and in dollars.
type Amount struct {
	Micros int64  `json:"micros"`
	USD    string `json:"usd"`
}

// Cost is a request's cost, component by component.
type Cost struct {
	PriceID       string `json:"price_id,omitempty"`
	Input         Amount `json:"input"`
	Output        Amount `json:"output"`
	Reasoning     Amount `json:"reasoning"`
	Citation      Amount `json:"citation"`
	SearchQueries Amount `json:"search_queries"`
	Request       Amount `json:"request"`
	Total         Amount `json:"total"`
}

// UsageRecord is the raw usage record of one request.
type UsageRecord struct {
	Object            string    `json:"object"`
	RequestID         string    `json:"request_id"`
	GroupID           string    `json:"group_id,omitempty"`
	KeyID             string    `json:"key_id,omitempty"`
	Endpoint          string    `json:"endpoint"`
	Model             string    `json:"model"`
	ServedBy          string    `json:"served_by,omitempty"`
	Deployment        string    `json:"deployment,omitempty"`
	Stream            bool      `json:"stream"`
	PromptTokens      int64     `json:"prompt_tokens"`
	CompletionTokens  int64     `json:"completion_tokens"`
	ReasoningTokens   int64     `json:"reasoning_tokens"`
	TotalTokens       int64     `json:"total_tokens"`
	CitationTokens    int64     `json:"citation_tokens"`
	SearchQueries     int64     `json:"search_queries"`
	SearchContextSize string    `json:"search_context_size,omitempty"`
	TokensEstimated   bool      `json:"tokens_estimated"`
	Cost              Cost      `json:"cost"`
	Status            int       `json:"status"`
	Outcome           string    `json:"outcome"`
	Error             string    `json:"error,omitempty"`
	Attempts          int       `json:"attempts"`
	StartedAt         time.Time `json:"started_at"`
	LatencyMS         int64     `json:"latency_ms"`
	TTFTMS            int64     `json:"ttft_ms,omitempty"`
}

// UsageRecord returns one request's raw usage record while the server
// retains it.
func (c *Client) UsageRecord(ctx context.Context, requestID string) (*UsageRecord, error) {
	var r UsageRecord
	if err := c.do(ctx, http.MethodGet, "/usage/records/"+pathID(requestID), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
