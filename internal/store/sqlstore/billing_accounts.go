package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Accounts: the per-organization row every billing transaction locks
// first, the monthly grant, and manual postings.

const accountCols = `org_id, balance, held, credit_limit, lifetime_topups, tier, monthly_grant, grant_remaining,
	grant_month, updated_at`

func scanAccount(row rowScanner) (*billing.Account, error) {
	var (
		a                                                billing.Account
		balance, held, limit, lifetime, grant, remaining int64
		grantMonth, updated                              int64
	)
	if err := row.Scan(&a.OrgID, &balance, &held, &limit, &lifetime, &a.Tier, &grant, &remaining,
		&grantMonth, &updated); err != nil {
		return nil, err
	}
	a.Balance, a.Held, a.CreditLimit, a.LifetimeTopUps = money.Micros(balance), money.Micros(held), money.Micros(limit), money.Micros(lifetime)
	a.MonthlyGrant, a.GrantRemaining = money.Micros(grant), money.Micros(remaining)
	a.GrantMonth, a.UpdatedAt = fromMonthTS(grantMonth), fromTS(updated)
	return &a, nil
}

// readAccount reads an account without locking it; found is false when
// the organization has no billing row yet.
func (s *Store) readAccount(ctx context.Context, q querier, orgID string) (a *billing.Account, found bool, err error) {
	a, err = scanAccount(s.queryRow(ctx, q, `SELECT `+accountCols+` FROM billing_accounts WHERE org_id = ?`, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read billing account: %w", err)
	}
	return a, true, nil
}

// lockAccount locks the organization's account for the rest of the
// transaction, creating it (zero) on first use. An organization that does
// not exist is not found.
func (s *Store) lockAccount(b *btx, orgID string) (*billing.Account, error) {
	q := `SELECT ` + accountCols + ` FROM billing_accounts WHERE org_id = ?` + s.d.forUpdate()
	a, err := scanAccount(b.queryRow(q, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		// Only for an organization that exists; a concurrent first use
		// makes this wait for it and then do nothing.
		if _, err := b.exec(`INSERT INTO billing_accounts (org_id, updated_at) SELECT id, ? FROM orgs WHERE id = ?
			ON CONFLICT (org_id) DO NOTHING`, ts(s.Now()), orgID); err != nil {
			return nil, fmt.Errorf("create billing account: %w", err)
		}
		a, err = scanAccount(b.queryRow(q, orgID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("organization %s not found", orgID)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock billing account: %w", err)
	}
	return a, nil
}

// saveAccount writes back a locked account.
func (s *Store) saveAccount(b *btx, a *billing.Account) error {
	a.UpdatedAt = s.Now()
	if _, err := b.exec(`UPDATE billing_accounts SET balance = ?, held = ?, credit_limit = ?, lifetime_topups = ?,
		tier = ?, monthly_grant = ?, grant_remaining = ?, grant_month = ?, updated_at = ? WHERE org_id = ?`,
		int64(a.Balance), int64(a.Held), int64(a.CreditLimit), int64(a.LifetimeTopUps), a.Tier, int64(a.MonthlyGrant),
		int64(a.GrantRemaining), monthTS(a.GrantMonth), ts(a.UpdatedAt), a.OrgID); err != nil {
		return fmt.Errorf("update billing account: %w", err)
	}
	return nil
}

// orgExists returns a not_found error unless the organization exists.
func (s *Store) orgExists(ctx context.Context, q querier, orgID string) error {
	var one int
	err := s.queryRow(ctx, q, `SELECT 1 FROM orgs WHERE id = ?`, orgID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("organization %s not found", orgID)
	}
	if err != nil {
		return fmt.Errorf("read org: %w", err)
	}
	return nil
}

// grantDue reports whether ensureGrant has anything to do at now.
func grantDue(a *billing.Account, now time.Time) bool {
	return (a.MonthlyGrant > 0 || a.GrantRemaining > 0) && a.GrantMonth.Before(billing.MonthOf(now))
}

// ensureGrant expires what is left of the last monthly grant and credits
// this month's, once per month, on the locked account a. The grant is
// dated now and the expiry a microsecond earlier, so that the ledger,
// newest first, lists them in the order they apply. The references make a
// second grant of one month impossible even for a buggy caller. The
// caller saves a when it returns true.
func (s *Store) ensureGrant(b *btx, a *billing.Account, now time.Time) (bool, error) {
	if !grantDue(a, now) {
		return false, nil
	}
	month := billing.MonthOf(now)
	if expire := min(a.GrantRemaining, max(a.Balance, 0)); expire > 0 {
		last := a.GrantMonth.Format("2006-01")
		if err := s.apply(b, a, &billing.Transaction{Kind: billing.KindGrantExpiry, Amount: -expire,
			Reference: "grant-expiry:" + last, Memo: "unused monthly grant of " + last,
			CreatedBy: systemID, CreatedAt: now.Add(-time.Microsecond)}); err != nil {
			return false, err
		}
	}
	a.GrantRemaining = 0
	if a.MonthlyGrant > 0 {
		m := month.Format("2006-01")
		if err := s.apply(b, a, &billing.Transaction{Kind: billing.KindGrant, Amount: a.MonthlyGrant,
			Reference: "monthly-grant:" + m, Memo: "monthly grant for " + m,
			CreatedBy: systemID, CreatedAt: now}); err != nil {
			return false, err
		}
		a.GrantRemaining, a.GrantMonth = a.MonthlyGrant, month
	}
	return true, nil
}

// currentAccount returns the account after the month's grant. Reads that
// find nothing due take no lock, so per-request policy reads do not queue
// behind the organization's writers.
func (s *Store) currentAccount(ctx context.Context, orgID string, now time.Time) (*billing.Account, error) {
	a, found, err := s.readAccount(ctx, s.db, orgID)
	if err != nil {
		return nil, err
	}
	if !found {
		if err := s.orgExists(ctx, s.db, orgID); err != nil {
			return nil, err
		}
		return &billing.Account{OrgID: orgID}, nil
	}
	if !grantDue(a, now) {
		return a, nil
	}
	err = s.billingTx(ctx, func(b *btx) error {
		if a, err = s.lockAccount(b, orgID); err != nil {
			return err
		}
		if changed, err := s.ensureGrant(b, a, now); err != nil || !changed {
			return err
		}
		return s.saveAccount(b, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Account implements billing.Store.
func (s *Store) Account(ctx context.Context, orgID string, now time.Time) (*billing.Account, error) {
	return s.currentAccount(ctx, orgID, now)
}

// UpdateSettings implements billing.Store.
func (s *Store) UpdateSettings(ctx context.Context, orgID string, set billing.Settings, by platform.Actor) (*billing.Account, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	var out *billing.Account
	err := s.billingTx(ctx, func(b *btx) error {
		a, err := s.lockAccount(b, orgID)
		if err != nil {
			return err
		}
		out = a
		details := map[string]string{}
		if set.CreditLimit != nil && *set.CreditLimit != a.CreditLimit {
			a.CreditLimit, details["credit_limit_micros"] = *set.CreditLimit, fmt.Sprint(int64(*set.CreditLimit))
		}
		if set.MonthlyGrant != nil && *set.MonthlyGrant != a.MonthlyGrant {
			a.MonthlyGrant, details["monthly_grant_micros"] = *set.MonthlyGrant, fmt.Sprint(int64(*set.MonthlyGrant))
		}
		if len(details) == 0 {
			return nil
		}
		if err := s.saveAccount(b, a); err != nil {
			return err
		}
		return s.audit(b.ctx, b.tx, orgID, by, platform.AuditBillingSettings, "org", orgID, details)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkPost refuses a manual transaction of the wrong kind or sign.
func checkPost(t *billing.Transaction) error {
	switch {
	case t.OrgID == "":
		return platform.Invalid("org_id", "a transaction needs the organization it applies to")
	case t.Amount == 0:
		return platform.Invalid("amount_micros", "a transaction must not be zero")
	case t.Amount == math.MinInt64:
		return platform.Invalid("amount_micros", "the amount is out of range")
	}
	switch t.Kind {
	case billing.KindTopUp, billing.KindGrant:
		if t.Amount < 0 {
			return platform.Invalid("amount_micros", "a %s must be positive (got %s dollars)", t.Kind, money.Decimal(t.Amount))
		}
	case billing.KindRefund:
		if t.Amount > 0 {
			return platform.Invalid("amount_micros", "a refund takes credits away: its amount must be negative (got %s dollars)", money.Decimal(t.Amount))
		}
	case billing.KindAdjustment:
	default:
		return platform.Invalid("kind", "only topup, grant, refund and adjustment transactions can be posted, not %q", t.Kind)
	}
	return nil
}

// Post implements billing.Store. It also runs the month's grant first, so
// that the ledger shows a month's grant before the month's other entries.
func (s *Store) Post(ctx context.Context, t *billing.Transaction, by platform.Actor) (*billing.Transaction, error) {
	if err := checkPost(t); err != nil {
		return nil, err
	}
	in := *t
	in.ID, in.BalanceAfter = "", 0
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.Now()
	}
	if in.CreatedBy == "" {
		in.CreatedBy = by.ID
	}
	var out *billing.Transaction
	err := s.billingTx(ctx, func(b *btx) error {
		a, err := s.lockAccount(b, in.OrgID)
		if err != nil {
			return err
		}
		if in.Reference != "" {
			prev, err := scanTxn(b.queryRow(`SELECT `+txnCols+` FROM ledger_transactions
				WHERE org_id = ? AND reference = ?`, in.OrgID, in.Reference))
			if err == nil {
				out = prev
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read transaction by reference: %w", err)
			}
		}
		if _, err := s.ensureGrant(b, a, in.CreatedAt); err != nil {
			return err
		}
		n := in
		after, err := money.Add(a.Balance, n.Amount)
		if err != nil {
			return platform.Invalid("amount_micros", "%s dollars would take the balance of %s dollars out of range",
				money.Decimal(n.Amount), money.Decimal(a.Balance))
		}
		if n.Amount < 0 {
			if free, err := money.Add(after, -a.Held); err != nil || free < 0 {
				return conflict("a %s of %s dollars would leave organization %s with %s dollars, less the %s dollars held by requests in flight; at most %s dollars can be taken",
					n.Kind, money.Decimal(-n.Amount), n.OrgID, money.Decimal(after), money.Decimal(a.Held),
					money.Decimal(max(a.Balance-a.Held, 0)))
			}
		}
		if n.Kind == billing.KindTopUp {
			lifetime, err := money.Add(a.LifetimeTopUps, n.Amount)
			if err != nil {
				return platform.Invalid("amount_micros", "%s dollars would take the lifetime purchases of %s dollars out of range",
					money.Decimal(n.Amount), money.Decimal(a.LifetimeTopUps))
			}
			a.LifetimeTopUps, a.Tier = lifetime, max(a.Tier, billing.TierFor(lifetime))
		}
		if err := s.apply(b, a, &n); err != nil {
			return err
		}
		if err := s.saveAccount(b, a); err != nil {
			return err
		}
		out = &n
		return s.audit(b.ctx, b.tx, n.OrgID, by, platform.AuditBillingPosted, "ledger_transaction", n.ID, map[string]string{
			"kind": string(n.Kind), "amount_micros": fmt.Sprint(int64(n.Amount)), "reference": n.Reference,
			"balance_after_micros": fmt.Sprint(int64(n.BalanceAfter))})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
