package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

const invitationCols = `id, org_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at`

func scanInvitation(row interface{ Scan(...any) error }) (*store.Invitation, error) {
	var (
		inv               store.Invitation
		created, expires  int64
		accepted, revoked sql.NullInt64
	)
	if err := row.Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.Role, &inv.TokenHash, &inv.InvitedBy,
		&created, &expires, &accepted, &revoked); err != nil {
		return nil, err
	}
	inv.CreatedAt, inv.ExpiresAt = fromTS(created), fromTS(expires)
	inv.AcceptedAt, inv.RevokedAt = fromNullTS(accepted), fromNullTS(revoked)
	return &inv, nil
}

// invitationFacts are the audit details of an invitation: who and as what,
// never the token.
func invitationFacts(inv *store.Invitation) map[string]string {
	return map[string]string{"email": inv.Email, "role": string(inv.Role)}
}

// CreateInvitation stores an invitation (its token's hash, never the token).
func (s *Store) CreateInvitation(ctx context.Context, inv *store.Invitation, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO invitations (`+invitationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			inv.ID, inv.OrgID, inv.Email, string(inv.Role), inv.TokenHash, inv.InvitedBy,
			ts(inv.CreatedAt), ts(inv.ExpiresAt), nullTS(inv.AcceptedAt), nullTS(inv.RevokedAt)); err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		return s.audit(ctx, tx, inv.OrgID, by, platform.AuditInvitationCreated, "invitation", inv.ID, invitationFacts(inv))
	})
}

// GetInvitation reads an invitation of orgID.
func (s *Store) GetInvitation(ctx context.Context, orgID, id string) (*store.Invitation, error) {
	inv, err := scanInvitation(s.queryRow(ctx, s.db, `SELECT `+invitationCols+` FROM invitations
		WHERE id = ? AND org_id = ?`, id, orgID))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("get invitation: %w", err))
	}
	return inv, nil
}

// InvitationByHash finds an invitation by its token's SHA-256.
func (s *Store) InvitationByHash(ctx context.Context, hash []byte) (*store.Invitation, error) {
	inv, err := scanInvitation(s.queryRow(ctx, s.db, `SELECT `+invitationCols+` FROM invitations
		WHERE token_hash = ?`, hash))
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("invitation by hash: %w", err))
	}
	return inv, nil
}

// ListInvitations lists orgID's invitations pending at now, newest first.
func (s *Store) ListInvitations(ctx context.Context, orgID string, now time.Time) ([]*store.Invitation, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+invitationCols+` FROM invitations
		WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		ORDER BY created_at DESC, id`, orgID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	var out []*store.Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, fmt.Errorf("scan invitation: %w", err)
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// errInvitationAccepted refuses to revoke what was already used.
var errInvitationAccepted = platform.Errorf(platform.KindConflict,
	"this invitation was already accepted; remove the member instead")

// RevokeInvitation stops a pending invitation.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, id string, at time.Time, by platform.Actor) (*store.Invitation, error) {
	var out *store.Invitation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvitation(s.queryRow(ctx, tx, `SELECT `+invitationCols+` FROM invitations
			WHERE id = ? AND org_id = ?`+s.d.forUpdate(), id, orgID))
		if err != nil {
			return fmt.Errorf("get invitation: %w", err)
		}
		out = inv
		switch {
		case inv.AcceptedAt != nil:
			return errInvitationAccepted
		case inv.RevokedAt != nil:
			return nil
		}
		if _, err := s.exec(ctx, tx, `UPDATE invitations SET revoked_at = ? WHERE id = ?`, ts(at), id); err != nil {
			return fmt.Errorf("revoke invitation: %w", err)
		}
		inv.RevokedAt = &at
		return s.audit(ctx, tx, orgID, by, platform.AuditInvitationRevoked, "invitation", id, invitationFacts(inv))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errInvitationGone is what accepting an invitation that cannot be used
// returns, whatever the reason: the caller learns nothing more from it.
var errInvitationGone = fmt.Errorf("%w: the invitation is used, revoked, expired or its member left", platform.ErrNotFound)

// errHasPassword refuses to overwrite a password through an invitation:
// whoever holds the link must not take over an existing account.
var errHasPassword = platform.Errorf(platform.KindConflict,
	"this account already has a password; sign in with it to accept the invitation")

// errInvitedFirstElsewhere refuses to set a password through the link of
// an organization other than the one the account joined first.
var errInvitedFirstElsewhere = platform.Errorf(platform.KindConflict,
	"this account was invited to another organization first; accept that invitation to choose your password, then this one with it")

// AcceptInvitation uses an invitation once and signs its user in. The
// conditional updates make a second, concurrent acceptance find nothing
// left to use.
func (s *Store) AcceptInvitation(ctx context.Context, id, passwordHash string, sess *store.Session, by platform.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvitation(s.queryRow(ctx, tx, `SELECT `+invitationCols+` FROM invitations
			WHERE id = ?`+s.d.forUpdate(), id))
		if err != nil {
			return fmt.Errorf("get invitation: %w", err)
		}
		if !inv.Pending(sess.CreatedAt) || inv.OrgID != sess.OrgID {
			return errInvitationGone
		}
		var one int
		if err := s.queryRow(ctx, tx, `SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.org_id = ? AND m.user_id = ? AND u.email = ?`, inv.OrgID, sess.UserID, inv.Email).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errInvitationGone
			}
			return fmt.Errorf("check invited member: %w", err)
		}
		at := ts(sess.CreatedAt)
		if err := mustAffect(s.exec(ctx, tx, `UPDATE invitations SET accepted_at = ?
			WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, at, id)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errInvitationGone
			}
			return fmt.Errorf("accept invitation: %w", err)
		}
		if err := s.audit(ctx, tx, inv.OrgID, by, platform.AuditInvitationAccepted, "invitation", id,
			invitationFacts(inv)); err != nil {
			return err
		}
		if passwordHash != "" {
			// Only the organization the user joined first may have the
			// password chosen through its link: sign-in opens that
			// organization, and a later one's admin, who holds the later
			// link, must not take over an account someone else invited.
			var first string
			if err := s.queryRow(ctx, tx, `SELECT org_id FROM memberships WHERE user_id = ?
				ORDER BY created_at, org_id LIMIT 1`, sess.UserID).Scan(&first); err != nil {
				return fmt.Errorf("first membership: %w", err)
			}
			if first != inv.OrgID {
				return errInvitedFirstElsewhere
			}
			if err := mustAffect(s.exec(ctx, tx, `UPDATE users SET password_hash = ?
				WHERE id = ? AND password_hash = ''`, passwordHash, sess.UserID)); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return errHasPassword
				}
				return fmt.Errorf("set password: %w", err)
			}
			if err := s.audit(ctx, tx, inv.OrgID, by, platform.AuditUserPasswordSet, "user", sess.UserID, nil); err != nil {
				return err
			}
		}
		return s.insertSession(ctx, tx, sess, by)
	})
}
