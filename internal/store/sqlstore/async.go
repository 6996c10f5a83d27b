package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/async"
)

// The async job queue (async.Store). Claims are single UPDATE statements
// whose WHERE clause re-checks that the job is still claimable, so two
// workers never both take a job, whatever the backend: on PostgreSQL the
// candidate row is also picked FOR UPDATE SKIP LOCKED, so concurrent
// replicas take different jobs instead of queueing on the same row; on
// SQLite the IMMEDIATE transaction holds the database's one write lock.

var _ async.Store = (*Store)(nil)

const asyncCols = `id, org_id, group_id, key_id, model, request, idempotency_key, status, created_at, expires_at,
	started_at, completed_at, failed_at, error_message, response, attempts`

// asyncSummaryCols are the list columns: no request and no response.
const asyncSummaryCols = `id, org_id, group_id, key_id, model, '', idempotency_key, status, created_at, expires_at,
	started_at, completed_at, failed_at, '', '', attempts`

func scanAsyncJob(row interface{ Scan(...any) error }) (*async.Job, error) {
	var (
		j                          async.Job
		request                    string
		idem, errMsg, response     sql.NullString
		created, expires           int64
		started, completed, failed sql.NullInt64
	)
	if err := row.Scan(&j.ID, &j.OrgID, &j.GroupID, &j.KeyID, &j.Model, &request, &idem, &j.Status, &created, &expires,
		&started, &completed, &failed, &errMsg, &response, &j.Attempts); err != nil {
		return nil, err
	}
	if request != "" {
		j.Request = []byte(request)
	}
	if response.String != "" {
		j.Response = []byte(response.String)
	}
	j.IdempotencyKey, j.ErrorMessage = idem.String, errMsg.String
	j.CreatedAt, j.ExpiresAt = fromTS(created), fromTS(expires)
	j.StartedAt, j.CompletedAt, j.FailedAt = fromNullTS(started), fromNullTS(completed), fromNullTS(failed)
	return &j, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// skipLocked ends the SELECT that picks a job to claim.
func (s *Store) skipLocked() string {
	if _, ok := s.d.(postgresDialect); ok {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// CreateAsyncJob inserts j, or returns the live job of j's group that
// holds j's idempotency key (and false).
func (s *Store) CreateAsyncJob(ctx context.Context, j *async.Job, now time.Time) (*async.Job, bool, error) {
	var (
		out     *async.Job
		created bool
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if j.IdempotencyKey != "" {
			// An expired job keeps its key until the janitor runs; it must
			// not block (or be returned for) a new submission.
			if _, err := s.exec(ctx, tx, `DELETE FROM async_jobs WHERE group_id = ? AND idempotency_key = ? AND expires_at <= ?`,
				j.GroupID, j.IdempotencyKey, ts(now)); err != nil {
				return fmt.Errorf("delete expired job with the idempotency key: %w", err)
			}
		}
		// ON CONFLICT DO NOTHING waits for a concurrent insert of the same
		// key to commit and then skips, so the read below finds its job.
		res, err := s.exec(ctx, tx, `INSERT INTO async_jobs (id, org_id, group_id, key_id, model, request, idempotency_key,
			status, created_at, expires_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
			ON CONFLICT (group_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
			j.ID, j.OrgID, j.GroupID, j.KeyID, j.Model, string(j.Request), nullString(j.IdempotencyKey),
			string(async.StatusCreated), ts(j.CreatedAt), ts(j.ExpiresAt))
		if err != nil {
			return fmt.Errorf("insert async job: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if created = n == 1; created {
			out, err = s.getAsyncJob(ctx, tx, `id = ?`, j.ID)
		} else {
			out, err = s.getAsyncJob(ctx, tx, `group_id = ? AND idempotency_key = ? AND expires_at > ?`,
				j.GroupID, j.IdempotencyKey, ts(now))
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// getAsyncJob reads the one job matching where.
func (s *Store) getAsyncJob(ctx context.Context, q querier, where string, args ...any) (*async.Job, error) {
	j, err := scanAsyncJob(s.queryRow(ctx, q, `SELECT `+asyncCols+` FROM async_jobs WHERE `+where, args...))
	if err != nil {
		return nil, fmt.Errorf("read async job: %w", err)
	}
	return j, nil
}

// GetAsyncJob reads a live job of a group.
func (s *Store) GetAsyncJob(ctx context.Context, orgID, groupID, id string, now time.Time) (*async.Job, error) {
	j, err := s.getAsyncJob(ctx, s.db, `id = ? AND org_id = ? AND group_id = ? AND expires_at > ?`,
		id, orgID, groupID, ts(now))
	if err != nil {
		return nil, s.mapErr(err)
	}
	return j, nil
}

// ListAsyncJobs lists a group's live jobs, newest first.
func (s *Store) ListAsyncJobs(ctx context.Context, orgID, groupID string, after *async.Cursor, limit int, now time.Time) ([]*async.Job, error) {
	q := `SELECT ` + asyncSummaryCols + ` FROM async_jobs WHERE org_id = ? AND group_id = ? AND expires_at > ?`
	args := []any{orgID, groupID, ts(now)}
	if after != nil {
		at := ts(after.CreatedAt)
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, after.ID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.query(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list async jobs: %w", err)
	}
	defer rows.Close()
	var out []*async.Job
	for rows.Next() {
		j, err := scanAsyncJob(rows)
		if err != nil {
			return nil, fmt.Errorf("scan async job: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// claimable is the condition of a job a worker may take at now (the
// first argument).
const claimable = `(status = 'CREATED' OR (status = 'IN_PROGRESS' AND lease_until < ?))`

// ClaimAsyncJob takes the oldest claimable job under token.
func (s *Store) ClaimAsyncJob(ctx context.Context, token string, now, leaseUntil time.Time) (*async.Job, error) {
	var out *async.Job
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n := ts(now)
		j, err := scanAsyncJob(s.queryRow(ctx, tx, `UPDATE async_jobs
			SET status = 'IN_PROGRESS', claim_token = ?, lease_until = ?, started_at = ?, attempts = attempts + 1
			WHERE id = (SELECT id FROM async_jobs WHERE `+claimable+` AND expires_at > ?
			            ORDER BY created_at, id LIMIT 1`+s.skipLocked()+`)
			  AND `+claimable+`
			RETURNING `+asyncCols, token, ts(leaseUntil), n, n, n, n))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim async job: %w", err)
		}
		out = j
		return nil
	})
	return out, err
}

// ExtendAsyncLease renews a claim.
func (s *Store) ExtendAsyncLease(ctx context.Context, id, token string, leaseUntil time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(s.exec(ctx, tx, `UPDATE async_jobs SET lease_until = ?
			WHERE id = ? AND claim_token = ? AND status = 'IN_PROGRESS'`, ts(leaseUntil), id, token)); err != nil {
			return fmt.Errorf("extend async lease: %w", err)
		}
		return nil
	})
}

// FinishAsyncJob records a run's outcome, if the claim still holds.
func (s *Store) FinishAsyncJob(ctx context.Context, id, token string, o async.Outcome) error {
	var (
		q    string
		args []any
	)
	switch o.Status {
	case async.StatusCompleted:
		q = `UPDATE async_jobs SET status = 'COMPLETED', completed_at = ?, response = ?, claim_token = NULL, lease_until = NULL`
		args = []any{ts(o.At), string(o.Response)}
	case async.StatusFailed:
		q = `UPDATE async_jobs SET status = 'FAILED', failed_at = ?, error_message = ?, claim_token = NULL, lease_until = NULL`
		args = []any{ts(o.At), o.ErrorMessage}
	default:
		return fmt.Errorf("finish async job: status %q is not final", o.Status)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(s.exec(ctx, tx, q+` WHERE id = ? AND claim_token = ? AND status = 'IN_PROGRESS'`,
			append(args, id, token)...)); err != nil {
			return fmt.Errorf("finish async job: %w", err)
		}
		return nil
	})
}

// ReleaseAsyncJob queues a claimed job again.
func (s *Store) ReleaseAsyncJob(ctx context.Context, id, token string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(s.exec(ctx, tx, `UPDATE async_jobs SET status = 'CREATED', claim_token = NULL,
			lease_until = NULL, started_at = NULL, attempts = attempts - 1
			WHERE id = ? AND claim_token = ? AND status = 'IN_PROGRESS'`, id, token)); err != nil {
			return fmt.Errorf("release async job: %w", err)
		}
		return nil
	})
}

// DeleteExpiredAsyncJobs deletes a batch of expired jobs.
func (s *Store) DeleteExpiredAsyncJobs(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM async_jobs WHERE id IN
			(SELECT id FROM async_jobs WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, ts(now), limit)
		if err != nil {
			return fmt.Errorf("delete expired async jobs: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
