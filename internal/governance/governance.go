// Package governance is the one place where Tollgate's management rules live:
// who may do what (through platform.Authorize), how keys and admin tokens are
// minted, rotated and revoked, and which caches must forget a credential when
// it changes. The management API, the Perplexity-compatible key endpoints,
// the offline admin commands and the dashboard all call it; none of them
// re-implement a rule.
package governance

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/password"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// Evictor forgets cached credentials so a change takes effect on the next
// request in this process.
type Evictor interface {
	EvictHash(hash []byte)
	EvictGroup(groupID string)
}

// Config holds the service's tunables.
type Config struct {
	KeyPrefix   string
	AdminPrefix string
	// RotationGrace is how long a rotated key keeps working by default.
	RotationGrace time.Duration
}

// Service applies the management rules on top of a store.
type Service struct {
	store   store.Store
	cfg     Config
	evictor Evictor
	now     func() time.Time
}

// New returns a Service. evictor may be nil when no cache is in play (the
// offline admin commands).
func New(s store.Store, cfg Config, evictor Evictor, now func() time.Time) *Service {
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = keys.DefaultKeyPrefix
	}
	if cfg.AdminPrefix == "" {
		cfg.AdminPrefix = keys.DefaultAdminPrefix
	}
	if now == nil {
		now = time.Now
	}
	// The store keeps microseconds; so do the objects we hand back, so a
	// time reads the same in a create response and in a later GET.
	micro := func() time.Time { return now().UTC().Truncate(time.Microsecond) }
	return &Service{store: s, cfg: cfg, evictor: evictor, now: micro}
}

func (s *Service) evictHash(h []byte) {
	if s.evictor != nil {
		s.evictor.EvictHash(h)
	}
}

func (s *Service) evictGroup(id string) {
	if s.evictor != nil {
		s.evictor.EvictGroup(id)
	}
}

// Org returns the caller's organization.
func (s *Service) Org(ctx context.Context, p platform.Principal) (*platform.Org, error) {
	if err := platform.Authorize(p.Role, platform.ActOrgRead); err != nil {
		return nil, err
	}
	return s.store.GetOrg(ctx, p.OrgID)
}

// RenameOrg changes the caller's organization's name.
func (s *Service) RenameOrg(ctx context.Context, p platform.Principal, name string) (*platform.Org, error) {
	if err := platform.Authorize(p.Role, platform.ActOrgUpdate); err != nil {
		return nil, err
	}
	o := platform.Org{Name: name}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if cur, err := s.store.GetOrg(ctx, p.OrgID); err != nil {
		return nil, err
	} else if cur.Name == name {
		return cur, nil
	}
	return s.store.RenameOrg(ctx, p.OrgID, name, p.Actor)
}

// CreateOrg creates an organization with an owner (created when the email
// is new, with the returned one-time password) and an owner admin token.
// It is an operator action (tollgate serve's bootstrap, tollgate admin),
// not reachable through the API.
func (s *Service) CreateOrg(ctx context.Context, by platform.Actor, orgName, ownerEmail string) (*Bootstrap, error) {
	email, err := platform.NormalizeEmail(ownerEmail)
	if err != nil {
		return nil, err
	}
	now := s.now()
	org := &platform.Org{ID: platform.NewID(platform.PrefixOrg), Name: orgName, CreatedAt: now}
	if err := org.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.CreateOrg(ctx, org, by); err != nil {
		return nil, fmt.Errorf("create org: %w", err)
	}
	b := &Bootstrap{Org: org}
	b.User, b.Password, err = s.ensureUser(ctx, email, "", "", true)
	if err != nil {
		return nil, err
	}
	if err := s.store.AddMember(ctx, &platform.Membership{OrgID: org.ID, UserID: b.User.ID,
		Role: platform.RoleOwner, CreatedAt: now}, by); err != nil {
		return nil, fmt.Errorf("add owner: %w", err)
	}
	owner := platform.Principal{OrgID: org.ID, Role: platform.RoleOwner, Actor: by}
	b.Token, b.TokenSecret, err = s.CreateAdminToken(ctx, owner, "bootstrap", platform.RoleOwner, nil)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Bootstrap is what creating an organization hands back, once.
type Bootstrap struct {
	Org         *platform.Org
	User        *platform.User
	Password    string // empty when the user already existed
	Token       *platform.AdminToken
	TokenSecret string
}

// ensureUser returns the user with email, creating it when missing with pw
// hashed. With no pw it generates one (returned) when generate is set, and
// otherwise leaves the user without a password until one is set.
func (s *Service) ensureUser(ctx context.Context, email, name, pw string, generate bool) (*platform.User, string, error) {
	u, err := s.store.GetUserByEmail(ctx, email)
	if err == nil {
		return u, "", nil
	}
	if platform.ErrorKind(err) != platform.KindNotFound {
		return nil, "", err
	}
	generated, hash := "", ""
	switch {
	case pw == "" && generate:
		pw = password.Generate()
		generated = pw
	case pw != "" && len(pw) < password.MinLength:
		return nil, "", platform.Invalid("password", "password must be at least %d characters", password.MinLength)
	}
	if pw != "" {
		if hash, err = password.Hash(pw); err != nil {
			return nil, "", err
		}
	}
	u = &platform.User{ID: platform.NewID(platform.PrefixUser), Email: email, Name: name,
		PasswordHash: hash, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, u, platform.Actor{}); err != nil {
		return nil, "", fmt.Errorf("create user: %w", err)
	}
	return u, generated, nil
}

// SetPassword sets a user's password (operator action); an empty pw gets a
// generated one, which is returned.
func (s *Service) SetPassword(ctx context.Context, by platform.Actor, orgID, email, pw string) (string, error) {
	email, err := platform.NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if err != nil {
		return "", err
	}
	if pw == "" {
		pw = password.Generate()
	} else if len(pw) < password.MinLength {
		return "", platform.Invalid("password", "password must be at least %d characters", password.MinLength)
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return "", err
	}
	if err := s.store.SetPassword(ctx, orgID, u.ID, hash, by); err != nil {
		return "", err
	}
	return pw, nil
}

// Audit lists the organization's audit events.
func (s *Service) Audit(ctx context.Context, p platform.Principal, f platform.AuditFilter) ([]*platform.AuditEvent, error) {
	if err := platform.Authorize(p.Role, platform.ActAuditRead); err != nil {
		return nil, err
	}
	return s.store.ListAudit(ctx, p.OrgID, f)
}
