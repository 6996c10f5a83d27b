package platform

import (
	"testing"
	"time"
)

func TestCan(t *testing.T) {
	tests := []struct {
		role Role
		act  Action
		want bool
	}{
		{RoleOwner, ActOwnerManage, true},
		{RoleAdmin, ActOwnerManage, false},
		{RoleAdmin, ActKeyManage, true},
		{RoleAdmin, ActAuditRead, true},
		{RoleMember, ActKeyManage, true},
		{RoleMember, ActGroupManage, false},
		{RoleMember, ActAuditRead, false},
		{RoleBilling, ActBillingManage, true},
		{RoleBilling, ActKeyManage, false},
		{RoleViewer, ActKeyRead, true},
		{RoleViewer, ActKeyManage, false},
		{RoleViewer, ActBillingManage, false},
		{Role("intruder"), ActKeyRead, false},
	}
	for _, tt := range tests {
		if got := Can(tt.role, tt.act); got != tt.want {
			t.Errorf("Can(%s, %s) = %v, want %v", tt.role, tt.act, got, tt.want)
		}
	}
}

func TestEveryRoleReadsAndOnlyOwnerManagesOwners(t *testing.T) {
	for _, r := range Roles {
		if !Can(r, ActGroupRead) || !Can(r, ActKeyRead) {
			t.Errorf("%s cannot read groups and keys", r)
		}
		if got := Can(r, ActOwnerManage); got != (r == RoleOwner) {
			t.Errorf("Can(%s, manage owners) = %v", r, got)
		}
		if r.Description() == "" {
			t.Errorf("%s has no description", r)
		}
	}
}

func TestMayGrant(t *testing.T) {
	tests := []struct {
		holder, target Role
		ok             bool
	}{
		{RoleOwner, RoleOwner, true},
		{RoleOwner, RoleViewer, true},
		{RoleAdmin, RoleOwner, false},
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleBilling, true},
		{RoleMember, RoleBilling, false},
		{RoleBilling, RoleMember, false},
		{RoleMember, RoleViewer, true},
		{RoleViewer, RoleMember, false},
		{RoleViewer, RoleViewer, true},
	}
	for _, tt := range tests {
		if err := tt.holder.MayGrant(tt.target); (err == nil) != tt.ok {
			t.Errorf("%s.MayGrant(%s) = %v, want ok=%v", tt.holder, tt.target, err, tt.ok)
		}
	}
}

func TestKeyStatus(t *testing.T) {
	now := mustTime("2026-01-02T00:00:00Z")
	past, future := now.Add(-1), now.Add(1)
	tests := []struct {
		name string
		k    APIKey
		want KeyStatus
	}{
		{"fresh", APIKey{}, KeyActive},
		{"future expiry", APIKey{ExpiresAt: &future}, KeyActive},
		{"expired", APIKey{ExpiresAt: &past}, KeyExpired},
		{"expires exactly now", APIKey{ExpiresAt: &now}, KeyExpired},
		{"rotating", APIKey{RotatedTo: "key_x", ExpiresAt: &future}, KeyRotating},
		{"rotation over", APIKey{RotatedTo: "key_x", ExpiresAt: &past}, KeyExpired},
		{"revoked wins", APIKey{RevokedAt: &past, ExpiresAt: &future}, KeyRevoked},
	}
	for _, tt := range tests {
		if got := tt.k.Status(now); got != tt.want {
			t.Errorf("%s: Status = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada@Example.COM", "ada@example.com"},
		{"  ada@example.com ", "ada@example.com"},
		{"not-an-email", ""},
		{"Ada <ada@example.com>", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeEmail(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
