package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

const tokenCols = `id, org_id, name, role, hash, hint, created_by, created_at, last_used_at, expires_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (*platform.AdminToken, error) {
	var (
		t                          platform.AdminToken
		created                    int64
		lastUsed, expires, revoked sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.OrgID, &t.Name, &t.Role, &t.Hash, &t.Hint, &t.CreatedBy, &created,
		&lastUsed, &expires, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt = fromTS(created)
	t.LastUsedAt, t.ExpiresAt, t.RevokedAt = fromNullTS(lastUsed), fromNullTS(expires), fromNullTS(revoked)
	return &t, nil
}

// CreateAdminToken stores a new admin token (its hash, never the secret).
func (s *Store) CreateAdminToken(ctx context.Context, t *platform.AdminToken, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO admin_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.OrgID, t.Name, string(t.Role), t.Hash, t.Hint, t.CreatedBy, ts(t.CreatedAt),
			nullTS(t.LastUsedAt), nullTS(t.ExpiresAt), nullTS(t.RevokedAt)); err != nil {
			return fmt.Errorf("insert admin token: %w", err)
		}
		return s.audit(ctx, tx, t.OrgID, by, platform.AuditAdminTokenCreated, "admin_token", t.ID,
			map[string]string{"name": t.Name, "role": string(t.Role), "hint": t.Hint})
	})
}

// GetAdminToken reads a token of orgID.
func (s *Store) GetAdminToken(ctx context.Context, orgID, id string) (*platform.AdminToken, error) {
	t, err := scanToken(s.queryRow(ctx, s.db, `SELECT `+tokenCols+` FROM admin_tokens WHERE id = ? AND org_id = ?`, id, orgID))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get admin token: %w", err))
	}
	return t, nil
}

// ListAdminTokens lists an organization's admin tokens, newest first.
func (s *Store) ListAdminTokens(ctx context.Context, orgID string) ([]*platform.AdminToken, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+tokenCols+` FROM admin_tokens WHERE org_id = ? ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list admin tokens: %w", err)
	}
	defer rows.Close()
	var out []*platform.AdminToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scan admin token: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAdminToken stops a token for good; revoking twice is harmless.
func (s *Store) RevokeAdminToken(ctx context.Context, orgID, id string, by platform.Actor) (*platform.AdminToken, error) {
	var out *platform.AdminToken
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, err := scanToken(s.queryRow(ctx, tx, `SELECT `+tokenCols+` FROM admin_tokens WHERE id = ? AND org_id = ?`+
			s.d.forUpdate(), id, orgID))
		if err != nil {
			return fmt.Errorf("get admin token: %w", err)
		}
		out = t
		if t.RevokedAt != nil {
			return nil
		}
		now := s.Now()
		if _, err := s.exec(ctx, tx, `UPDATE admin_tokens SET revoked_at = ? WHERE id = ?`, ts(now), id); err != nil {
			return fmt.Errorf("revoke admin token: %w", err)
		}
		t.RevokedAt = &now
		return s.audit(ctx, tx, orgID, by, platform.AuditAdminTokenRevoked, "admin_token", id,
			map[string]string{"name": t.Name, "hint": t.Hint})
	})
	return out, err
}

// AdminTokenByHash finds a token by the secret's SHA-256.
func (s *Store) AdminTokenByHash(ctx context.Context, hash []byte) (*platform.AdminToken, error) {
	t, err := scanToken(s.queryRow(ctx, s.db, `SELECT `+tokenCols+` FROM admin_tokens WHERE hash = ?`, hash))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("admin token by hash: %w", err))
	}
	return t, nil
}

// TouchAdminTokens records last-use times of admin tokens.
func (s *Store) TouchAdminTokens(ctx context.Context, used map[string]time.Time) error {
	return s.touch(ctx, "admin_tokens", used)
}
