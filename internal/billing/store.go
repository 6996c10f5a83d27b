package billing

import (
	"context"
	"time"

	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// Granularity is the bucket size of a usage query.
type Granularity string

// Granularities. Minute and hour buckets are read from per-minute rollups,
// day buckets from per-day rollups; raw records are never scanned.
const (
	Minute Granularity = "minute"
	Hour   Granularity = "hour"
	Day    Granularity = "day"
)

// UsageQuery selects usage of one organization.
type UsageQuery struct {
	OrgID       string
	GroupID     string // "" = every group
	KeyID       string // "" = every key
	Model       string // "" = every model
	From, To    time.Time
	Granularity Granularity
	// By splits rows further: any of "group", "key", "model".
	By []string
}

// UsageRow is one bucket of usage.
type UsageRow struct {
	Start            time.Time    `json:"start"`
	GroupID          string       `json:"group_id,omitempty"`
	KeyID            string       `json:"key_id,omitempty"`
	Model            string       `json:"model,omitempty"`
	Requests         int64        `json:"requests"`
	Errors           int64        `json:"errors"` // outcome error or aborted
	PromptTokens     int64        `json:"prompt_tokens"`
	CompletionTokens int64        `json:"completion_tokens"`
	ReasoningTokens  int64        `json:"reasoning_tokens"`
	CitationTokens   int64        `json:"citation_tokens"`
	SearchQueries    int64        `json:"search_queries"`
	Cost             money.Micros `json:"cost_micros"`
}

// LedgerFilter pages through an organization's ledger, newest first.
type LedgerFilter struct {
	Kind     Kind
	GroupID  string
	From, To time.Time // zero: unbounded
	Before   string    // cursor: a transaction ID; "" starts at the newest
	Limit    int
}

// Statement is one month of an organization's (or one group's) billing.
type Statement struct {
	OrgID   string    `json:"org_id"`
	GroupID string    `json:"group_id,omitempty"`
	Month   time.Time `json:"month"`
	// Opening and Closing are the organization's balance at the month's
	// first and last instant (omitted for a group statement).
	Opening money.Micros `json:"opening_balance_micros"`
	Closing money.Micros `json:"closing_balance_micros"`
	// Credits and debits by kind (top-ups, grants, refunds, adjustments,
	// usage, grant expiry).
	ByKind map[Kind]money.Micros `json:"by_kind_micros"`
	// Lines are the month's usage per group and model.
	Lines []StatementLine `json:"lines"`
	Total money.Micros    `json:"usage_total_micros"`
}

// StatementLine is one group's use of one model in a month.
type StatementLine struct {
	GroupID          string       `json:"group_id"`
	Model            string       `json:"model"`
	Requests         int64        `json:"requests"`
	PromptTokens     int64        `json:"prompt_tokens"`
	CompletionTokens int64        `json:"completion_tokens"`
	ReasoningTokens  int64        `json:"reasoning_tokens"`
	CitationTokens   int64        `json:"citation_tokens"`
	SearchQueries    int64        `json:"search_queries"`
	Cost             money.Micros `json:"cost_micros"`
}

// Store persists billing. Implementations must be safe for concurrent use
// by many processes sharing one database.
type Store interface {
	// Policy reads the caller's account (granting the month's grant first
	// when due), the limits and the caps that apply to model.
	Policy(ctx context.Context, orgID, groupID, keyID, model string, now time.Time) (*Policy, error)

	// Reserve places h if, in one transaction, the organization's available
	// credits (when requireCredits) and every cap of the org, group and key
	// for h.Month have room for h.Amount; otherwise it writes nothing and
	// returns a KindPaymentRequired error (see Refusal) that says which.
	Reserve(ctx context.Context, h *Hold, requireCredits bool) error
	// ReleaseHold drops a hold whose request never ran (idempotent).
	ReleaseHold(ctx context.Context, requestID string) error
	// ExpireHolds drops holds that expired before now (their process died)
	// and returns how many.
	ExpireHolds(ctx context.Context, now time.Time) (int, error)

	// Settle writes a batch of finished requests in one transaction. For
	// each whose request ID is new it inserts the usage record, debits the
	// ledger by its cost (a usage transaction, when the cost is not zero),
	// adds to this month's spend of its org, group and key, adds to the
	// minute and day rollups, and releases its hold. A request ID already
	// settled is skipped entirely: new[i] reports which were new.
	Settle(ctx context.Context, batch []*Settlement) (new []bool, err error)

	// Post writes a manual transaction (top-up, grant, refund, adjustment)
	// and returns it with its ID and BalanceAfter. A top-up raises the
	// lifetime purchases and the tier (never lowered). A transaction whose
	// Reference was already posted for the org returns that one instead.
	// A refund that would take the balance below zero is refused.
	Post(ctx context.Context, t *Transaction, by platform.Actor) (*Transaction, error)
	// Account returns the organization's account (granting the month's
	// grant first when due).
	Account(ctx context.Context, orgID string, now time.Time) (*Account, error)
	UpdateSettings(ctx context.Context, orgID string, s Settings, by platform.Actor) (*Account, error)
	Ledger(ctx context.Context, orgID string, f LedgerFilter) ([]*Transaction, error)
	Statement(ctx context.Context, orgID, groupID string, month time.Time) (*Statement, error)

	// Limits and caps. Set replaces the setting for (scope, model); a
	// setting with every field zero deletes it.
	SetLimit(ctx context.Context, l *Limit, by platform.Actor) (*Limit, error)
	ListLimits(ctx context.Context, orgID string, scope *Scope) ([]*Limit, error)
	SetCap(ctx context.Context, c *Cap, by platform.Actor) (*Cap, error)
	DeleteCap(ctx context.Context, orgID string, scope Scope, by platform.Actor) error
	ListCaps(ctx context.Context, orgID string, month time.Time) ([]*Cap, error)

	// Prices (instance-wide). AddPrice refuses (conflict) a second version
	// of a model at the same effective time.
	ListPrices(ctx context.Context) ([]*pricing.Price, error)
	AddPrice(ctx context.Context, p *pricing.Price, by platform.Actor) (*pricing.Price, error)

	// Usage reads rollups only.
	Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error)
	// UsageRecord returns one raw record (for support: "what did request X
	// cost?") while it is retained.
	UsageRecord(ctx context.Context, orgID, requestID string) (*metering.Record, error)
	// PruneUsage deletes raw records that started before cutoff, and
	// minute rollups before minuteCutoff; day rollups are kept.
	PruneUsage(ctx context.Context, cutoff, minuteCutoff time.Time) (int, error)
}
