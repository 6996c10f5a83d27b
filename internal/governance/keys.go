package governance

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// MaxRotationGrace bounds how long a rotated key may keep working.
const MaxRotationGrace = 30 * 24 * time.Hour

// Keys lists API keys of the organization, of one group when groupID is set.
func (s *Service) Keys(ctx context.Context, p platform.Principal, groupID string) ([]*platform.APIKey, error) {
	if err := platform.Authorize(p.Role, platform.ActKeyRead); err != nil {
		return nil, err
	}
	if groupID != "" {
		if _, err := s.store.GetGroup(ctx, p.OrgID, groupID); err != nil {
			return nil, err
		}
	}
	return s.store.ListKeys(ctx, p.OrgID, store.KeyFilter{GroupID: groupID})
}

// Key reads one API key (never its secret).
func (s *Service) Key(ctx context.Context, p platform.Principal, id string) (*platform.APIKey, error) {
	if err := platform.Authorize(p.Role, platform.ActKeyRead); err != nil {
		return nil, err
	}
	return s.store.GetKey(ctx, p.OrgID, id)
}

// newKey mints a secret and the record that stands for it.
func (s *Service) newKey(orgID, groupID, name, createdBy string, expiresAt *time.Time) (*platform.APIKey, string, error) {
	secret, err := keys.Generate(s.cfg.KeyPrefix)
	if err != nil {
		return nil, "", err
	}
	h := keys.Hash(secret)
	k := &platform.APIKey{ID: platform.NewID(platform.PrefixKey), OrgID: orgID, GroupID: groupID, Name: name,
		Hash: h[:], Hint: keys.Hint(secret, s.cfg.KeyPrefix), CreatedBy: createdBy, CreatedAt: s.now(),
		ExpiresAt: expiresAt}
	if err := k.Validate(); err != nil {
		return nil, "", err
	}
	if expiresAt != nil && !expiresAt.After(k.CreatedAt) {
		return nil, "", platform.Invalid("expires_at", "expires_at must be in the future")
	}
	return k, secret, nil
}

// CreateKey creates an API key in an active group. The secret is returned
// here and never again.
func (s *Service) CreateKey(ctx context.Context, p platform.Principal, groupID, name string, expiresAt *time.Time) (*platform.APIKey, string, error) {
	if err := platform.Authorize(p.Role, platform.ActKeyManage); err != nil {
		return nil, "", err
	}
	g, err := s.store.GetGroup(ctx, p.OrgID, groupID)
	if err != nil {
		return nil, "", err
	}
	if g.Status != platform.GroupActive {
		return nil, "", platform.Errorf(platform.KindConflict, "group %s is %s; enable it before creating keys", g.ID, g.Status)
	}
	k, secret, err := s.newKey(p.OrgID, groupID, name, p.Actor.ID, expiresAt)
	if err != nil {
		return nil, "", err
	}
	if err := s.store.CreateKey(ctx, k, p.Actor); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// RenameKey changes a key's name.
func (s *Service) RenameKey(ctx context.Context, p platform.Principal, id, name string) (*platform.APIKey, error) {
	if err := platform.Authorize(p.Role, platform.ActKeyManage); err != nil {
		return nil, err
	}
	if err := (&platform.APIKey{Name: name}).Validate(); err != nil {
		return nil, err
	}
	return s.store.RenameKey(ctx, p.OrgID, id, name, p.Actor)
}

// RevokeKey stops a key for good, effective on its next request.
func (s *Service) RevokeKey(ctx context.Context, p platform.Principal, id string) (*platform.APIKey, error) {
	if err := platform.Authorize(p.Role, platform.ActKeyManage); err != nil {
		return nil, err
	}
	k, err := s.store.RevokeKey(ctx, p.OrgID, id, p.Actor)
	if err != nil {
		return nil, err
	}
	s.evictHash(k.Hash)
	return k, nil
}

// Rotation is the outcome of rotating a key.
type Rotation struct {
	Old    *platform.APIKey
	New    *platform.APIKey
	Secret string
}

// RotateKey issues a successor for key id. The old key keeps working for
// grace (the configured default when nil; zero stops it at once).
func (s *Service) RotateKey(ctx context.Context, p platform.Principal, id string, grace *time.Duration) (*Rotation, error) {
	if err := platform.Authorize(p.Role, platform.ActKeyManage); err != nil {
		return nil, err
	}
	g := s.cfg.RotationGrace
	if grace != nil {
		g = *grace
	}
	if g < 0 || g > MaxRotationGrace {
		return nil, platform.Invalid("grace_period_seconds", "grace period must be between 0 and %d seconds", int(MaxRotationGrace/time.Second))
	}
	old, err := s.store.GetKey(ctx, p.OrgID, id)
	if err != nil {
		return nil, err
	}
	grp, err := s.store.GetGroup(ctx, p.OrgID, old.GroupID)
	if err != nil {
		return nil, err
	}
	if grp.Status != platform.GroupActive {
		return nil, platform.Errorf(platform.KindConflict, "group %s is %s; enable it before rotating its keys", grp.ID, grp.Status)
	}
	// A key created to live 90 days is replaced by one that lives 90 days.
	var expiresAt *time.Time
	if old.ExpiresAt != nil {
		e := s.now().Add(old.ExpiresAt.Sub(old.CreatedAt))
		expiresAt = &e
	}
	next, secret, err := s.newKey(p.OrgID, old.GroupID, old.Name, p.Actor.ID, expiresAt)
	if err != nil {
		return nil, err
	}
	updated, err := s.store.RotateKey(ctx, p.OrgID, id, next, s.now().Add(g), p.Actor)
	if err != nil {
		return nil, err
	}
	s.evictHash(updated.Hash)
	return &Rotation{Old: updated, New: next, Secret: secret}, nil
}

// AdminTokens lists the organization's admin tokens.
func (s *Service) AdminTokens(ctx context.Context, p platform.Principal) ([]*platform.AdminToken, error) {
	if err := platform.Authorize(p.Role, platform.ActAdminTokenRead); err != nil {
		return nil, err
	}
	return s.store.ListAdminTokens(ctx, p.OrgID)
}

// CreateAdminToken mints an admin token with a role no higher than the
// caller's. The secret is returned here and never again.
func (s *Service) CreateAdminToken(ctx context.Context, p platform.Principal, name string, role platform.Role, expiresAt *time.Time) (*platform.AdminToken, string, error) {
	if err := platform.Authorize(p.Role, platform.ActAdminTokenManage); err != nil {
		return nil, "", err
	}
	t := &platform.AdminToken{ID: platform.NewID(platform.PrefixAdminToken), OrgID: p.OrgID, Name: name,
		Role: role, CreatedBy: p.Actor.ID, CreatedAt: s.now(), ExpiresAt: expiresAt}
	if err := t.Validate(); err != nil {
		return nil, "", err
	}
	if err := p.Role.MayGrant(role); err != nil {
		return nil, "", err
	}
	if expiresAt != nil && !expiresAt.After(t.CreatedAt) {
		return nil, "", platform.Invalid("expires_at", "expires_at must be in the future")
	}
	secret, err := keys.Generate(s.cfg.AdminPrefix)
	if err != nil {
		return nil, "", err
	}
	h := keys.Hash(secret)
	t.Hash, t.Hint = h[:], keys.Hint(secret, s.cfg.AdminPrefix)
	if err := s.store.CreateAdminToken(ctx, t, p.Actor); err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// RevokeAdminToken stops an admin token whose role the caller could grant.
func (s *Service) RevokeAdminToken(ctx context.Context, p platform.Principal, id string) (*platform.AdminToken, error) {
	if err := platform.Authorize(p.Role, platform.ActAdminTokenManage); err != nil {
		return nil, err
	}
	t, err := s.store.GetAdminToken(ctx, p.OrgID, id)
	if err != nil {
		return nil, err
	}
	if err := p.Role.MayGrant(t.Role); err != nil {
		return nil, err
	}
	return s.store.RevokeAdminToken(ctx, p.OrgID, id, p.Actor)
}

// KeyCaller is an inference API key acting on its own group, as
// Perplexity's generate_auth_token and revoke_auth_token endpoints allow.
type KeyCaller struct {
	KeyID    string
	OrgID    string
	GroupID  string
	SourceIP string
}

func (c KeyCaller) actor() platform.Actor {
	return platform.Actor{Type: platform.ActorAPIKey, ID: c.KeyID, SourceIP: c.SourceIP}
}

// GenerateAuthToken creates a key in the caller key's group.
func (s *Service) GenerateAuthToken(ctx context.Context, c KeyCaller, name string) (*platform.APIKey, string, error) {
	if name == "" {
		name = "API key " + s.now().Format("2006-01-02 15:04:05 UTC")
	}
	k, secret, err := s.newKey(c.OrgID, c.GroupID, name, c.KeyID, nil)
	if err != nil {
		if platform.ErrorParam(err) == "name" {
			err = platform.Invalid("token_name", "%s", platform.ErrorMessage(err))
		}
		return nil, "", err
	}
	if err := s.store.CreateKey(ctx, k, c.actor()); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// RevokeAuthToken revokes the key whose secret is given, if it belongs to
// the caller key's group.
func (s *Service) RevokeAuthToken(ctx context.Context, c KeyCaller, secret string) (*platform.APIKey, error) {
	if err := keys.Parse(secret, s.cfg.KeyPrefix); err != nil {
		return nil, platform.Invalid("auth_token", "auth_token is not a well-formed API key (%v)", err)
	}
	h := keys.Hash(secret)
	ka, err := s.store.KeyByHash(ctx, h[:])
	if err != nil || ka.Key.GroupID != c.GroupID || subtle.ConstantTimeCompare(ka.Key.Hash, h[:]) != 1 {
		if err != nil && platform.ErrorKind(err) != platform.KindNotFound {
			return nil, err
		}
		return nil, platform.Errorf(platform.KindNotFound, "no such API key in this key's API group")
	}
	k, err := s.store.RevokeKey(ctx, ka.Key.OrgID, ka.Key.ID, c.actor())
	if err != nil {
		return nil, fmt.Errorf("revoke auth token: %w", err)
	}
	s.evictHash(k.Hash)
	return k, nil
}
