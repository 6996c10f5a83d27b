package platform

import "fmt"

// Role is what a member or an admin token may do inside one organization.
type Role string

// The roles, from most to least privileged (billing is beside member, not
// below it: it manages money but not keys).
const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleMember  Role = "member"
	RoleBilling Role = "billing"
	RoleViewer  Role = "viewer"
)

// Roles lists every role, most privileged first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleBilling, RoleViewer}

// Validate reports whether r is a known role.
func (r Role) Validate() error {
	for _, known := range Roles {
		if r == known {
			return nil
		}
	}
	return Invalid("role", "unknown role %q: use one of owner, admin, member, billing, viewer", string(r))
}

// Action is one thing a principal may try to do. Every management endpoint,
// CLI command and dashboard form checks exactly one action through Can.
type Action string

// The actions, grouped by the resource they touch.
const (
	ActOrgRead          Action = "org.read"
	ActOrgUpdate        Action = "org.update"
	ActMemberRead       Action = "member.read"
	ActMemberManage     Action = "member.manage"
	ActOwnerManage      Action = "member.manage_owner"
	ActGroupRead        Action = "group.read"
	ActGroupManage      Action = "group.manage"
	ActKeyRead          Action = "key.read"
	ActKeyManage        Action = "key.manage"
	ActAdminTokenRead   Action = "admin_token.read"
	ActAdminTokenManage Action = "admin_token.manage"
	ActAuditRead        Action = "audit.read"
	ActUsageRead        Action = "usage.read"
	ActBillingRead      Action = "billing.read"
	ActBillingManage    Action = "billing.manage"
)

// permissions is the one table of who may do what. Owners may do everything.
var permissions = map[Role][]Action{
	RoleAdmin: {
		ActOrgRead, ActOrgUpdate, ActMemberRead, ActMemberManage,
		ActGroupRead, ActGroupManage, ActKeyRead, ActKeyManage,
		ActAdminTokenRead, ActAdminTokenManage, ActAuditRead,
		ActUsageRead, ActBillingRead, ActBillingManage,
	},
	RoleMember: {
		ActOrgRead, ActMemberRead, ActGroupRead, ActKeyRead, ActKeyManage, ActUsageRead,
	},
	RoleBilling: {
		ActOrgRead, ActMemberRead, ActGroupRead, ActKeyRead, ActUsageRead,
		ActBillingRead, ActBillingManage,
	},
	RoleViewer: {
		ActOrgRead, ActMemberRead, ActGroupRead, ActKeyRead, ActUsageRead, ActBillingRead,
	},
}

// Can reports whether role r may perform action a.
func Can(r Role, a Action) bool {
	if r == RoleOwner {
		return true
	}
	for _, allowed := range permissions[r] {
		if allowed == a {
			return true
		}
	}
	return false
}

// Authorize returns a forbidden error when r may not perform a.
func Authorize(r Role, a Action) error {
	if Can(r, a) {
		return nil
	}
	return Errorf(KindForbidden, "your role %q does not allow %s; ask an owner or admin of the organization", string(r), a)
}

// rank orders roles for "may not grant more than you hold" checks.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember, RoleBilling:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// MayGrant reports whether a principal holding r may hand out role target
// (to a member or an admin token): never more than it holds itself, and
// owner only by owners.
func (r Role) MayGrant(target Role) error {
	if target == RoleOwner && r != RoleOwner {
		return Errorf(KindForbidden, "only an owner may grant the owner role")
	}
	if target.rank() > r.rank() || (target.rank() == r.rank() && target != r) {
		return Errorf(KindForbidden, "role %q may not grant role %q", string(r), string(target))
	}
	return nil
}

// Description says in a sentence what the role is for; the CLI and docs use it.
func (r Role) Description() string {
	switch r {
	case RoleOwner:
		return "everything, including granting or removing owners"
	case RoleAdmin:
		return "manage groups, keys, members (except owners), admin tokens and billing; read the audit log"
	case RoleMember:
		return "create, rename, rotate and revoke API keys; read groups, members and usage"
	case RoleBilling:
		return "manage billing; read groups, keys, members and usage"
	case RoleViewer:
		return "read-only: groups, keys (hints only), members, usage and billing"
	}
	return fmt.Sprintf("unknown role %q", string(r))
}
