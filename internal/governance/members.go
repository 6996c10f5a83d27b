package governance

import (
	"context"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Members lists the organization's members.
func (s *Service) Members(ctx context.Context, p platform.Principal) ([]*platform.Membership, error) {
	if err := platform.Authorize(p.Role, platform.ActMemberRead); err != nil {
		return nil, err
	}
	return s.store.ListMembers(ctx, p.OrgID)
}

// NewMember describes a member to add. A user with that email is created
// when none exists; Password may then be empty (the user sets one later
// through an invitation or `tollgate admin set-password`).
type NewMember struct {
	Email    string
	Name     string
	Role     platform.Role
	Password string
}

// AddMember adds a user to the organization with a role.
func (s *Service) AddMember(ctx context.Context, p platform.Principal, nm NewMember) (*platform.Membership, error) {
	if err := platform.Authorize(p.Role, platform.ActMemberManage); err != nil {
		return nil, err
	}
	if nm.Role == "" {
		return nil, platform.Invalid("role", "role is required: owner, admin, member, billing or viewer")
	}
	if err := nm.Role.Validate(); err != nil {
		return nil, err
	}
	if err := p.Role.MayGrant(nm.Role); err != nil {
		return nil, err
	}
	email, err := platform.NormalizeEmail(nm.Email)
	if err != nil {
		return nil, err
	}
	u, _, err := s.ensureUser(ctx, email, nm.Name, nm.Password, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetMember(ctx, p.OrgID, u.ID); err == nil {
		return nil, platform.Errorf(platform.KindConflict, "%s is already a member; change their role instead", email)
	}
	m := &platform.Membership{OrgID: p.OrgID, UserID: u.ID, Role: nm.Role, CreatedAt: s.now()}
	if err := s.store.AddMember(ctx, m, p.Actor); err != nil {
		return nil, err
	}
	return s.store.GetMember(ctx, p.OrgID, u.ID)
}

// memberTarget loads a member and checks the caller may change them: only
// owners touch owners.
func (s *Service) memberTarget(ctx context.Context, p platform.Principal, userID string) (*platform.Membership, error) {
	if err := platform.Authorize(p.Role, platform.ActMemberManage); err != nil {
		return nil, err
	}
	m, err := s.store.GetMember(ctx, p.OrgID, userID)
	if err != nil {
		return nil, err
	}
	if m.Role == platform.RoleOwner {
		if err := platform.Authorize(p.Role, platform.ActOwnerManage); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// SetMemberRole changes a member's role.
func (s *Service) SetMemberRole(ctx context.Context, p platform.Principal, userID string, role platform.Role) (*platform.Membership, error) {
	if _, err := s.memberTarget(ctx, p, userID); err != nil {
		return nil, err
	}
	if err := role.Validate(); err != nil {
		return nil, err
	}
	if err := p.Role.MayGrant(role); err != nil {
		return nil, err
	}
	return s.store.SetMemberRole(ctx, p.OrgID, userID, role, p.Actor)
}

// RemoveMember takes a member out of the organization.
func (s *Service) RemoveMember(ctx context.Context, p platform.Principal, userID string) error {
	if _, err := s.memberTarget(ctx, p, userID); err != nil {
		return err
	}
	return s.store.RemoveMember(ctx, p.OrgID, userID, p.Actor)
}
