package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// CreateOrg stores a new organization.
func (s *Store) CreateOrg(ctx context.Context, o *platform.Org, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`,
			o.ID, o.Name, ts(o.CreatedAt)); err != nil {
			return fmt.Errorf("insert org: %w", err)
		}
		return s.audit(ctx, tx, o.ID, by, platform.AuditOrgCreated, "org", o.ID, map[string]string{"name": o.Name})
	})
}

const orgCols = `id, name, created_at`

func scanOrg(row interface{ Scan(...any) error }) (*platform.Org, error) {
	var (
		o       platform.Org
		created int64
	)
	if err := row.Scan(&o.ID, &o.Name, &created); err != nil {
		return nil, err
	}
	o.CreatedAt = fromTS(created)
	return &o, nil
}

// GetOrg reads one organization.
func (s *Store) GetOrg(ctx context.Context, id string) (*platform.Org, error) {
	o, err := scanOrg(s.queryRow(ctx, s.db, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get org: %w", err))
	}
	return o, nil
}

// ListOrgs lists every organization, oldest first.
func (s *Store) ListOrgs(ctx context.Context) ([]*platform.Org, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+orgCols+` FROM orgs ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list orgs: %w", err)
	}
	defer rows.Close()
	var out []*platform.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("scan org: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// RenameOrg changes an organization's name.
func (s *Store) RenameOrg(ctx context.Context, id, name string, by platform.Actor) (*platform.Org, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(s.exec(ctx, tx, `UPDATE orgs SET name = ? WHERE id = ?`, name, id)); err != nil {
			return fmt.Errorf("rename org: %w", err)
		}
		return s.audit(ctx, tx, id, by, platform.AuditOrgUpdated, "org", id, map[string]string{"name": name})
	})
	if err != nil {
		return nil, err
	}
	return s.GetOrg(ctx, id)
}

// CreateUser stores a new user; the email must be unused.
func (s *Store) CreateUser(ctx context.Context, u *platform.User, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO users (id, email, name, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?)`, u.ID, u.Email, u.Name, u.PasswordHash, ts(u.CreatedAt)); err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return nil
	})
}

const userCols = `id, email, name, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (*platform.User, error) {
	var (
		u       platform.User
		created int64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromTS(created)
	return &u, nil
}

// GetUser reads a user by ID.
func (s *Store) GetUser(ctx context.Context, id string) (*platform.User, error) {
	u, err := scanUser(s.queryRow(ctx, s.db, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get user: %w", err))
	}
	return u, nil
}

// GetUserByEmail reads a user by normalized email.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*platform.User, error) {
	u, err := scanUser(s.queryRow(ctx, s.db, `SELECT `+userCols+` FROM users WHERE email = ?`, email))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get user by email: %w", err))
	}
	return u, nil
}

// SetPassword replaces a user's password hash and records it in orgID's log.
func (s *Store) SetPassword(ctx context.Context, orgID, userID, hash string, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(s.exec(ctx, tx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		// A new password signs the user out everywhere: whoever knew the
		// old one keeps no session made with it.
		t := ts(s.Now())
		res, err := s.exec(ctx, tx, `UPDATE sessions SET revoked_at = ?,
			expires_at = CASE WHEN expires_at > ? THEN ? ELSE expires_at END
			WHERE user_id = ? AND revoked_at IS NULL`, t, t, t, userID)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		ended, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return s.audit(ctx, tx, orgID, by, platform.AuditUserPasswordSet, "user", userID,
			map[string]string{"sessions_ended": strconv.FormatInt(ended, 10)})
	})
}

// AddMember gives a user a role in an organization.
func (s *Store) AddMember(ctx context.Context, m *platform.Membership, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO memberships (org_id, user_id, role, created_at)
			VALUES (?, ?, ?, ?)`, m.OrgID, m.UserID, string(m.Role), ts(m.CreatedAt)); err != nil {
			return fmt.Errorf("insert membership: %w", err)
		}
		return s.audit(ctx, tx, m.OrgID, by, platform.AuditMemberAdded, "user", m.UserID,
			map[string]string{"role": string(m.Role)})
	})
}

const memberSelect = `SELECT m.org_id, m.user_id, u.email, u.name, m.role, m.created_at
	FROM memberships m JOIN users u ON u.id = m.user_id`

func scanMember(row interface{ Scan(...any) error }) (*platform.Membership, error) {
	var (
		m       platform.Membership
		created int64
	)
	if err := row.Scan(&m.OrgID, &m.UserID, &m.Email, &m.Name, &m.Role, &created); err != nil {
		return nil, err
	}
	m.CreatedAt = fromTS(created)
	return &m, nil
}

// GetMember reads one membership.
func (s *Store) GetMember(ctx context.Context, orgID, userID string) (*platform.Membership, error) {
	m, err := scanMember(s.queryRow(ctx, s.db, memberSelect+` WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get member: %w", err))
	}
	return m, nil
}

// ListMembers lists an organization's members, oldest first.
func (s *Store) ListMembers(ctx context.Context, orgID string) ([]*platform.Membership, error) {
	ms, err := s.members(ctx, ` WHERE m.org_id = ? ORDER BY m.created_at, u.email`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return ms, nil
}

// members runs memberSelect with a WHERE and ORDER BY clause.
func (s *Store) members(ctx context.Context, where string, args ...any) ([]*platform.Membership, error) {
	rows, err := s.query(ctx, s.db, memberSelect+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*platform.Membership
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// errLastOwner is returned when a change would leave an organization without
// an owner.
var errLastOwner = platform.Errorf(platform.KindConflict,
	"this is the organization's last owner; make another member owner first")

// ownerGuard locks the organization and refuses to touch its last owner.
func (s *Store) ownerGuard(ctx context.Context, tx *sql.Tx, orgID, userID string) (current platform.Role, err error) {
	if err := s.d.lockOrg(ctx, tx, orgID); err != nil {
		return "", fmt.Errorf("lock org: %w", err)
	}
	if err := s.queryRow(ctx, tx, `SELECT role FROM memberships WHERE org_id = ? AND user_id = ?`,
		orgID, userID).Scan(&current); err != nil {
		return "", fmt.Errorf("get member: %w", err)
	}
	return current, nil
}

func (s *Store) ownerCount(ctx context.Context, tx *sql.Tx, orgID string) (int, error) {
	var n int
	err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM memberships WHERE org_id = ? AND role = 'owner'`, orgID).Scan(&n)
	return n, err
}

// SetMemberRole changes a member's role.
func (s *Store) SetMemberRole(ctx context.Context, orgID, userID string, role platform.Role, by platform.Actor) (*platform.Membership, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		current, err := s.ownerGuard(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if current == role {
			return nil
		}
		if current == platform.RoleOwner {
			if n, err := s.ownerCount(ctx, tx, orgID); err != nil {
				return err
			} else if n <= 1 {
				return errLastOwner
			}
		}
		if _, err := s.exec(ctx, tx, `UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?`,
			string(role), orgID, userID); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return s.audit(ctx, tx, orgID, by, platform.AuditMemberRoleChanged, "user", userID,
			map[string]string{"from": string(current), "to": string(role)})
	})
	if err != nil {
		return nil, err
	}
	return s.GetMember(ctx, orgID, userID)
}

// RemoveMember takes a user out of an organization.
func (s *Store) RemoveMember(ctx context.Context, orgID, userID string, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		current, err := s.ownerGuard(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if current == platform.RoleOwner {
			if n, err := s.ownerCount(ctx, tx, orgID); err != nil {
				return err
			} else if n <= 1 {
				return errLastOwner
			}
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		return s.audit(ctx, tx, orgID, by, platform.AuditMemberRemoved, "user", userID,
			map[string]string{"role": string(current)})
	})
}
