package billing

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// PaymentProvider collects money for a top-up. Stripe (or any other
// processor) plugs in here; the built-in Manual provider records a payment
// received outside Tollgate (an invoice, a wire transfer).
type PaymentProvider interface {
	Name() string
	// Charge collects amount for orgID. A retried call with the same
	// idempotencyKey must not charge twice. It returns the provider's
	// reference for the payment.
	Charge(ctx context.Context, orgID string, amount money.Micros, idempotencyKey string) (reference string, err error)
}

// Manual is the payment provider of a self-hosted instance: the operator
// records money already received.
type Manual struct{}

// Name implements PaymentProvider.
func (Manual) Name() string { return "manual" }

// Charge implements PaymentProvider: nothing to collect.
func (Manual) Charge(_ context.Context, _ string, _ money.Micros, key string) (string, error) {
	return "manual:" + key, nil
}

// Service applies billing's rules (who may do what, which amounts make
// sense) on top of a Store. The management API and the CLI call it.
type Service struct {
	store    Store
	payments PaymentProvider
	now      func() time.Time
}

// NewService returns a Service; payments nil means Manual.
func NewService(s Store, payments PaymentProvider, now func() time.Time) *Service {
	if payments == nil {
		payments = Manual{}
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, payments: payments, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// Balance returns the caller's organization account.
func (s *Service) Balance(ctx context.Context, p platform.Principal) (*Account, error) {
	if err := platform.Authorize(p.Role, platform.ActBillingRead); err != nil {
		return nil, err
	}
	return s.store.Account(ctx, p.OrgID, s.now())
}

// PostRequest is a manual money movement.
type PostRequest struct {
	Kind   Kind
	Amount money.Micros // always positive; the kind gives the sign (adjustments: signed)
	Memo   string
	// IdempotencyKey makes a retried call post once.
	IdempotencyKey string
}

// Post tops up, grants, refunds or adjusts the caller's organization.
func (s *Service) Post(ctx context.Context, p platform.Principal, r PostRequest) (*Transaction, error) {
	if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
		return nil, err
	}
	if _, err := ParseKind(string(r.Kind)); err != nil {
		return nil, err
	}
	if r.Kind == KindAdjustment {
		if r.Amount == 0 {
			return nil, platform.Invalid("amount_micros", "an adjustment must not be zero")
		}
		abs := r.Amount
		if abs < 0 {
			abs = -abs
		}
		if err := checkAmount("amount_micros", abs, false); err != nil {
			return nil, err
		}
	} else if err := checkAmount("amount_micros", r.Amount, false); err != nil {
		return nil, err
	}
	if len(r.Memo) > 500 || strings.ContainsAny(r.Memo, "\x00") {
		return nil, platform.Invalid("memo", "memo must be at most 500 characters of text")
	}
	if len(r.IdempotencyKey) > 200 {
		return nil, platform.Invalid("idempotency_key", "the idempotency key is longer than 200 characters")
	}
	key := r.IdempotencyKey
	if key == "" {
		key = strings.ToLower(rand.Text())
	}
	t := &Transaction{OrgID: p.OrgID, Kind: r.Kind, Amount: r.Amount, Memo: r.Memo,
		Reference: string(r.Kind) + ":" + key, CreatedBy: p.Actor.ID, CreatedAt: s.now()}
	switch r.Kind {
	case KindRefund:
		t.Amount = -r.Amount
	case KindTopUp:
		ref, err := s.payments.Charge(ctx, p.OrgID, r.Amount, key)
		if err != nil {
			return nil, &platform.Error{Kind: platform.KindUpstream, Err: err,
				Message: "the payment provider " + s.payments.Name() + " refused the top-up; nothing was charged or credited. Check the payment method and retry with the same idempotency key."}
		}
		t.Reference = ref
	}
	return s.store.Post(ctx, t, p.Actor)
}

// UpdateSettings changes the credit limit or the monthly grant.
func (s *Service) UpdateSettings(ctx context.Context, p platform.Principal, set Settings) (*Account, error) {
	if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
		return nil, err
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return s.store.UpdateSettings(ctx, p.OrgID, set, p.Actor)
}

// Ledger lists the caller's organization's transactions, newest first.
func (s *Service) Ledger(ctx context.Context, p platform.Principal, f LedgerFilter) ([]*Transaction, error) {
	if err := platform.Authorize(p.Role, platform.ActBillingRead); err != nil {
		return nil, err
	}
	if f.Kind != "" {
		switch f.Kind {
		case KindTopUp, KindGrant, KindGrantExpiry, KindUsage, KindRefund, KindAdjustment:
		default:
			return nil, platform.Invalid("kind", "unknown transaction kind %q", f.Kind)
		}
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return s.store.Ledger(ctx, p.OrgID, f)
}

// Statement returns one month's statement of the organization, or of one
// group when groupID is set.
func (s *Service) Statement(ctx context.Context, p platform.Principal, groupID string, month time.Time) (*Statement, error) {
	if err := platform.Authorize(p.Role, platform.ActBillingRead); err != nil {
		return nil, err
	}
	return s.store.Statement(ctx, p.OrgID, groupID, MonthOf(month))
}

// maxUsageBuckets bounds one usage query, so nobody asks for a year by the
// minute.
const maxUsageBuckets = 50_000

// Usage reads the caller's organization's usage from the rollups.
func (s *Service) Usage(ctx context.Context, p platform.Principal, q UsageQuery) ([]UsageRow, error) {
	if err := platform.Authorize(p.Role, platform.ActUsageRead); err != nil {
		return nil, err
	}
	q.OrgID = p.OrgID
	if q.Granularity == "" {
		q.Granularity = Day
	}
	step := map[Granularity]time.Duration{Minute: time.Minute, Hour: time.Hour, Day: 24 * time.Hour}[q.Granularity]
	if step == 0 {
		return nil, platform.Invalid("granularity", "granularity must be minute, hour or day, not %q", q.Granularity)
	}
	now := s.now()
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-30 * 24 * time.Hour)
		if q.Granularity == Minute {
			q.From = q.To.Add(-time.Hour)
		}
	}
	if !q.From.Before(q.To) {
		return nil, platform.Invalid("from", "from must be before to")
	}
	if q.To.Sub(q.From)/step > maxUsageBuckets {
		return nil, platform.Invalid("granularity", "that range has more than %d %s buckets; pick a coarser granularity or a shorter range", maxUsageBuckets, q.Granularity)
	}
	for _, b := range q.By {
		if b != "group" && b != "key" && b != "model" {
			return nil, platform.Invalid("by", "by must be group, key or model, not %q", b)
		}
	}
	return s.store.Usage(ctx, q)
}

// SetLimit sets or (all zero) clears a rate limit.
func (s *Service) SetLimit(ctx context.Context, p platform.Principal, l *Limit) (*Limit, error) {
	if err := platform.Authorize(p.Role, platform.ActGroupManage); err != nil {
		return nil, err
	}
	l.OrgID = p.OrgID
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return s.store.SetLimit(ctx, l, p.Actor)
}

// Limits lists rate-limit settings, of one scope or all.
func (s *Service) Limits(ctx context.Context, p platform.Principal, scope *Scope) ([]*Limit, error) {
	if err := platform.Authorize(p.Role, platform.ActGroupRead); err != nil {
		return nil, err
	}
	return s.store.ListLimits(ctx, p.OrgID, scope)
}

// SetCap sets a monthly spend cap.
func (s *Service) SetCap(ctx context.Context, p platform.Principal, c *Cap) (*Cap, error) {
	if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
		return nil, err
	}
	c.OrgID = p.OrgID
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return s.store.SetCap(ctx, c, p.Actor)
}

// DeleteCap removes a spend cap.
func (s *Service) DeleteCap(ctx context.Context, p platform.Principal, scope Scope) error {
	if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
		return err
	}
	if err := scope.Validate(); err != nil {
		return err
	}
	return s.store.DeleteCap(ctx, p.OrgID, scope, p.Actor)
}

// Caps lists the organization's caps with this month's spend.
func (s *Service) Caps(ctx context.Context, p platform.Principal) ([]*Cap, error) {
	if err := platform.Authorize(p.Role, platform.ActBillingRead); err != nil {
		return nil, err
	}
	return s.store.ListCaps(ctx, p.OrgID, MonthOf(s.now()))
}

// Prices lists the instance's price book. Every member may read it.
func (s *Service) Prices(ctx context.Context, p platform.Principal) ([]*pricing.Price, error) {
	if err := platform.Authorize(p.Role, platform.ActOrgRead); err != nil {
		return nil, err
	}
	return s.store.ListPrices(ctx)
}
