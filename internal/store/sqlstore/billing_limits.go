package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Rate-limit settings, spend caps, and the Policy that admission reads
// for every request.

// scopeOrder sorts rows by scope, outermost first, then by ID.
func (s *Store) scopeOrder() string {
	return `CASE scope_kind WHEN 'org' THEN 0 WHEN 'group' THEN 1 ELSE 2 END, ` + s.bytewise("scope_id")
}

// scopeMatch is a condition matching any of scopes (at least one).
func scopeMatch(scopes []billing.Scope) (string, []any) {
	conds := make([]string, 0, len(scopes))
	args := make([]any, 0, 2*len(scopes))
	for _, sc := range scopes {
		conds = append(conds, `(scope_kind = ? AND scope_id = ?)`)
		args = append(args, string(sc.Kind), sc.ID)
	}
	return `(` + strings.Join(conds, ` OR `) + `)`, args
}

// checkScope returns not_found unless sc is orgID itself, or a live group
// or a key of orgID.
func (s *Store) checkScope(ctx context.Context, q querier, orgID string, sc billing.Scope) error {
	var (
		query string
		args  []any
	)
	switch sc.Kind {
	case billing.ScopeOrg:
		if sc.ID != orgID {
			return notFound("organization %s not found", sc.ID)
		}
		return s.orgExists(ctx, q, orgID)
	case billing.ScopeGroup:
		query, args = `SELECT 1 FROM api_groups WHERE id = ? AND org_id = ? AND status <> 'deleted'`, []any{sc.ID, orgID}
	case billing.ScopeKey:
		query, args = `SELECT 1 FROM api_keys WHERE id = ? AND org_id = ?`, []any{sc.ID, orgID}
	default:
		return sc.Validate()
	}
	var one int
	err := s.queryRow(ctx, q, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("%s %s not found in organization %s", sc.Kind, sc.ID, orgID)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", sc.Kind, err)
	}
	return nil
}

const limitCols = `org_id, scope_kind, scope_id, model, rpm, tpm, concurrency, updated_at`

func scanLimit(row rowScanner) (*billing.Limit, error) {
	var (
		l       billing.Limit
		updated int64
	)
	if err := row.Scan(&l.OrgID, &l.Scope.Kind, &l.Scope.ID, &l.Model, &l.RPM, &l.TPM, &l.Concurrency, &updated); err != nil {
		return nil, err
	}
	l.UpdatedAt = fromTS(updated)
	return &l, nil
}

func (s *Store) listLimits(ctx context.Context, where string, args ...any) ([]*billing.Limit, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+limitCols+` FROM rate_limits WHERE `+where+
		` ORDER BY `+s.scopeOrder()+`, `+s.bytewise("model"), args...)
	if err != nil {
		return nil, fmt.Errorf("list limits: %w", err)
	}
	defer rows.Close()
	out := []*billing.Limit{}
	for rows.Next() {
		l, err := scanLimit(rows)
		if err != nil {
			return nil, fmt.Errorf("scan limit: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// SetLimit implements billing.Store.
func (s *Store) SetLimit(ctx context.Context, l *billing.Limit, by platform.Actor) (*billing.Limit, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	out := *l
	out.UpdatedAt = s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkScope(ctx, tx, out.OrgID, out.Scope); err != nil {
			return err
		}
		details := map[string]string{"model": out.Model, "rpm": fmt.Sprint(out.RPM), "tpm": fmt.Sprint(out.TPM),
			"concurrency": fmt.Sprint(out.Concurrency)}
		if out.RPM == 0 && out.TPM == 0 && out.Concurrency == 0 {
			res, err := s.exec(ctx, tx, `DELETE FROM rate_limits WHERE scope_kind = ? AND scope_id = ? AND model = ?`,
				string(out.Scope.Kind), out.Scope.ID, out.Model)
			if err != nil {
				return fmt.Errorf("delete limit: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err // there was none: nothing changed
			}
			return s.audit(ctx, tx, out.OrgID, by, platform.AuditLimitDeleted, string(out.Scope.Kind), out.Scope.ID, details)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO rate_limits (`+limitCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (scope_kind, scope_id, model) DO UPDATE SET rpm = excluded.rpm, tpm = excluded.tpm,
			concurrency = excluded.concurrency, updated_at = excluded.updated_at`,
			out.OrgID, string(out.Scope.Kind), out.Scope.ID, out.Model, out.RPM, out.TPM, out.Concurrency,
			ts(out.UpdatedAt)); err != nil {
			return fmt.Errorf("set limit: %w", err)
		}
		return s.audit(ctx, tx, out.OrgID, by, platform.AuditLimitSet, string(out.Scope.Kind), out.Scope.ID, details)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListLimits implements billing.Store: by scope (org, groups, keys), then
// model ("" first).
func (s *Store) ListLimits(ctx context.Context, orgID string, scope *billing.Scope) ([]*billing.Limit, error) {
	if scope == nil {
		return s.listLimits(ctx, `org_id = ?`, orgID)
	}
	return s.listLimits(ctx, `org_id = ? AND scope_kind = ? AND scope_id = ?`, orgID, string(scope.Kind), scope.ID)
}

// capSelect reads caps with the spend of the month given as its first
// argument.
const capSelect = `SELECT c.org_id, c.scope_kind, c.scope_id, c.monthly_cap, c.updated_at,
	COALESCE(sp.spent, 0), COALESCE(sp.held, 0)
	FROM billing_caps c LEFT JOIN billing_spend sp
	ON sp.scope_kind = c.scope_kind AND sp.scope_id = c.scope_id AND sp.month = ?`

func (s *Store) listCaps(ctx context.Context, q querier, month time.Time, where string, args ...any) ([]*billing.Cap, error) {
	rows, err := s.query(ctx, q, capSelect+` WHERE `+where+` ORDER BY `+
		strings.ReplaceAll(s.scopeOrder(), "scope_", "c.scope_"), append([]any{ts(billing.MonthOf(month))}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("list caps: %w", err)
	}
	defer rows.Close()
	out := []*billing.Cap{}
	for rows.Next() {
		var (
			c                       billing.Cap
			limit, spent, held, upd int64
		)
		if err := rows.Scan(&c.OrgID, &c.Scope.Kind, &c.Scope.ID, &limit, &upd, &spent, &held); err != nil {
			return nil, fmt.Errorf("scan cap: %w", err)
		}
		c.Monthly, c.Spent, c.HeldNow, c.UpdatedAt = money.Micros(limit), money.Micros(spent), money.Micros(held), fromTS(upd)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// SetCap implements billing.Store. The cap returned carries this month's
// spend (by the store's clock).
func (s *Store) SetCap(ctx context.Context, c *billing.Cap, by platform.Actor) (*billing.Cap, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	now := s.Now()
	var out *billing.Cap
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkScope(ctx, tx, c.OrgID, c.Scope); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO billing_caps (org_id, scope_kind, scope_id, monthly_cap, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope_kind, scope_id)
			DO UPDATE SET monthly_cap = excluded.monthly_cap, updated_at = excluded.updated_at`,
			c.OrgID, string(c.Scope.Kind), c.Scope.ID, int64(c.Monthly), ts(now)); err != nil {
			return fmt.Errorf("set cap: %w", err)
		}
		if err := s.audit(ctx, tx, c.OrgID, by, platform.AuditCapSet, string(c.Scope.Kind), c.Scope.ID,
			map[string]string{"monthly_cap_micros": fmt.Sprint(int64(c.Monthly))}); err != nil {
			return err
		}
		caps, err := s.listCaps(ctx, tx, now, `c.scope_kind = ? AND c.scope_id = ?`, string(c.Scope.Kind), c.Scope.ID)
		if err != nil {
			return err
		}
		if len(caps) != 1 {
			return fmt.Errorf("set cap: read back %d caps", len(caps))
		}
		out = caps[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteCap implements billing.Store.
func (s *Store) DeleteCap(ctx context.Context, orgID string, scope billing.Scope, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM billing_caps WHERE org_id = ? AND scope_kind = ? AND scope_id = ?`,
			orgID, string(scope.Kind), scope.ID)
		if err != nil {
			return fmt.Errorf("delete cap: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return notFound("%s %s has no spend cap", scope.Kind, scope.ID)
		}
		return s.audit(ctx, tx, orgID, by, platform.AuditCapDeleted, string(scope.Kind), scope.ID, nil)
	})
}

// ListCaps implements billing.Store.
func (s *Store) ListCaps(ctx context.Context, orgID string, month time.Time) ([]*billing.Cap, error) {
	return s.listCaps(ctx, s.db, month, `c.org_id = ?`, orgID)
}

// Policy implements billing.Store.
func (s *Store) Policy(ctx context.Context, orgID, groupID, keyID, model string, now time.Time) (*billing.Policy, error) {
	a, err := s.currentAccount(ctx, orgID, now)
	if err != nil {
		return nil, err
	}
	match, args := scopeMatch(scopesOf(orgID, groupID, keyID))
	limits, err := s.listLimits(ctx, `org_id = ? AND `+match+` AND (model = '' OR model = ?)`,
		append(append([]any{orgID}, args...), model)...)
	if err != nil {
		return nil, err
	}
	caps, err := s.listCaps(ctx, s.db, now, `c.org_id = ? AND `+strings.ReplaceAll(match, "scope_", "c.scope_"),
		append([]any{orgID}, args...)...)
	if err != nil {
		return nil, err
	}
	return &billing.Policy{Account: *a, Limits: derefAll(limits), Caps: derefAll(caps)}, nil
}

func derefAll[T any](ps []*T) []T {
	out := make([]T, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}
