package governance

import (
	"context"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Groups lists the organization's API groups.
func (s *Service) Groups(ctx context.Context, p platform.Principal) ([]*platform.Group, error) {
	if err := platform.Authorize(p.Role, platform.ActGroupRead); err != nil {
		return nil, err
	}
	return s.store.ListGroups(ctx, p.OrgID)
}

// Group reads one API group.
func (s *Service) Group(ctx context.Context, p platform.Principal, id string) (*platform.Group, error) {
	if err := platform.Authorize(p.Role, platform.ActGroupRead); err != nil {
		return nil, err
	}
	return s.store.GetGroup(ctx, p.OrgID, id)
}

// CreateGroup creates an active API group.
func (s *Service) CreateGroup(ctx context.Context, p platform.Principal, name, description string) (*platform.Group, error) {
	if err := platform.Authorize(p.Role, platform.ActGroupManage); err != nil {
		return nil, err
	}
	now := s.now()
	g := &platform.Group{ID: platform.NewID(platform.PrefixGroup), OrgID: p.OrgID, Name: name,
		Description: description, Status: platform.GroupActive, CreatedAt: now, UpdatedAt: now}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.CreateGroup(ctx, g, p.Actor); err != nil {
		if platform.ErrorKind(err) == platform.KindConflict {
			return nil, platform.Errorf(platform.KindConflict, "a group named %q already exists", name)
		}
		return nil, err
	}
	return g, nil
}

// UpdateGroup renames, re-describes, disables or enables a group. Disabling
// stops every key of the group on its next request.
func (s *Service) UpdateGroup(ctx context.Context, p platform.Principal, id string, u platform.GroupUpdate) (*platform.Group, error) {
	if err := platform.Authorize(p.Role, platform.ActGroupManage); err != nil {
		return nil, err
	}
	if u.Status != nil && *u.Status != platform.GroupActive && *u.Status != platform.GroupDisabled {
		return nil, platform.Invalid("status", "status must be \"active\" or \"disabled\"; delete a group with DELETE")
	}
	g, err := s.store.UpdateGroup(ctx, p.OrgID, id, u, p.Actor)
	if err != nil {
		if platform.ErrorKind(err) == platform.KindConflict {
			return nil, platform.Errorf(platform.KindConflict, "a group with that name already exists")
		}
		return nil, err
	}
	s.evictGroup(id)
	return g, nil
}

// DeleteGroup deletes a group and revokes all its keys.
func (s *Service) DeleteGroup(ctx context.Context, p platform.Principal, id string) error {
	if err := platform.Authorize(p.Role, platform.ActGroupManage); err != nil {
		return err
	}
	if err := s.store.DeleteGroup(ctx, p.OrgID, id, p.Actor); err != nil {
		return err
	}
	s.evictGroup(id)
	return nil
}
