// Package billing is Tollgate's money: a prepaid, double-entry credit ledger
// per organization, usage tiers, monthly spend caps enforced with
// reservations, and the per-scope rate-limit settings admission reads. It
// holds domain types and rules only; persistence is behind Store (package
// sqlstore implements it on SQLite and PostgreSQL, where every check and
// every write that must agree happen in one transaction).
//
// The life of a request's money: Reserve holds the most the request can
// cost against the organization's balance and every cap that applies (all
// or nothing, atomically, across replicas, because the database is the
// source of truth); the call runs; Settle writes the usage record, debits
// the ledger by the real cost, counts it against the caps and the usage
// rollups, and releases the hold, in one transaction that is idempotent by
// request ID. A request whose hold cannot be placed never reaches an
// upstream; a hold whose request died with its process expires.
package billing

import (
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Kind is the kind of a ledger transaction.
type Kind string

// Ledger transaction kinds. Amount signs are as the organization sees
// them: positive adds credits.
const (
	KindTopUp       Kind = "topup"        // a purchase (raises lifetime purchases, hence the tier)
	KindGrant       Kind = "grant"        // free credits, one-off or the monthly grant
	KindGrantExpiry Kind = "grant_expiry" // the unused part of last month's grant (grants do not roll over)
	KindUsage       Kind = "usage"        // one request's cost (negative)
	KindRefund      Kind = "refund"       // money returned to the customer (negative: credits leave)
	KindAdjustment  Kind = "adjustment"   // an operator's correction, either sign
)

// ParseKind accepts the kinds an operator may post by hand.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindTopUp, KindGrant, KindRefund, KindAdjustment:
		return k, nil
	}
	return "", platform.Invalid("kind", "kind must be topup, grant, refund or adjustment, not %q", s)
}

// Ledger accounts. Every transaction moves money between the organization's
// credit account and one counter-account, so the entries of every
// transaction sum to zero and the books always balance.
const (
	AccountPayments    = "world:payments"
	AccountGrants      = "world:grants"
	AccountRevenue     = "world:revenue"
	AccountAdjustments = "world:adjustments"
)

// OrgAccount is the ledger account of an organization's credits.
func OrgAccount(orgID string) string { return "org:" + orgID }

// CounterAccount is where kind's money comes from or goes to.
func CounterAccount(k Kind) string {
	switch k {
	case KindTopUp, KindRefund:
		return AccountPayments
	case KindGrant, KindGrantExpiry:
		return AccountGrants
	case KindUsage:
		return AccountRevenue
	}
	return AccountAdjustments
}

// Transaction is one ledger transaction as the organization sees it. Its
// two entries (OrgAccount +Amount, CounterAccount -Amount) are stored
// alongside.
type Transaction struct {
	ID     string       `json:"id"` // ltx_…
	OrgID  string       `json:"org_id"`
	Kind   Kind         `json:"kind"`
	Amount money.Micros `json:"amount_micros"`
	// BalanceAfter is the organization's balance right after this
	// transaction.
	BalanceAfter money.Micros `json:"balance_after_micros"`
	// Usage transactions name the request and who made it.
	RequestID string `json:"request_id,omitempty"`
	GroupID   string `json:"group_id,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
	Model     string `json:"model,omitempty"`
	// Reference is the payment provider's reference for a top-up, or the
	// client's idempotency key: posting twice with one reference posts once.
	Reference string    `json:"reference,omitempty"`
	Memo      string    `json:"memo,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"` // actor ID; "system" for usage and grants
	CreatedAt time.Time `json:"created_at"`
}

// Tier thresholds: lifetime purchases that lift an organization to tiers
// 1..5, as Perplexity's usage tiers ($50, $250, $500, $1,000, $5,000).
var TierThresholds = []money.Micros{
	50 * money.PerDollar, 250 * money.PerDollar, 500 * money.PerDollar,
	1_000 * money.PerDollar, 5_000 * money.PerDollar,
}

// TierFor returns the tier lifetime purchases reach.
func TierFor(lifetime money.Micros) int {
	t := 0
	for i, th := range TierThresholds {
		if lifetime >= th {
			t = i + 1
		}
	}
	return t
}

// Account is an organization's billing state.
type Account struct {
	OrgID   string       `json:"org_id"`
	Balance money.Micros `json:"balance_micros"` // the sum of the organization's ledger entries
	Held    money.Micros `json:"held_micros"`    // reserved by requests in flight
	// CreditLimit is how far below zero the balance may go; 0 is strictly
	// prepaid.
	CreditLimit money.Micros `json:"credit_limit_micros"`
	// LifetimeTopUps is every purchase ever, net of nothing: refunds do not
	// lower it, and the tier is never downgraded.
	LifetimeTopUps money.Micros `json:"lifetime_topups_micros"`
	Tier           int          `json:"tier"`
	// MonthlyGrant is credited on the first request or read of each UTC
	// month; what is left of it at the month's end expires.
	MonthlyGrant   money.Micros `json:"monthly_grant_micros"`
	GrantRemaining money.Micros `json:"grant_remaining_micros"`
	GrantMonth     time.Time    `json:"grant_month,omitzero"` // first instant of the month last granted
	UpdatedAt      time.Time    `json:"updated_at"`
}

// Available is what new requests may still reserve.
func (a *Account) Available() money.Micros { return a.Balance - a.Held + a.CreditLimit }

// Settings are the account's operator-set fields; nil leaves one as is.
type Settings struct {
	CreditLimit  *money.Micros
	MonthlyGrant *money.Micros
}

// Validate refuses negative or absurd settings.
func (s Settings) Validate() error {
	if s.CreditLimit != nil {
		if err := checkAmount("credit_limit_micros", *s.CreditLimit, true); err != nil {
			return err
		}
	}
	if s.MonthlyGrant != nil {
		if err := checkAmount("monthly_grant_micros", *s.MonthlyGrant, true); err != nil {
			return err
		}
	}
	return nil
}

// checkAmount refuses negative (unless zero is allowed and it is zero) or
// absurd amounts.
func checkAmount(param string, v money.Micros, zeroOK bool) error {
	switch {
	case v < 0:
		return platform.Invalid(param, "%s must not be negative (got %s dollars)", param, money.Decimal(v))
	case v == 0 && !zeroOK:
		return platform.Invalid(param, "%s must be more than zero", param)
	case v > money.Max:
		return platform.Invalid(param, "%s is %s dollars; the largest amount accepted is %s", param, money.Decimal(v), money.Decimal(money.Max))
	}
	return nil
}

// ScopeKind is what a cap or limit applies to.
type ScopeKind string

// Scopes, outermost first; admission checks them in this order.
const (
	ScopeOrg   ScopeKind = "org"
	ScopeGroup ScopeKind = "group"
	ScopeKey   ScopeKind = "key"
)

// Scope names one organization, group or key.
type Scope struct {
	Kind ScopeKind `json:"scope"`
	ID   string    `json:"scope_id"`
}

func (s Scope) String() string { return string(s.Kind) + ":" + s.ID }

// Title is how messages name a scope: "Group grp_…".
func (s Scope) Title() string {
	switch s.Kind {
	case ScopeOrg:
		return "Organization " + s.ID
	case ScopeGroup:
		return "Group " + s.ID
	}
	return "Key " + s.ID
}

// Validate checks the scope's kind and that it names something.
func (s Scope) Validate() error {
	switch s.Kind {
	case ScopeOrg, ScopeGroup, ScopeKey:
	default:
		return platform.Invalid("scope", "scope must be org, group or key, not %q", s.Kind)
	}
	if s.ID == "" {
		return platform.Invalid("scope_id", "a %s scope needs the %s's ID", s.Kind, s.Kind)
	}
	return nil
}

// Cap is a monthly (UTC calendar month) spend cap on a scope.
type Cap struct {
	OrgID   string       `json:"org_id"`
	Scope   Scope        `json:"-"`
	Monthly money.Micros `json:"monthly_cap_micros"`
	// Spent and Held this month, filled on reads.
	Spent     money.Micros `json:"spent_micros"`
	HeldNow   money.Micros `json:"held_micros"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Validate refuses negative or absurd caps (a cap of zero blocks all spend).
func (c *Cap) Validate() error {
	if err := c.Scope.Validate(); err != nil {
		return err
	}
	return checkAmount("monthly_cap_micros", c.Monthly, true)
}

// Limit is a rate-limit setting on a scope, for one model or ("") all.
// Zero fields set no limit of that kind.
type Limit struct {
	OrgID string `json:"org_id"`
	Scope Scope  `json:"-"`
	Model string `json:"model,omitempty"`
	// RPM is requests per minute, TPM tokens (prompt + completion) per
	// minute, Concurrency requests in flight at once.
	RPM         int64     `json:"rpm"`
	TPM         int64     `json:"tpm"`
	Concurrency int64     `json:"concurrency"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Bounds on limits: beyond these a number is a typo, not a limit.
const (
	MaxRPM         = 100_000_000
	MaxTPM         = 100_000_000_000
	MaxConcurrency = 1_000_000
)

// Validate refuses negative or absurd limits.
func (l *Limit) Validate() error {
	if err := l.Scope.Validate(); err != nil {
		return err
	}
	for _, f := range []struct {
		name   string
		v, max int64
	}{{"rpm", l.RPM, MaxRPM}, {"tpm", l.TPM, MaxTPM}, {"concurrency", l.Concurrency, MaxConcurrency}} {
		if f.v < 0 {
			return platform.Invalid(f.name, "%s must not be negative (got %d); 0 means no limit", f.name, f.v)
		}
		if f.v > f.max {
			return platform.Invalid(f.name, "%s is %d; the largest accepted is %d", f.name, f.v, f.max)
		}
	}
	if len(l.Model) > 200 {
		return platform.Invalid("model", "model is longer than 200 characters")
	}
	return nil
}

// Policy is what admission needs to know about one request's caller,
// read fresh for every request so a change applies to the next one.
type Policy struct {
	Account Account
	// Limits are the settings of the org, group and key that apply to the
	// model (model-specific and all-model rows both).
	Limits []Limit
	// Caps are the caps of the org, group and key, with this month's spend.
	Caps []Cap
}

// Hold is a reservation: the most a request in flight may cost.
type Hold struct {
	RequestID string
	OrgID     string
	GroupID   string
	KeyID     string
	Model     string
	Amount    money.Micros
	Month     time.Time // the month whose caps it counts against
	CreatedAt time.Time
	ExpiresAt time.Time // when a hold whose process died is released
}

// Settlement is one finished request: its usage record (with its cost
// already computed) and the hold to release (Held is 0 when none was
// placed).
type Settlement struct {
	Record metering.Record
	Held   money.Micros
}

// MonthOf returns the first instant of t's UTC calendar month.
func MonthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// OutOfCredits refuses a hold the organization's credits cannot cover.
func OutOfCredits(orgID string, needed, available money.Micros) error {
	return Refusal(fmt.Sprintf("Organization %s is out of credits", orgID), needed, available,
		"Top up with POST /api/v1/billing/topups or `tollgate billing topup`.")
}

// CapReached refuses a hold a scope's monthly cap has no room for.
func CapReached(s Scope, monthly, needed, room money.Micros) error {
	return Refusal(fmt.Sprintf("%s has reached its monthly spend cap of $%s", s.Title(), money.Decimal(monthly)),
		needed, room, "Raise the cap or wait for next month.")
}

// Refusal describes why a hold could not be placed.
func Refusal(what string, needed, available money.Micros, hint string) error {
	return &platform.Error{Kind: platform.KindPaymentRequired, Message: fmt.Sprintf(
		"%s: this request may cost up to $%s and only $%s is available. %s",
		what, money.Decimal(needed), money.Decimal(max(available, 0)), hint)}
}
