package platform

import "time"

// ActorType says what kind of principal performed an action.
type ActorType string

// Actor types.
const (
	ActorUser       ActorType = "user"
	ActorAdminToken ActorType = "admin_token"
	ActorAPIKey     ActorType = "api_key"
	ActorSystem     ActorType = "system"
)

// Actor is who did something and from where; every mutation carries one so
// the store can write the audit event in the same transaction.
type Actor struct {
	Type     ActorType
	ID       string
	SourceIP string
}

// SystemActor is used for changes made by Tollgate itself or offline by an
// operator with `tollgate admin`.
func SystemActor(source string) Actor {
	return Actor{Type: ActorSystem, ID: "system", SourceIP: source}
}

// Audit actions.
const (
	AuditOrgCreated        = "org.created"
	AuditOrgUpdated        = "org.updated"
	AuditMemberAdded       = "member.added"
	AuditMemberRoleChanged = "member.role_changed"
	AuditMemberRemoved     = "member.removed"
	AuditUserPasswordSet   = "user.password_set"
	AuditGroupCreated      = "group.created"
	AuditGroupUpdated      = "group.updated"
	AuditGroupDeleted      = "group.deleted"
	AuditKeyCreated        = "key.created"
	AuditKeyRenamed        = "key.renamed"
	AuditKeyRevoked        = "key.revoked"
	AuditKeyRotated        = "key.rotated"
	AuditAdminTokenCreated = "admin_token.created"
	AuditAdminTokenRevoked = "admin_token.revoked"
)

// Audit actions of dashboard sign-in (internal/session).
const (
	AuditSessionCreated     = "session.created" // a user signed in
	AuditSessionEnded       = "session.ended"   // signed out, or ended because the membership went
	AuditInvitationCreated  = "invitation.created"
	AuditInvitationAccepted = "invitation.accepted"
	AuditInvitationRevoked  = "invitation.revoked"
)

// Audit actions of billing: money, settings, limits, caps and prices.
const (
	AuditBillingPosted   = "billing.transaction_posted"
	AuditBillingSettings = "billing.settings_updated"
	AuditLimitSet        = "billing.limit_set"
	AuditLimitDeleted    = "billing.limit_deleted"
	AuditCapSet          = "billing.cap_set"
	AuditCapDeleted      = "billing.cap_deleted"
	AuditPriceAdded      = "billing.price_added"
)

// AuditActions lists every action the audit log may hold, in a stable
// order, for filters and documentation.
func AuditActions() []string {
	return []string{
		AuditOrgCreated, AuditOrgUpdated, AuditMemberAdded, AuditMemberRoleChanged, AuditMemberRemoved,
		AuditUserPasswordSet, AuditGroupCreated, AuditGroupUpdated, AuditGroupDeleted, AuditKeyCreated,
		AuditKeyRenamed, AuditKeyRevoked, AuditKeyRotated, AuditAdminTokenCreated, AuditAdminTokenRevoked,
		AuditSessionCreated, AuditSessionEnded, AuditInvitationCreated, AuditInvitationAccepted,
		AuditInvitationRevoked, AuditBillingPosted, AuditBillingSettings, AuditLimitSet, AuditLimitDeleted,
		AuditCapSet, AuditCapDeleted, AuditPriceAdded,
	}
}

// AuditEvent is one append-only record of a management action.
type AuditEvent struct {
	ID         string
	OrgID      string
	ActorType  ActorType
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	SourceIP   string
	// Details holds small, non-secret facts about the change (new name, role…).
	Details   map[string]string
	CreatedAt time.Time
}

// AuditFilter selects audit events; zero fields match everything. Events come
// newest first; Before is an event ID cursor for the next page.
type AuditFilter struct {
	ActorID  string
	Action   string
	TargetID string
	Since    time.Time
	Until    time.Time
	Before   string
	Limit    int
}
