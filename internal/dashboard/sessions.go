package dashboard

import (
	"context"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/session"
)

// Sessions is what the dashboard needs of package session: sign-in,
// resolving and ending sessions, the CSRF check and invitations.
type Sessions interface {
	Login(ctx context.Context, email, password, clientIP string) (secret string, sess *Session, err error)
	Resolve(ctx context.Context, secret string) (*Session, error)
	Logout(ctx context.Context, secret string) error
	CheckCSRF(sess *Session, token string) bool

	Invite(ctx context.Context, p platform.Principal, email, name string, role platform.Role) (*Invitation, string, error)
	Invitations(ctx context.Context, p platform.Principal) ([]*Invitation, error)
	RevokeInvitation(ctx context.Context, p platform.Principal, id string) error
	LookupInvitation(ctx context.Context, token string) (*Invitation, error)
	AcceptInvitation(ctx context.Context, token, password, clientIP string) (secret string, sess *Session, err error)
}

var _ Sessions = (*session.Service)(nil)

// Session is a signed-in member acting in one organization.
type Session = session.Session

// Invitation is an invitation to join the organization.
type Invitation = session.Invitation
