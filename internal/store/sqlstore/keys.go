package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

const keyCols = `id, org_id, group_id, name, hash, hint, created_by, created_at, last_used_at,
	expires_at, revoked_at, rotated_from, rotated_to`

func scanKey(row interface{ Scan(...any) error }, extra ...any) (*platform.APIKey, error) {
	var (
		k                          platform.APIKey
		created                    int64
		lastUsed, expires, revoked sql.NullInt64
	)
	dest := append([]any{&k.ID, &k.OrgID, &k.GroupID, &k.Name, &k.Hash, &k.Hint, &k.CreatedBy, &created,
		&lastUsed, &expires, &revoked, &k.RotatedFrom, &k.RotatedTo}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	k.CreatedAt = fromTS(created)
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = fromNullTS(lastUsed), fromNullTS(expires), fromNullTS(revoked)
	return &k, nil
}

func (s *Store) insertKey(ctx context.Context, tx *sql.Tx, k *platform.APIKey) error {
	// The group must exist in the key's organization and be usable. The
	// share lock makes a concurrent DeleteGroup wait for this key, so that
	// it revokes it, or makes this insert wait and see the group deleted.
	var status string
	if err := s.queryRow(ctx, tx, `SELECT status FROM api_groups WHERE id = ? AND org_id = ?`+s.d.forShare(),
		k.GroupID, k.OrgID).Scan(&status); err != nil {
		return fmt.Errorf("key group: %w", err)
	}
	if status == string(platform.GroupDeleted) {
		return fmt.Errorf("key group: %w", sql.ErrNoRows)
	}
	_, err := s.exec(ctx, tx, `INSERT INTO api_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.OrgID, k.GroupID, k.Name, k.Hash, k.Hint, k.CreatedBy, ts(k.CreatedAt),
		nullTS(k.LastUsedAt), nullTS(k.ExpiresAt), nullTS(k.RevokedAt), k.RotatedFrom, k.RotatedTo)
	if err != nil {
		return fmt.Errorf("insert key: %w", err)
	}
	return nil
}

// CreateKey stores a new API key (its hash, never the secret).
func (s *Store) CreateKey(ctx context.Context, k *platform.APIKey, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertKey(ctx, tx, k); err != nil {
			return err
		}
		return s.audit(ctx, tx, k.OrgID, by, platform.AuditKeyCreated, "key", k.ID,
			map[string]string{"name": k.Name, "group_id": k.GroupID, "hint": k.Hint})
	})
}

// GetKey reads a key of orgID.
func (s *Store) GetKey(ctx context.Context, orgID, id string) (*platform.APIKey, error) {
	return s.getKey(ctx, s.db, orgID, id, "")
}

// getKey reads a key; lock is "" or a row lock clause from the dialect.
func (s *Store) getKey(ctx context.Context, q querier, orgID, id, lock string) (*platform.APIKey, error) {
	k, err := scanKey(s.queryRow(ctx, q, `SELECT `+keyCols+` FROM api_keys WHERE id = ? AND org_id = ?`+lock, id, orgID))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get key: %w", err))
	}
	return k, nil
}

// ListKeys lists an organization's keys, newest first.
func (s *Store) ListKeys(ctx context.Context, orgID string, f store.KeyFilter) ([]*platform.APIKey, error) {
	q, args := `SELECT `+keyCols+` FROM api_keys WHERE org_id = ?`, []any{orgID}
	if f.GroupID != "" {
		q, args = q+` AND group_id = ?`, append(args, f.GroupID)
	}
	rows, err := s.query(ctx, s.db, q+` ORDER BY created_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []*platform.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("scan key: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RenameKey changes a key's name.
func (s *Store) RenameKey(ctx context.Context, orgID, id, name string, by platform.Actor) (*platform.APIKey, error) {
	var out *platform.APIKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		k, err := s.getKey(ctx, tx, orgID, id, s.d.forUpdate())
		if err != nil {
			return err
		}
		out = k
		if k.Name == name {
			return nil
		}
		if _, err := s.exec(ctx, tx, `UPDATE api_keys SET name = ? WHERE id = ?`, name, id); err != nil {
			return fmt.Errorf("rename key: %w", err)
		}
		k.Name = name
		return s.audit(ctx, tx, orgID, by, platform.AuditKeyRenamed, "key", id, map[string]string{"name": name})
	})
	return out, err
}

// RevokeKey stops a key for good.
func (s *Store) RevokeKey(ctx context.Context, orgID, id string, by platform.Actor) (*platform.APIKey, error) {
	var out *platform.APIKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		k, err := s.getKey(ctx, tx, orgID, id, s.d.forUpdate())
		if err != nil {
			return err
		}
		out = k
		if k.RevokedAt != nil {
			return nil
		}
		now := s.Now()
		if _, err := s.exec(ctx, tx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, ts(now), id); err != nil {
			return fmt.Errorf("revoke key: %w", err)
		}
		k.RevokedAt = &now
		return s.audit(ctx, tx, orgID, by, platform.AuditKeyRevoked, "key", id,
			map[string]string{"name": k.Name, "hint": k.Hint})
	})
	return out, err
}

// RotateKey replaces key id with next; the old key stops at oldExpiresAt.
func (s *Store) RotateKey(ctx context.Context, orgID, id string, next *platform.APIKey, oldExpiresAt time.Time, by platform.Actor) (*platform.APIKey, error) {
	var out *platform.APIKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := s.getKey(ctx, tx, orgID, id, "")
		if err != nil {
			return err
		}
		// Lock the group before the key, the order DeleteGroup takes them
		// in, so a rotation racing a deletion waits instead of deadlocking;
		// then re-read the key under its lock, so concurrent rotations and
		// revocations queue up and see each other's result.
		if _, err := s.exec(ctx, tx, `SELECT 1 FROM api_groups WHERE id = ?`+s.d.forShare(), old.GroupID); err != nil {
			return fmt.Errorf("lock key group: %w", err)
		}
		if old, err = s.getKey(ctx, tx, orgID, id, s.d.forUpdate()); err != nil {
			return err
		}
		now := s.Now()
		if st := old.Status(now); st != platform.KeyActive {
			if old.RotatedTo != "" && st == platform.KeyRotating {
				return platform.Errorf(platform.KindConflict, "key %s was already rotated; rotate its successor %s instead", id, old.RotatedTo)
			}
			return platform.Errorf(platform.KindConflict, "key %s is %s and cannot be rotated", id, st)
		}
		next.GroupID, next.OrgID, next.RotatedFrom = old.GroupID, old.OrgID, old.ID
		if err := s.insertKey(ctx, tx, next); err != nil {
			return err
		}
		if old.ExpiresAt != nil && old.ExpiresAt.Before(oldExpiresAt) {
			oldExpiresAt = *old.ExpiresAt
		}
		var revoked sql.NullInt64
		if !oldExpiresAt.After(now) {
			revoked = sql.NullInt64{Int64: ts(now), Valid: true}
		}
		// The rotated_to guard makes two concurrent rotations of one key
		// produce one successor, not two.
		if err := mustAffect(s.exec(ctx, tx, `UPDATE api_keys SET rotated_to = ?, expires_at = ?, revoked_at = ?
			WHERE id = ? AND rotated_to = '' AND revoked_at IS NULL`, next.ID, ts(oldExpiresAt), revoked, id)); err != nil {
			return platform.Errorf(platform.KindConflict, "key %s was rotated or revoked concurrently", id)
		}
		old.RotatedTo, old.ExpiresAt, old.RevokedAt = next.ID, &oldExpiresAt, fromNullTS(revoked)
		out = old
		return s.audit(ctx, tx, orgID, by, platform.AuditKeyRotated, "key", id, map[string]string{
			"successor": next.ID, "old_expires_at": oldExpiresAt.Format(time.RFC3339), "hint": next.Hint,
		})
	})
	return out, err
}

// KeyByHash finds a key and its group's status by the secret's SHA-256.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*store.KeyAuth, error) {
	var ka store.KeyAuth
	k, err := scanKey(s.queryRow(ctx, s.db, `SELECT k.id, k.org_id, k.group_id, k.name, k.hash, k.hint,
		k.created_by, k.created_at, k.last_used_at, k.expires_at, k.revoked_at, k.rotated_from, k.rotated_to, g.status
		FROM api_keys k JOIN api_groups g ON g.id = k.group_id WHERE k.hash = ?`, hash), &ka.GroupStatus)
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("key by hash: %w", err))
	}
	ka.Key = *k
	return &ka, nil
}

// TouchKeys records last-use times; it never moves a time backwards.
func (s *Store) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	return s.touch(ctx, "api_keys", used)
}

func (s *Store) touch(ctx context.Context, table string, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	// A fixed order keeps concurrent batches from deadlocking in PostgreSQL.
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			t := ts(used[id])
			if _, err := s.exec(ctx, tx, `UPDATE `+table+` SET last_used_at = ?
				WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, t, id, t); err != nil {
				return fmt.Errorf("touch %s: %w", table, err)
			}
		}
		return nil
	})
}
