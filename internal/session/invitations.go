package session

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/password"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// Invitation is an invitation to join an organization with a role.
type Invitation struct {
	ID, OrgID, Email string
	Role             platform.Role
	InvitedBy        string // the actor ID of whoever invited
	CreatedAt        time.Time
	ExpiresAt        time.Time
	AcceptedAt       *time.Time

	// Filled by LookupInvitation only, for the page that accepts it.
	OrgName string
	// HasPassword says the invited account already has a password: it
	// accepts by entering that password, not by choosing one.
	HasPassword bool
}

func fromInvitation(r *store.Invitation) *Invitation {
	return &Invitation{ID: r.ID, OrgID: r.OrgID, Email: r.Email, Role: r.Role, InvitedBy: r.InvitedBy,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, AcceptedAt: r.AcceptedAt}
}

// errNoInvitation is the one answer to a link that cannot be used, whatever
// the reason (unknown, used, revoked, expired, member removed).
var errNoInvitation = platform.Errorf(platform.KindNotFound,
	"this invitation link is not valid: it may have expired, been revoked or been used; ask whoever invited you for a new one")

// Invite adds email to p's organization with role, through
// governance.AddMember and so under its rules, and issues a one-time
// token for the invitation link, valid InviteTTL. The token is returned
// once. Inviting again someone who is a member but never set a password
// issues a new link, revokes the older ones and applies role (through
// governance.SetMemberRole, under its rules).
func (s *Service) Invite(ctx context.Context, p platform.Principal, email, name string, role platform.Role) (*Invitation, string, error) {
	m, err := s.gov.AddMember(ctx, p, governance.NewMember{Email: email, Name: name, Role: role})
	if platform.ErrorKind(err) == platform.KindConflict {
		m, err = s.reinvite(ctx, p, email, role, err)
	}
	if err != nil {
		return nil, "", err
	}
	token, hash := newSecret(tokenPrefix)
	now := s.now()
	inv := &store.Invitation{
		ID:        platform.NewID(prefixInvitation),
		OrgID:     p.OrgID,
		Email:     m.Email,
		Role:      m.Role,
		TokenHash: hash,
		InvitedBy: p.Actor.ID,
		CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.InviteTTL),
	}
	if err := s.st.CreateInvitation(ctx, inv, p.Actor); err != nil {
		return nil, "", fmt.Errorf("create invitation: %w", err)
	}
	return fromInvitation(inv), token, nil
}

// reinvite handles an Invite whose email is already a member: allowed only
// while that member has never set a password, otherwise conflict stands.
func (s *Service) reinvite(ctx context.Context, p platform.Principal, email string, role platform.Role, conflict error) (*platform.Membership, error) {
	addr, err := platform.NormalizeEmail(email)
	if err != nil {
		return nil, conflict
	}
	u, err := s.st.GetUserByEmail(ctx, addr)
	if err != nil || u.PasswordHash != "" {
		return nil, conflict
	}
	m, err := s.gov.SetMemberRole(ctx, p, u.ID, role)
	if err != nil {
		return nil, err
	}
	pending, err := s.st.ListInvitations(ctx, p.OrgID, s.now())
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	for _, old := range pending {
		if old.Email != addr {
			continue
		}
		if _, err := s.st.RevokeInvitation(ctx, p.OrgID, old.ID, s.now(), p.Actor); err != nil {
			return nil, fmt.Errorf("revoke older invitation: %w", err)
		}
	}
	return m, nil
}

// Invitations lists the organization's pending invitations, newest first.
func (s *Service) Invitations(ctx context.Context, p platform.Principal) ([]*Invitation, error) {
	if err := platform.Authorize(p.Role, platform.ActMemberRead); err != nil {
		return nil, err
	}
	recs, err := s.st.ListInvitations(ctx, p.OrgID, s.now())
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	out := make([]*Invitation, 0, len(recs))
	for _, r := range recs {
		out = append(out, fromInvitation(r))
	}
	return out, nil
}

// RevokeInvitation stops a pending invitation; only owners revoke an
// invitation to be owner. The member it added stays (remove them through
// governance to take the access back).
func (s *Service) RevokeInvitation(ctx context.Context, p platform.Principal, id string) error {
	if err := platform.Authorize(p.Role, platform.ActMemberManage); err != nil {
		return err
	}
	inv, err := s.st.GetInvitation(ctx, p.OrgID, id)
	if err != nil {
		return err
	}
	if inv.Role == platform.RoleOwner {
		if err := platform.Authorize(p.Role, platform.ActOwnerManage); err != nil {
			return err
		}
	}
	if _, err := s.st.RevokeInvitation(ctx, p.OrgID, id, s.now(), p.Actor); err != nil {
		return err
	}
	return nil
}

// LookupInvitation returns the pending invitation of a link's token.
func (s *Service) LookupInvitation(ctx context.Context, token string) (*Invitation, error) {
	inv, _, _, err := s.lookup(ctx, token)
	return inv, err
}

// lookup finds a usable invitation with its user and membership.
func (s *Service) lookup(ctx context.Context, token string) (*Invitation, *platform.User, *platform.Membership, error) {
	hash, ok := hashSecret(token, tokenPrefix)
	if !ok {
		return nil, nil, nil, errNoInvitation
	}
	rec, err := s.st.InvitationByHash(ctx, hash)
	if platform.ErrorKind(err) == platform.KindNotFound {
		return nil, nil, nil, errNoInvitation
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("look up invitation: %w", err)
	}
	if !rec.Pending(s.now()) {
		return nil, nil, nil, errNoInvitation
	}
	var m *platform.Membership
	u, err := s.st.GetUserByEmail(ctx, rec.Email)
	if err == nil {
		m, err = s.st.GetMember(ctx, rec.OrgID, u.ID)
	}
	if platform.ErrorKind(err) == platform.KindNotFound {
		return nil, nil, nil, errNoInvitation // the member was removed since
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("look up invitation: %w", err)
	}
	org, err := s.st.GetOrg(ctx, rec.OrgID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("look up invitation: %w", err)
	}
	inv := fromInvitation(rec)
	inv.OrgName, inv.HasPassword = org.Name, u.PasswordHash != ""
	return inv, u, m, nil
}

// AcceptInvitation uses an invitation's token once and signs its user in
// to the invitation's organization. A new account sets its password here
// (at least password.MinLength characters); an account that has one
// proves it by entering it, throttled like Login, and keeps it.
func (s *Service) AcceptInvitation(ctx context.Context, token, pw, clientIP string) (string, *Session, error) {
	inv, u, m, err := s.lookup(ctx, token)
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	hash := ""
	if u.PasswordHash == "" {
		if len(pw) < password.MinLength {
			return "", nil, platform.Invalid("password", "password must be at least %d characters", password.MinLength)
		}
		if hash, err = password.Hash(pw); err != nil {
			return "", nil, fmt.Errorf("accept invitation: %w", err)
		}
	} else {
		keys := throttleKeys(u.Email, clientIP)
		if err := s.takeAttempt(ctx, keys, now); err != nil {
			return "", nil, err
		}
		if err := s.checkPassword(u, pw); err != nil {
			return "", nil, &platform.Error{Kind: platform.KindUnauthenticated, Param: "password",
				Message: "wrong password: " + u.Email + " already has an account; enter its password to join", Err: err}
		}
		if err := s.succeeded(ctx, keys); err != nil {
			return "", nil, err
		}
	}
	secret, rec := s.newSession(m, clientIP, now)
	if err := s.st.AcceptInvitation(ctx, inv.ID, hash, rec, signedIn(rec)); err != nil {
		if platform.ErrorKind(err) == platform.KindNotFound {
			return "", nil, errNoInvitation // used by a concurrent acceptance
		}
		return "", nil, fmt.Errorf("accept invitation: %w", err)
	}
	return secret, fromRecord(rec, m), nil
}
