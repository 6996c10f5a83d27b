package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Billing (billing.Store). Every transaction that changes an organization's
// money, holds or spend first locks that organization's billing_accounts
// row (FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction
// already holds the database's one write lock), and a batch touching
// several organizations locks them in ID order before anything else. So on
// PostgreSQL, where READ COMMITTED lets each statement see the latest
// committed rows, the writers of one organization queue behind each other,
// what a transaction reads after the lock stays true until it commits, and
// no two transactions wait on each other in a cycle.

var _ billing.Store = (*Store)(nil)

// ID prefixes of billing rows (platform has none for them).
const (
	prefixLedgerTxn = platform.PrefixLedgerTxn
	prefixPrice     = platform.PrefixPrice
)

// systemID is the CreatedBy of transactions Tollgate posts itself.
const systemID = "system"

type rowScanner interface{ Scan(...any) error }

// btx is one billing transaction, for the helpers that run inside one.
type btx struct {
	ctx context.Context
	s   *Store
	tx  *sql.Tx
}

func (b *btx) exec(q string, args ...any) (sql.Result, error) {
	return b.s.exec(b.ctx, b.tx, q, args...)
}

func (b *btx) queryRow(q string, args ...any) rowScanner {
	return b.s.queryRow(b.ctx, b.tx, q, args...)
}

func (b *btx) query(q string, args ...any) (*sql.Rows, error) {
	return b.s.query(b.ctx, b.tx, q, args...)
}

// valueRows is the VALUES list of a multi-row insert: rows tuples of cols
// placeholders. Batches write many rows per statement, because on
// PostgreSQL every statement is a round trip.
func valueRows(rows, cols int) string {
	tuple := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(tuple+", ", rows-1) + tuple
}

// maxRowsPerInsert keeps a multi-row insert's placeholders (at most 32 a
// row) well under the limits of both backends.
const maxRowsPerInsert = 200

// chunks calls fn with successive slices of at most maxRowsPerInsert
// elements of xs.
func chunks[T any](xs []T, fn func([]T) error) error {
	for len(xs) > 0 {
		n := min(len(xs), maxRowsPerInsert)
		if err := fn(xs[:n]); err != nil {
			return err
		}
		xs = xs[n:]
	}
	return nil
}

// txAttempts bounds the retries of a billing transaction.
const txAttempts = 5

// billingTx runs fn in a transaction, retrying when PostgreSQL aborts it
// for a serialization failure or a deadlock. The lock order above should
// prevent both; the retry is the safety net. fn must start from scratch on
// every call.
func (s *Store) billingTx(ctx context.Context, fn func(b *btx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx(ctx, func(tx *sql.Tx) error { return fn(&btx{ctx: ctx, s: s, tx: tx}) })
		if err == nil || attempt == txAttempts || !retryable(err) {
			return err
		}
		wait := time.Duration(attempt*attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func retryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
}

// bytewise orders a text column by its bytes, as Go sorts strings, in
// both backends whatever PostgreSQL's default collation.
func (s *Store) bytewise(col string) string {
	if _, ok := s.d.(postgresDialect); ok {
		return col + ` COLLATE "C"`
	}
	return col
}

// notFound is a not_found error with a client-safe message that still
// matches platform.ErrNotFound.
func notFound(format string, args ...any) error {
	return &platform.Error{Kind: platform.KindNotFound, Message: fmt.Sprintf(format, args...), Err: platform.ErrNotFound}
}

// conflict is a conflict error with a client-safe message that still
// matches platform.ErrConflict.
func conflict(format string, args ...any) error {
	return &platform.Error{Kind: platform.KindConflict, Message: fmt.Sprintf(format, args...), Err: platform.ErrConflict}
}

// Months are stored like every time; 0 means none.
func monthTS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ts(t)
}

func fromMonthTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromTS(v)
}

// move posts t against the locked account a in memory: it sets t's ID
// (when empty), OrgID and BalanceAfter and moves a's balance. writeTxns
// stores it; the caller saves a.
func move(a *billing.Account, t *billing.Transaction) error {
	if t.Amount == math.MinInt64 {
		return platform.Invalid("amount_micros", "the amount is out of range")
	}
	after, err := money.Add(a.Balance, t.Amount)
	if err != nil {
		return platform.Invalid("amount_micros", "%s dollars would take the balance of %s dollars out of range",
			money.Decimal(t.Amount), money.Decimal(a.Balance))
	}
	if t.ID == "" {
		t.ID = platform.NewID(prefixLedgerTxn)
	}
	t.OrgID, t.BalanceAfter = a.OrgID, after
	a.Balance = after
	return nil
}

// writeTxns inserts transactions, each with its two entries: the
// organization's account +amount and the kind's counter-account -amount.
func (s *Store) writeTxns(b *btx, txns []*billing.Transaction) error {
	return chunks(txns, func(txns []*billing.Transaction) error {
		args := make([]any, 0, 13*len(txns))
		entries := make([]any, 0, 6*len(txns))
		for _, t := range txns {
			args = append(args, t.ID, t.OrgID, string(t.Kind), int64(t.Amount), int64(t.BalanceAfter), t.RequestID,
				t.GroupID, t.KeyID, t.Model, nullString(t.Reference), t.Memo, t.CreatedBy, ts(t.CreatedAt))
			entries = append(entries, t.ID, billing.OrgAccount(t.OrgID), int64(t.Amount),
				t.ID, billing.CounterAccount(t.Kind), -int64(t.Amount))
		}
		if _, err := b.exec(`INSERT INTO ledger_transactions (`+txnCols+`) VALUES `+valueRows(len(txns), 13), args...); err != nil {
			return fmt.Errorf("insert ledger transactions: %w", err)
		}
		if _, err := b.exec(`INSERT INTO ledger_entries (txn_id, account, amount) VALUES `+valueRows(2*len(txns), 3), entries...); err != nil {
			return fmt.Errorf("insert ledger entries: %w", err)
		}
		return nil
	})
}

// apply posts one transaction against the locked account a.
func (s *Store) apply(b *btx, a *billing.Account, t *billing.Transaction) error {
	if err := move(a, t); err != nil {
		return err
	}
	return s.writeTxns(b, []*billing.Transaction{t})
}
