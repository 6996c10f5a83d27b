// Package store defines the persistence contract of Tollgate's key platform.
// One implementation (package sqlstore) serves two backends, SQLite (the
// embedded default) and PostgreSQL, and package storetest holds the
// conformance suite that every backend must pass.
//
// Reads and writes are scoped by organization: asking for another
// organization's group, key or token yields platform.ErrNotFound, never the
// record. Every mutation takes the Actor performing it and writes its audit
// event in the same transaction, so no change can go unrecorded.
package store

import (
	"context"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// KeyFilter selects API keys of an organization.
type KeyFilter struct {
	GroupID string // empty: every group
}

// KeyAuth is what authentication needs about a key, in one read.
type KeyAuth struct {
	Key         platform.APIKey
	GroupStatus platform.GroupStatus
}

// Store is the persistence contract. Implementations must be safe for
// concurrent use.
type Store interface {
	// Organizations.
	CreateOrg(ctx context.Context, o *platform.Org, by platform.Actor) error
	GetOrg(ctx context.Context, id string) (*platform.Org, error)
	ListOrgs(ctx context.Context) ([]*platform.Org, error)
	RenameOrg(ctx context.Context, id, name string, by platform.Actor) (*platform.Org, error)

	// Users and memberships.
	CreateUser(ctx context.Context, u *platform.User, by platform.Actor) error
	GetUser(ctx context.Context, id string) (*platform.User, error)
	GetUserByEmail(ctx context.Context, email string) (*platform.User, error)
	SetPassword(ctx context.Context, orgID, userID, hash string, by platform.Actor) error
	AddMember(ctx context.Context, m *platform.Membership, by platform.Actor) error
	GetMember(ctx context.Context, orgID, userID string) (*platform.Membership, error)
	ListMembers(ctx context.Context, orgID string) ([]*platform.Membership, error)
	// SetMemberRole refuses (conflict) to demote the last owner.
	SetMemberRole(ctx context.Context, orgID, userID string, role platform.Role, by platform.Actor) (*platform.Membership, error)
	// RemoveMember refuses (conflict) to remove the last owner.
	RemoveMember(ctx context.Context, orgID, userID string, by platform.Actor) error

	// API groups.
	CreateGroup(ctx context.Context, g *platform.Group, by platform.Actor) error
	GetGroup(ctx context.Context, orgID, id string) (*platform.Group, error)
	ListGroups(ctx context.Context, orgID string) ([]*platform.Group, error)
	UpdateGroup(ctx context.Context, orgID, id string, u platform.GroupUpdate, by platform.Actor) (*platform.Group, error)
	// DeleteGroup marks the group deleted and revokes all its keys.
	DeleteGroup(ctx context.Context, orgID, id string, by platform.Actor) error

	// API keys.
	CreateKey(ctx context.Context, k *platform.APIKey, by platform.Actor) error
	GetKey(ctx context.Context, orgID, id string) (*platform.APIKey, error)
	ListKeys(ctx context.Context, orgID string, f KeyFilter) ([]*platform.APIKey, error)
	RenameKey(ctx context.Context, orgID, id, name string, by platform.Actor) (*platform.APIKey, error)
	// RevokeKey is idempotent: revoking a revoked key returns it unchanged.
	RevokeKey(ctx context.Context, orgID, id string, by platform.Actor) (*platform.APIKey, error)
	// RotateKey stores next as the successor of key id and makes the old key
	// stop at oldExpiresAt (revoked at once when that is not after now). It
	// refuses (conflict) keys that are revoked, expired or already rotated.
	RotateKey(ctx context.Context, orgID, id string, next *platform.APIKey, oldExpiresAt time.Time, by platform.Actor) (*platform.APIKey, error)
	// KeyByHash finds a key by the SHA-256 of its secret, across
	// organizations: the one read on the authentication path.
	KeyByHash(ctx context.Context, hash []byte) (*KeyAuth, error)
	// TouchKeys records last-use times in one batch; a time never moves
	// backwards.
	TouchKeys(ctx context.Context, used map[string]time.Time) error

	// Admin tokens.
	CreateAdminToken(ctx context.Context, t *platform.AdminToken, by platform.Actor) error
	GetAdminToken(ctx context.Context, orgID, id string) (*platform.AdminToken, error)
	ListAdminTokens(ctx context.Context, orgID string) ([]*platform.AdminToken, error)
	RevokeAdminToken(ctx context.Context, orgID, id string, by platform.Actor) (*platform.AdminToken, error)
	AdminTokenByHash(ctx context.Context, hash []byte) (*platform.AdminToken, error)
	TouchAdminTokens(ctx context.Context, used map[string]time.Time) error

	// Audit log (append-only; written by the mutations above).
	ListAudit(ctx context.Context, orgID string, f platform.AuditFilter) ([]*platform.AuditEvent, error)

	Ping(ctx context.Context) error
	Close() error
}
