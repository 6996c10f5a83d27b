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

const txnCols = `id, org_id, kind, amount, balance_after, request_id, group_id, key_id, model, reference, memo,
	created_by, created_at`

func scanTxn(row rowScanner) (*billing.Transaction, error) {
	var (
		t             billing.Transaction
		amount, after int64
		reference     sql.NullString
		created       int64
	)
	if err := row.Scan(&t.ID, &t.OrgID, &t.Kind, &amount, &after, &t.RequestID, &t.GroupID, &t.KeyID, &t.Model,
		&reference, &t.Memo, &t.CreatedBy, &created); err != nil {
		return nil, err
	}
	t.Amount, t.BalanceAfter, t.Reference, t.CreatedAt = money.Micros(amount), money.Micros(after), reference.String, fromTS(created)
	return &t, nil
}

// maxLedgerPage bounds one read of the ledger.
const maxLedgerPage = 1000

// sumCol sums an amount column as a BIGINT: PostgreSQL's SUM of a bigint
// is a numeric, and an empty sum is NULL.
func sumCol(col string) string { return `CAST(COALESCE(SUM(` + col + `), 0) AS BIGINT)` }

// Ledger implements billing.Store: newest first, by creation time then ID.
func (s *Store) Ledger(ctx context.Context, orgID string, f billing.LedgerFilter) ([]*billing.Transaction, error) {
	where := []string{"org_id = ?"}
	args := []any{orgID}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(f.Kind))
	}
	if f.GroupID != "" {
		where, args = append(where, "group_id = ?"), append(args, f.GroupID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, ts(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, ts(f.To))
	}
	if f.Before != "" {
		var at int64
		err := s.queryRow(ctx, s.db, `SELECT created_at FROM ledger_transactions WHERE id = ? AND org_id = ?`,
			f.Before, orgID).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, platform.Invalid("before", "unknown cursor %q: pass the ID of the last transaction of the previous page", f.Before)
		}
		if err != nil {
			return nil, fmt.Errorf("ledger cursor: %w", err)
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, at, at, f.Before)
	}
	limit := min(f.Limit, maxLedgerPage)
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.query(ctx, s.db, `SELECT `+txnCols+` FROM ledger_transactions WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	defer rows.Close()
	out := []*billing.Transaction{}
	for rows.Next() {
		t, err := scanTxn(rows)
		if err != nil {
			return nil, fmt.Errorf("scan ledger transaction: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Statement implements billing.Store. An organization's statement has its
// opening and closing balance (the sum of the transactions dated before
// the month's first and after its last instant), the month's transactions
// summed by kind, and the month's usage per group and model from the day
// rollups. A group's statement has only that group's usage lines and
// usage debits (ByKind[usage]); a group has no balance of its own, so
// Opening and Closing stay zero.
func (s *Store) Statement(ctx context.Context, orgID, groupID string, month time.Time) (*billing.Statement, error) {
	if err := s.orgExists(ctx, s.db, orgID); err != nil {
		return nil, err
	}
	from := billing.MonthOf(month)
	to := from.AddDate(0, 1, 0)
	st := &billing.Statement{OrgID: orgID, GroupID: groupID, Month: from, ByKind: map[billing.Kind]money.Micros{},
		Lines: []billing.StatementLine{}}

	var (
		kinds string
		args  = []any{orgID, ts(from), ts(to)}
	)
	if groupID == "" {
		var opening, closing int64
		if err := s.queryRow(ctx, s.db, `SELECT `+sumCol(`CASE WHEN created_at < ? THEN amount END`)+`, `+sumCol(`amount`)+`
			FROM ledger_transactions WHERE org_id = ? AND created_at < ?`, ts(from), orgID, ts(to)).Scan(&opening, &closing); err != nil {
			return nil, fmt.Errorf("statement balances: %w", err)
		}
		st.Opening, st.Closing = money.Micros(opening), money.Micros(closing)
	} else {
		kinds = ` AND group_id = ? AND kind = 'usage'`
		args = append(args, groupID)
	}
	rows, err := s.query(ctx, s.db, `SELECT kind, `+sumCol(`amount`)+` FROM ledger_transactions
		WHERE org_id = ? AND created_at >= ? AND created_at < ?`+kinds+` GROUP BY kind`, args...)
	if err != nil {
		return nil, fmt.Errorf("statement by kind: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k   billing.Kind
			sum int64
		)
		if err := rows.Scan(&k, &sum); err != nil {
			return nil, fmt.Errorf("scan statement kind: %w", err)
		}
		st.ByKind[k] = money.Micros(sum)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("statement by kind: %w", err)
	}
	rows.Close()

	groupFilter, args := "", []any{orgID, ts(from), ts(to)}
	if groupID != "" {
		groupFilter, args = ` AND group_id = ?`, append(args, groupID)
	}
	lines, err := s.query(ctx, s.db, `SELECT group_id, model, `+sumCol("requests")+`, `+sumCol("prompt_tokens")+`, `+
		sumCol("completion_tokens")+`, `+sumCol("reasoning_tokens")+`, `+sumCol("citation_tokens")+`, `+
		sumCol("search_queries")+`, `+sumCol("cost")+` FROM usage_rollups
		WHERE granularity = 'day' AND org_id = ? AND bucket >= ? AND bucket < ?`+groupFilter+`
		GROUP BY group_id, model ORDER BY `+s.bytewise("group_id")+`, `+s.bytewise("model"), args...)
	if err != nil {
		return nil, fmt.Errorf("statement lines: %w", err)
	}
	defer lines.Close()
	for lines.Next() {
		var (
			l    billing.StatementLine
			cost int64
		)
		if err := lines.Scan(&l.GroupID, &l.Model, &l.Requests, &l.PromptTokens, &l.CompletionTokens,
			&l.ReasoningTokens, &l.CitationTokens, &l.SearchQueries, &cost); err != nil {
			return nil, fmt.Errorf("scan statement line: %w", err)
		}
		l.Cost = money.Micros(cost)
		if st.Total, err = money.Add(st.Total, l.Cost); err != nil {
			return nil, fmt.Errorf("statement total: %w", err)
		}
		st.Lines = append(st.Lines, l)
	}
	return st, lines.Err()
}
