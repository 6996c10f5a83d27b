package admin

import (
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Wire types of the management API. Times are RFC 3339 in UTC; absent
// times are omitted rather than null.

type orgJSON struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func toOrg(o *platform.Org) orgJSON {
	return orgJSON{ID: o.ID, Object: "organization", Name: o.Name, CreatedAt: o.CreatedAt}
}

type memberJSON struct {
	Object    string        `json:"object"`
	UserID    string        `json:"user_id"`
	Email     string        `json:"email"`
	Name      string        `json:"name,omitempty"`
	Role      platform.Role `json:"role"`
	CreatedAt time.Time     `json:"created_at"`
}

func toMember(m *platform.Membership) memberJSON {
	return memberJSON{Object: "member", UserID: m.UserID, Email: m.Email, Name: m.Name, Role: m.Role, CreatedAt: m.CreatedAt}
}

type groupJSON struct {
	ID          string               `json:"id"`
	Object      string               `json:"object"`
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Status      platform.GroupStatus `json:"status"`
	CreatedAt   time.Time            `json:"created_at"`
	UpdatedAt   time.Time            `json:"updated_at"`
}

func toGroup(g *platform.Group) groupJSON {
	return groupJSON{ID: g.ID, Object: "api_group", Name: g.Name, Description: g.Description,
		Status: g.Status, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

type keyJSON struct {
	ID          string             `json:"id"`
	Object      string             `json:"object"`
	Name        string             `json:"name"`
	GroupID     string             `json:"group_id"`
	Hint        string             `json:"hint"`
	Status      platform.KeyStatus `json:"status"`
	CreatedBy   string             `json:"created_by"`
	CreatedAt   time.Time          `json:"created_at"`
	LastUsedAt  *time.Time         `json:"last_used_at,omitempty"`
	ExpiresAt   *time.Time         `json:"expires_at,omitempty"`
	RevokedAt   *time.Time         `json:"revoked_at,omitempty"`
	RotatedFrom string             `json:"rotated_from,omitempty"`
	RotatedTo   string             `json:"rotated_to,omitempty"`
	// Key is the secret, present only in the response that created it.
	Key string `json:"key,omitempty"`
}

func toKey(k *platform.APIKey, now time.Time) keyJSON {
	return keyJSON{ID: k.ID, Object: "api_key", Name: k.Name, GroupID: k.GroupID, Hint: k.Hint,
		Status: k.Status(now), CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
		ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, RotatedFrom: k.RotatedFrom, RotatedTo: k.RotatedTo}
}

type tokenJSON struct {
	ID         string        `json:"id"`
	Object     string        `json:"object"`
	Name       string        `json:"name"`
	Role       platform.Role `json:"role"`
	Hint       string        `json:"hint"`
	Status     string        `json:"status"`
	CreatedBy  string        `json:"created_by"`
	CreatedAt  time.Time     `json:"created_at"`
	LastUsedAt *time.Time    `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time    `json:"expires_at,omitempty"`
	RevokedAt  *time.Time    `json:"revoked_at,omitempty"`
	// Token is the secret, present only in the response that created it.
	Token string `json:"token,omitempty"`
}

func toToken(t *platform.AdminToken, now time.Time) tokenJSON {
	status := "active"
	switch {
	case t.RevokedAt != nil:
		status = "revoked"
	case !t.Usable(now):
		status = "expired"
	}
	return tokenJSON{ID: t.ID, Object: "admin_token", Name: t.Name, Role: t.Role, Hint: t.Hint, Status: status,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt}
}

type refJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type auditJSON struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	Actor     refJSON           `json:"actor"`
	Action    string            `json:"action"`
	Target    refJSON           `json:"target"`
	SourceIP  string            `json:"source_ip,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

func toAudit(e *platform.AuditEvent) auditJSON {
	return auditJSON{ID: e.ID, Object: "audit_event", Actor: refJSON{Type: string(e.ActorType), ID: e.ActorID},
		Action: e.Action, Target: refJSON{Type: e.TargetType, ID: e.TargetID}, SourceIP: e.SourceIP,
		Details: e.Details, CreatedAt: e.CreatedAt}
}

type listJSON[T any] struct {
	Object     string `json:"object"`
	Data       []T    `json:"data"`
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func list[S any, T any](items []S, conv func(S) T) listJSON[T] {
	out := listJSON[T]{Object: "list", Data: make([]T, 0, len(items))}
	for _, it := range items {
		out.Data = append(out.Data, conv(it))
	}
	return out
}
