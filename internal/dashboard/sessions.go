package dashboard

import (
	"context"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Sessions is what the dashboard needs of package session: sign-in,
// resolving and ending sessions, the CSRF check and invitations. Package
// session's *Service implements it.
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

// Session mirrors session.Session until that package lands.
type Session struct {
	ID         string
	UserID     string
	OrgID      string
	Email      string
	Name       string
	Role       platform.Role
	CSRFToken  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// Principal is the governance principal of the session.
func (s *Session) Principal(sourceIP string) platform.Principal {
	return platform.Principal{OrgID: s.OrgID, Role: s.Role,
		Actor: platform.Actor{Type: platform.ActorUser, ID: s.UserID, SourceIP: sourceIP}}
}

// Invitation mirrors session.Invitation until that package lands.
type Invitation struct {
	ID, OrgID, Email string
	Role             platform.Role
	InvitedBy        string
	CreatedAt        time.Time
	ExpiresAt        time.Time
	AcceptedAt       *time.Time
}
