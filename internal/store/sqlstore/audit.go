package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// audit appends one event inside the caller's transaction.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, orgID string, by platform.Actor, action, targetType, targetID string, details map[string]string) error {
	d := []byte("{}")
	if len(details) > 0 {
		var err error
		if d, err = json.Marshal(details); err != nil {
			return fmt.Errorf("audit details: %w", err)
		}
	}
	_, err := s.exec(ctx, tx, `INSERT INTO audit_events
		(id, org_id, actor_type, actor_id, action, target_type, target_id, source_ip, details, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		platform.NewID(platform.PrefixAudit), orgID, string(by.Type), by.ID, action,
		targetType, targetID, by.SourceIP, string(d), ts(s.Now()))
	if err != nil {
		return fmt.Errorf("write audit event %s: %w", action, err)
	}
	return nil
}

// maxAuditPage bounds one read of the audit log.
const maxAuditPage = 5000

// likeEscaper makes a user's text literal inside a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListAudit returns an organization's events, newest first.
func (s *Store) ListAudit(ctx context.Context, orgID string, f platform.AuditFilter) ([]*platform.AuditEvent, error) {
	where := []string{"org_id = ?"}
	args := []any{orgID}
	if f.ActorID != "" {
		where, args = append(where, "actor_id = ?"), append(args, f.ActorID)
	}
	if f.Action != "" {
		// "key." matches every key action; "key.revoked" just that one.
		if strings.HasSuffix(f.Action, ".") {
			where, args = append(where, `action LIKE ? ESCAPE '\'`), append(args, likeEscaper.Replace(f.Action)+"%")
		} else {
			where, args = append(where, "action = ?"), append(args, f.Action)
		}
	}
	if f.TargetID != "" {
		where, args = append(where, "target_id = ?"), append(args, f.TargetID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, ts(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, ts(f.Until))
	}
	if f.Before != "" {
		var seq int64
		if err := s.queryRow(ctx, s.db, `SELECT seq FROM audit_events WHERE id = ? AND org_id = ?`,
			f.Before, orgID).Scan(&seq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, platform.Invalid("before", "unknown cursor %q: pass the next_cursor of a previous page", f.Before)
			}
			return nil, fmt.Errorf("audit cursor: %w", err)
		}
		where, args = append(where, "seq < ?"), append(args, seq)
	}
	limit := min(f.Limit, maxAuditPage)
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.query(ctx, s.db, `SELECT id, org_id, actor_type, actor_id, action, target_type,
		target_id, source_ip, details, created_at FROM audit_events WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY seq DESC LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	var out []*platform.AuditEvent
	for rows.Next() {
		var (
			e       platform.AuditEvent
			details string
			created int64
		)
		if err := rows.Scan(&e.ID, &e.OrgID, &e.ActorType, &e.ActorID, &e.Action, &e.TargetType,
			&e.TargetID, &e.SourceIP, &details, &created); err != nil {
			return nil, fmt.Errorf("scan audit event: %w", err)
		}
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, fmt.Errorf("audit event %s details: %w", e.ID, err)
		}
		e.CreatedAt = fromTS(created)
		out = append(out, &e)
	}
	return out, rows.Err()
}
