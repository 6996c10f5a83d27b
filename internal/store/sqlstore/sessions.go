package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

var _ store.SessionStore = (*Store)(nil)

const sessionCols = `id, secret_hash, user_id, org_id, csrf_token, source_ip, created_at, expires_at, last_seen_at, revoked_at`

func scanSession(row interface{ Scan(...any) error }) (*store.Session, error) {
	var (
		s                        store.Session
		created, expires, lastAt int64
		revoked                  sql.NullInt64
	)
	if err := row.Scan(&s.ID, &s.SecretHash, &s.UserID, &s.OrgID, &s.CSRFToken, &s.SourceIP,
		&created, &expires, &lastAt, &revoked); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = fromTS(created), fromTS(expires), fromTS(lastAt)
	s.RevokedAt = fromNullTS(revoked)
	return &s, nil
}

// CreateSession stores a new session (its secret's hash, never the secret).
func (s *Store) CreateSession(ctx context.Context, sess *store.Session, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertSession(ctx, tx, sess, by) })
}

func (s *Store) insertSession(ctx context.Context, tx *sql.Tx, sess *store.Session, by platform.Actor) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.SecretHash, sess.UserID, sess.OrgID, sess.CSRFToken, sess.SourceIP,
		ts(sess.CreatedAt), ts(sess.ExpiresAt), ts(sess.LastSeenAt), nullTS(sess.RevokedAt)); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return s.audit(ctx, tx, sess.OrgID, by, platform.AuditSessionCreated, "session", sess.ID, nil)
}

// SessionByHash finds a session by its secret's SHA-256.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (*store.Session, error) {
	sess, err := scanSession(s.queryRow(ctx, s.db, `SELECT `+sessionCols+` FROM sessions WHERE secret_hash = ?`, hash))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("session by hash: %w", err))
	}
	return sess, nil
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`,
			ts(at), id, ts(at)); err != nil {
			return fmt.Errorf("touch session: %w", err)
		}
		return nil
	})
}

// EndSession stops a session. Its expiry is lowered to the end so that the
// purge, which walks expiries, also finds ended sessions.
func (s *Store) EndSession(ctx context.Context, id string, at time.Time, reason string, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var (
			orgID   string
			revoked sql.NullInt64
		)
		if err := s.queryRow(ctx, tx, `SELECT org_id, revoked_at FROM sessions WHERE id = ?`+s.d.forUpdate(),
			id).Scan(&orgID, &revoked); err != nil {
			return fmt.Errorf("get session: %w", err)
		}
		if revoked.Valid {
			return nil
		}
		t := ts(at)
		if _, err := s.exec(ctx, tx, `UPDATE sessions SET revoked_at = ?,
			expires_at = CASE WHEN expires_at > ? THEN ? ELSE expires_at END WHERE id = ?`, t, t, t, id); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return s.audit(ctx, tx, orgID, by, platform.AuditSessionEnded, "session", id,
			map[string]string{"reason": reason})
	})
}

// PurgeSessions deletes sessions dead before before, oldest first, at most
// limit of them so one purge never holds the write lock for long.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`, ts(before), limit)
}

func (s *Store) purge(ctx context.Context, query string, args ...any) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, query, args...)
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// UserMemberships lists a user's memberships in every organization, oldest
// first.
func (s *Store) UserMemberships(ctx context.Context, userID string) ([]*platform.Membership, error) {
	ms, err := s.members(ctx, ` WHERE m.user_id = ? ORDER BY m.created_at, m.org_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list user memberships: %w", err)
	}
	return ms, nil
}

// errThrottled rolls back a TakeLoginAttempt that some key refused.
var errThrottled = errors.New("login attempt throttled")

// TakeLoginAttempt counts an attempt against every key, all or nothing. The
// upsert locks each key's row until commit, so concurrent attempts (on any
// replica) are counted one after the other and never all pass a check of
// the same count; keys are taken in byte order so two attempts sharing keys
// cannot deadlock.
func (s *Store) TakeLoginAttempt(ctx context.Context, keys [][]byte, at time.Time, window time.Duration, maxAttempts int) (time.Time, error) {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, bytes.Compare)
	sorted = slices.CompactFunc(sorted, bytes.Equal)
	var retryAt time.Time
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// A window that opened at or before cutoff is over: the key starts a
		// new one with this attempt.
		cutoff := ts(at.Add(-window))
		for _, k := range sorted {
			var (
				n     int
				start int64
			)
			if err := s.queryRow(ctx, tx, `INSERT INTO login_attempts (key_hash, window_start, attempts)
				VALUES (?, ?, 1)
				ON CONFLICT (key_hash) DO UPDATE SET
					attempts = CASE WHEN login_attempts.window_start <= ? THEN 1
						ELSE login_attempts.attempts + 1 END,
					window_start = CASE WHEN login_attempts.window_start <= ? THEN excluded.window_start
						ELSE login_attempts.window_start END
				RETURNING attempts, window_start`, k, ts(at), cutoff, cutoff).Scan(&n, &start); err != nil {
				return fmt.Errorf("count login attempt: %w", err)
			}
			if n > maxAttempts {
				if r := fromTS(start).Add(window); r.After(retryAt) {
					retryAt = r
				}
			}
		}
		if !retryAt.IsZero() {
			return errThrottled
		}
		return nil
	})
	if errors.Is(err, errThrottled) {
		return retryAt, nil
	}
	return time.Time{}, err
}

// RefundLoginAttempt takes one attempt back from key.
func (s *Store) RefundLoginAttempt(ctx context.Context, key []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `UPDATE login_attempts SET attempts = attempts - 1
			WHERE key_hash = ? AND attempts > 0`, key); err != nil {
			return fmt.Errorf("refund login attempt: %w", err)
		}
		return nil
	})
}

// ClearLoginAttempts forgets key's attempts.
func (s *Store) ClearLoginAttempts(ctx context.Context, key []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM login_attempts WHERE key_hash = ?`, key); err != nil {
			return fmt.Errorf("clear login attempts: %w", err)
		}
		return nil
	})
}

// PurgeLoginAttempts deletes windows opened before before, at most limit.
func (s *Store) PurgeLoginAttempts(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, `DELETE FROM login_attempts WHERE key_hash IN
		(SELECT key_hash FROM login_attempts WHERE window_start < ? ORDER BY window_start LIMIT ?)`, ts(before), limit)
}
