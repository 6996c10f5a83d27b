package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// CreateGroup stores a new API group.
func (s *Store) CreateGroup(ctx context.Context, g *platform.Group, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO api_groups (id, org_id, name, description, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, g.ID, g.OrgID, g.Name, g.Description, string(g.Status),
			ts(g.CreatedAt), ts(g.UpdatedAt)); err != nil {
			return fmt.Errorf("insert group: %w", err)
		}
		return s.audit(ctx, tx, g.OrgID, by, platform.AuditGroupCreated, "group", g.ID, map[string]string{"name": g.Name})
	})
}

const groupCols = `id, org_id, name, description, status, created_at, updated_at`

func scanGroup(row interface{ Scan(...any) error }) (*platform.Group, error) {
	var (
		g                platform.Group
		created, updated int64
	)
	if err := row.Scan(&g.ID, &g.OrgID, &g.Name, &g.Description, &g.Status, &created, &updated); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = fromTS(created), fromTS(updated)
	return &g, nil
}

// GetGroup reads a group of orgID; deleted groups are not found.
func (s *Store) GetGroup(ctx context.Context, orgID, id string) (*platform.Group, error) {
	return s.getGroup(ctx, s.db, orgID, id, "")
}

// getGroup reads a live group; lock is "" or a row lock clause from the
// dialect.
func (s *Store) getGroup(ctx context.Context, q querier, orgID, id, lock string) (*platform.Group, error) {
	g, err := scanGroup(s.queryRow(ctx, q, `SELECT `+groupCols+` FROM api_groups
		WHERE id = ? AND org_id = ? AND status <> 'deleted'`+lock, id, orgID))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get group: %w", err))
	}
	return g, nil
}

// ListGroups lists an organization's groups (not deleted ones), by name.
func (s *Store) ListGroups(ctx context.Context, orgID string) ([]*platform.Group, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+groupCols+` FROM api_groups
		WHERE org_id = ? AND status <> 'deleted' ORDER BY name, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	var out []*platform.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("scan group: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UpdateGroup changes a group's name, description or status.
func (s *Store) UpdateGroup(ctx context.Context, orgID, id string, u platform.GroupUpdate, by platform.Actor) (*platform.Group, error) {
	var out *platform.Group
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Locked: UpdateGroup writes every column back, so a concurrent
		// update of another field must not be read stale and undone.
		g, err := s.getGroup(ctx, tx, orgID, id, s.d.forUpdate())
		if err != nil {
			return err
		}
		details := map[string]string{}
		if u.Name != nil && *u.Name != g.Name {
			g.Name, details["name"] = *u.Name, *u.Name
		}
		if u.Description != nil && *u.Description != g.Description {
			g.Description, details["description"] = *u.Description, "changed"
		}
		if u.Status != nil && *u.Status != g.Status {
			g.Status, details["status"] = *u.Status, string(*u.Status)
		}
		if err := g.Validate(); err != nil {
			return err
		}
		out = g
		if len(details) == 0 {
			return nil
		}
		g.UpdatedAt = s.Now()
		if _, err := s.exec(ctx, tx, `UPDATE api_groups SET name = ?, description = ?, status = ?, updated_at = ?
			WHERE id = ?`, g.Name, g.Description, string(g.Status), ts(g.UpdatedAt), id); err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		return s.audit(ctx, tx, orgID, by, platform.AuditGroupUpdated, "group", id, details)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteGroup marks a group deleted and revokes every key in it.
func (s *Store) DeleteGroup(ctx context.Context, orgID, id string, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.Now())
		if err := mustAffect(s.exec(ctx, tx, `UPDATE api_groups SET status = 'deleted', updated_at = ?
			WHERE id = ? AND org_id = ? AND status <> 'deleted'`, now, id, orgID)); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if err := s.d.lockGroupKeys(ctx, tx, id); err != nil {
			return fmt.Errorf("lock group keys: %w", err)
		}
		res, err := s.exec(ctx, tx, `UPDATE api_keys SET revoked_at = ? WHERE group_id = ? AND revoked_at IS NULL`, now, id)
		if err != nil {
			return fmt.Errorf("revoke group keys: %w", err)
		}
		n, _ := res.RowsAffected()
		return s.audit(ctx, tx, orgID, by, platform.AuditGroupDeleted, "group", id,
			map[string]string{"keys_revoked": fmt.Sprint(n)})
	})
}
