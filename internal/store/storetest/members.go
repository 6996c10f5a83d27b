package storetest

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

var memberTests = []test{
	{"AddGetList", testMemberAddGetList},
	{"AddDuplicate", testMemberAddDuplicate},
	{"NotFound", testMemberNotFound},
	{"SetRole", testMemberSetRole},
	{"LastOwner", testMemberLastOwner},
	{"TwoOwners", testMemberTwoOwners},
	{"Remove", testMemberRemove},
}

func testMemberAddGetList(t *testing.T, e *env) {
	acme := e.org("Acme")
	other := e.org("Other")
	ada := e.member(acme.ID, e.user("ada@example.com"), platform.RoleOwner)
	e.clock.Advance(time.Second)
	grace := e.member(acme.ID, e.user("grace@example.com"), platform.RoleMember)

	for _, want := range []*platform.Membership{ada, grace} {
		got, err := e.s.GetMember(e.ctx, acme.ID, want.UserID)
		if err != nil {
			t.Fatalf("GetMember(%s): %v", want.Email, err)
		}
		checkEqual(t, "GetMember", got, want)
	}

	got, err := e.s.ListMembers(e.ctx, acme.ID)
	if err != nil {
		t.Fatalf("ListMembers: %v", err)
	}
	checkEqual(t, "ListMembers (oldest first)", got, []*platform.Membership{ada, grace})

	got, err = e.s.ListMembers(e.ctx, other.ID)
	if err != nil {
		t.Fatalf("ListMembers(other): %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("ListMembers of an org without members = %s, want none", show(got))
	}
}

func testMemberAddDuplicate(t *testing.T, e *env) {
	acme := e.org("Acme")
	ada := e.user("ada@example.com")
	first := e.member(acme.ID, ada, platform.RoleOwner)

	again := &platform.Membership{OrgID: acme.ID, UserID: ada.ID, Role: platform.RoleViewer, CreatedAt: e.clock.Now()}
	wantDuplicate(t, "AddMember twice", e.s.AddMember(e.ctx, again, alice))

	got, err := e.s.GetMember(e.ctx, acme.ID, ada.ID)
	if err != nil {
		t.Fatalf("GetMember: %v", err)
	}
	checkEqual(t, "membership after the refused duplicate", got, first)
}

func testMemberNotFound(t *testing.T, e *env) {
	acme := e.org("Acme")
	other := e.org("Other")
	ada := e.user("ada@example.com")
	e.member(acme.ID, ada, platform.RoleOwner)
	stranger := e.user("stranger@example.com")

	tests := []struct {
		name string
		call func() error
	}{
		{"GetMember of a non-member", func() error { _, err := e.s.GetMember(e.ctx, acme.ID, stranger.ID); return err }},
		{"GetMember in another org", func() error { _, err := e.s.GetMember(e.ctx, other.ID, ada.ID); return err }},
		{"SetMemberRole of a non-member", func() error {
			_, err := e.s.SetMemberRole(e.ctx, acme.ID, stranger.ID, platform.RoleAdmin, alice)
			return err
		}},
		{"SetMemberRole in another org", func() error {
			_, err := e.s.SetMemberRole(e.ctx, other.ID, ada.ID, platform.RoleViewer, alice)
			return err
		}},
		{"RemoveMember of a non-member", func() error { return e.s.RemoveMember(e.ctx, acme.ID, stranger.ID, alice) }},
		{"RemoveMember in another org", func() error { return e.s.RemoveMember(e.ctx, other.ID, ada.ID, alice) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name, tt.call())
		})
	}
}

func testMemberSetRole(t *testing.T, e *env) {
	acme := e.org("Acme")
	e.member(acme.ID, e.user("owner@example.com"), platform.RoleOwner)
	ada := e.member(acme.ID, e.user("ada@example.com"), platform.RoleAdmin)

	for _, role := range []platform.Role{platform.RoleMember, platform.RoleBilling, platform.RoleViewer, platform.RoleOwner} {
		got, err := e.s.SetMemberRole(e.ctx, acme.ID, ada.UserID, role, alice)
		if err != nil {
			t.Fatalf("SetMemberRole(%s): %v", role, err)
		}
		want := *ada
		want.Role = role
		checkEqual(t, "SetMemberRole result", got, &want)
		got, err = e.s.GetMember(e.ctx, acme.ID, ada.UserID)
		if err != nil {
			t.Fatalf("GetMember: %v", err)
		}
		checkEqual(t, "GetMember after SetMemberRole", got, &want)
	}
}

func testMemberLastOwner(t *testing.T, e *env) {
	acme := e.org("Acme")
	owner := e.member(acme.ID, e.user("owner@example.com"), platform.RoleOwner)
	e.member(acme.ID, e.user("admin@example.com"), platform.RoleAdmin)

	tests := []struct {
		name string
		call func() error
	}{
		{"demote to admin", func() error {
			_, err := e.s.SetMemberRole(e.ctx, acme.ID, owner.UserID, platform.RoleAdmin, alice)
			return err
		}},
		{"demote to viewer", func() error {
			_, err := e.s.SetMemberRole(e.ctx, acme.ID, owner.UserID, platform.RoleViewer, alice)
			return err
		}},
		{"remove", func() error { return e.s.RemoveMember(e.ctx, acme.ID, owner.UserID, alice) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKind(t, tt.name+" the last owner", tt.call(), platform.KindConflict)
			got, err := e.s.GetMember(e.ctx, acme.ID, owner.UserID)
			if err != nil {
				t.Fatalf("GetMember: %v", err)
			}
			checkEqual(t, "the last owner after the refusal", got, owner)
		})
	}

	// Keeping the last owner an owner changes nothing and is allowed.
	got, err := e.s.SetMemberRole(e.ctx, acme.ID, owner.UserID, platform.RoleOwner, alice)
	if err != nil {
		t.Fatalf("SetMemberRole(owner → owner): %v", err)
	}
	checkEqual(t, "SetMemberRole(owner → owner)", got, owner)

	for _, action := range []string{platform.AuditMemberRoleChanged, platform.AuditMemberRemoved} {
		if n := e.countEvents(acme.ID, action, owner.UserID); n != 0 {
			t.Errorf("refused changes wrote %d %s events, want 0", n, action)
		}
	}
}

func testMemberTwoOwners(t *testing.T, e *env) {
	acme := e.org("Acme")
	ada := e.member(acme.ID, e.user("ada@example.com"), platform.RoleOwner)
	grace := e.member(acme.ID, e.user("grace@example.com"), platform.RoleOwner)

	if _, err := e.s.SetMemberRole(e.ctx, acme.ID, ada.UserID, platform.RoleAdmin, alice); err != nil {
		t.Fatalf("demoting one of two owners: %v", err)
	}
	_, err := e.s.SetMemberRole(e.ctx, acme.ID, grace.UserID, platform.RoleAdmin, alice)
	wantKind(t, "demoting the remaining owner", err, platform.KindConflict)
	wantKind(t, "removing the remaining owner", e.s.RemoveMember(e.ctx, acme.ID, grace.UserID, alice), platform.KindConflict)

	if _, err := e.s.SetMemberRole(e.ctx, acme.ID, ada.UserID, platform.RoleOwner, alice); err != nil {
		t.Fatalf("promoting back to owner: %v", err)
	}
	if err := e.s.RemoveMember(e.ctx, acme.ID, grace.UserID, alice); err != nil {
		t.Fatalf("removing one of two owners: %v", err)
	}
	got, err := e.s.ListMembers(e.ctx, acme.ID)
	if err != nil {
		t.Fatalf("ListMembers: %v", err)
	}
	checkEqual(t, "ListMembers", got, []*platform.Membership{ada})
}

func testMemberRemove(t *testing.T, e *env) {
	acme := e.org("Acme")
	owner := e.member(acme.ID, e.user("owner@example.com"), platform.RoleOwner)
	adaUser := e.user("ada@example.com")
	ada := e.member(acme.ID, adaUser, platform.RoleAdmin)

	if err := e.s.RemoveMember(e.ctx, acme.ID, ada.UserID, alice); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	_, err := e.s.GetMember(e.ctx, acme.ID, ada.UserID)
	wantNotFound(t, "GetMember after RemoveMember", err)
	got, err := e.s.ListMembers(e.ctx, acme.ID)
	if err != nil {
		t.Fatalf("ListMembers: %v", err)
	}
	checkEqual(t, "ListMembers after RemoveMember", got, []*platform.Membership{owner})
	if _, err := e.s.GetUser(e.ctx, ada.UserID); err != nil {
		t.Errorf("GetUser after RemoveMember: %v; removing a membership must keep the user", err)
	}

	// The user may join again.
	e.clock.Advance(time.Second)
	again := e.member(acme.ID, adaUser, platform.RoleViewer)
	gotM, err := e.s.GetMember(e.ctx, acme.ID, ada.UserID)
	if err != nil {
		t.Fatalf("GetMember after re-adding: %v", err)
	}
	checkEqual(t, "GetMember after re-adding", gotM, again)
}
