package store

import (
	"context"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Session is a stored dashboard sign-in. It holds the SHA-256 of the
// session's secret, never the secret.
type Session struct {
	ID         string
	SecretHash []byte
	UserID     string
	OrgID      string
	// CSRFToken is random per session. It is stored as is: alone it grants
	// nothing, and forms must be checked against it.
	CSRFToken  string
	SourceIP   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	RevokedAt  *time.Time
}

// Invitation is a stored invitation to join an organization. It holds the
// SHA-256 of the invitation's token, never the token.
type Invitation struct {
	ID         string
	OrgID      string
	Email      string
	Role       platform.Role
	TokenHash  []byte
	InvitedBy  string // the actor ID of whoever invited
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
}

// Pending reports whether the invitation may still be accepted at now.
func (i *Invitation) Pending(now time.Time) bool {
	return i.AcceptedAt == nil && i.RevokedAt == nil && now.Before(i.ExpiresAt)
}

// SessionStore persists dashboard sessions, invitations and the counts of
// sign-in attempts that throttle password guessing. It is apart from Store
// so that code which implements or wraps Store need not grow with it.
// Mutations that matter to an organization write their audit event in the
// same transaction, as Store's do.
type SessionStore interface {
	// CreateSession stores a new session and audits session.created.
	CreateSession(ctx context.Context, s *Session, by platform.Actor) error
	// SessionByHash finds a session, live or not, by its secret's SHA-256.
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// TouchSession records activity; the time never moves backwards.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// EndSession stops a session at at (and no later than its expiry) and
	// audits session.ended with reason. Ending an ended session changes
	// nothing and is not an error.
	EndSession(ctx context.Context, id string, at time.Time, reason string, by platform.Actor) error
	// PurgeSessions deletes up to limit sessions that expired or ended
	// before before, and returns how many it deleted.
	PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// UserMemberships lists a user's memberships, oldest first.
	UserMemberships(ctx context.Context, userID string) ([]*platform.Membership, error)

	// TakeLoginAttempt counts one sign-in attempt against every key. Each
	// key has a window that opens at its first attempt and lasts window.
	// When a key already had maxAttempts attempts in its window, nothing is counted
	// (all or nothing) and retryAt is when the attempt would fit; a zero
	// retryAt means the attempt was counted.
	TakeLoginAttempt(ctx context.Context, keys [][]byte, at time.Time, window time.Duration, maxAttempts int) (retryAt time.Time, err error)
	// RefundLoginAttempt takes one attempt back from key's current window.
	RefundLoginAttempt(ctx context.Context, key []byte) error
	// ClearLoginAttempts forgets key's attempts.
	ClearLoginAttempts(ctx context.Context, key []byte) error
	// PurgeLoginAttempts deletes up to limit attempt windows opened before
	// before, and returns how many it deleted.
	PurgeLoginAttempts(ctx context.Context, before time.Time, limit int) (int, error)

	// CreateInvitation stores an invitation and audits invitation.created.
	CreateInvitation(ctx context.Context, inv *Invitation, by platform.Actor) error
	// GetInvitation reads an invitation of orgID.
	GetInvitation(ctx context.Context, orgID, id string) (*Invitation, error)
	// InvitationByHash finds an invitation, pending or not, by its token's
	// SHA-256.
	InvitationByHash(ctx context.Context, hash []byte) (*Invitation, error)
	// ListInvitations lists orgID's invitations pending at now, newest first.
	ListInvitations(ctx context.Context, orgID string, now time.Time) ([]*Invitation, error)
	// RevokeInvitation stops a pending invitation and audits
	// invitation.revoked. Revoking a revoked one changes nothing; an accepted
	// one is a conflict.
	RevokeInvitation(ctx context.Context, orgID, id string, at time.Time, by platform.Actor) (*Invitation, error)
	// AcceptInvitation uses invitation id once, in one transaction: it
	// refuses (not_found) an invitation that is not pending at sess.CreatedAt
	// or whose member has left the organization; sets the user's password
	// hash when passwordHash is not empty (conflict when the user already
	// has one, or when the invitation's organization is not the one the
	// user joined first); stores sess; and audits invitation.accepted,
	// user.password_set and session.created.
	AcceptInvitation(ctx context.Context, id, passwordHash string, sess *Session, by platform.Actor) error
}
