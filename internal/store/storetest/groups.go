package storetest

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

var groupTests = []test{
	{"CreateGet", testGroupCreateGet},
	{"DuplicateName", testGroupDuplicateName},
	{"OtherOrg", testGroupOtherOrg},
	{"Update", testGroupUpdate},
	{"UpdateNoChange", testGroupUpdateNoChange},
	{"UpdateRefused", testGroupUpdateRefused},
	{"List", testGroupList},
	{"Delete", testGroupDelete},
	{"RecreateDeletedName", testGroupRecreateDeletedName},
}

func testGroupCreateGet(t *testing.T, e *env) {
	acme := e.org("Acme")
	want := e.group(acme.ID, "Production")

	got, err := e.s.GetGroup(e.ctx, acme.ID, want.ID)
	if err != nil {
		t.Fatalf("GetGroup: %v", err)
	}
	checkEqual(t, "GetGroup", got, want)

	disabled := e.newGroup(acme.ID, "Staging")
	disabled.Status = platform.GroupDisabled
	if err := e.s.CreateGroup(e.ctx, disabled, alice); err != nil {
		t.Fatalf("CreateGroup(disabled): %v", err)
	}
	got, err = e.s.GetGroup(e.ctx, acme.ID, disabled.ID)
	if err != nil {
		t.Fatalf("GetGroup(disabled): %v", err)
	}
	checkEqual(t, "GetGroup of a disabled group", got, disabled)

	_, err = e.s.GetGroup(e.ctx, acme.ID, "grp_missing")
	wantNotFound(t, "GetGroup of a missing group", err)
}

func testGroupDuplicateName(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	e.group(acme.ID, "Production")

	dup := e.newGroup(acme.ID, "Production")
	wantDuplicate(t, "CreateGroup with a name used in the org", e.s.CreateGroup(e.ctx, dup, alice))
	_, err := e.s.GetGroup(e.ctx, acme.ID, dup.ID)
	wantNotFound(t, "GetGroup of the refused duplicate", err)

	if err := e.s.CreateGroup(e.ctx, e.newGroup(globex.ID, "Production"), alice); err != nil {
		t.Fatalf("CreateGroup with the same name in another org: %v", err)
	}
	if err := e.s.CreateGroup(e.ctx, e.newGroup(acme.ID, "production"), alice); err != nil {
		t.Fatalf("CreateGroup with another name in the same org: %v", err)
	}
}

func testGroupOtherOrg(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	g := e.group(acme.ID, "Production")

	tests := []struct {
		name string
		call func() error
	}{
		{"GetGroup", func() error { _, err := e.s.GetGroup(e.ctx, globex.ID, g.ID); return err }},
		{"UpdateGroup", func() error {
			_, err := e.s.UpdateGroup(e.ctx, globex.ID, g.ID, platform.GroupUpdate{Name: ptr("stolen")}, alice)
			return err
		}},
		{"DeleteGroup", func() error { return e.s.DeleteGroup(e.ctx, globex.ID, g.ID, alice) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name+" with another org's ID", tt.call())
		})
	}

	got, err := e.s.GetGroup(e.ctx, acme.ID, g.ID)
	if err != nil {
		t.Fatalf("GetGroup: %v", err)
	}
	checkEqual(t, "the group after another org's attempts", got, g)
	list, err := e.s.ListGroups(e.ctx, globex.ID)
	if err != nil {
		t.Fatalf("ListGroups(globex): %v", err)
	}
	if len(list) != 0 {
		t.Fatalf("ListGroups of another org = %s, want none", show(list))
	}
}

func testGroupUpdate(t *testing.T, e *env) {
	acme := e.org("Acme")
	disabled := platform.GroupDisabled
	tests := []struct {
		name    string
		update  platform.GroupUpdate
		change  func(g *platform.Group)
		details map[string]string
	}{
		{
			name:    "name",
			update:  platform.GroupUpdate{Name: ptr("renamed")},
			change:  func(g *platform.Group) { g.Name = "renamed" },
			details: map[string]string{"name": "renamed"},
		},
		{
			name:    "description",
			update:  platform.GroupUpdate{Description: ptr("new words")},
			change:  func(g *platform.Group) { g.Description = "new words" },
			details: map[string]string{"description": "changed"},
		},
		{
			name:    "status",
			update:  platform.GroupUpdate{Status: &disabled},
			change:  func(g *platform.Group) { g.Status = platform.GroupDisabled },
			details: map[string]string{"status": "disabled"},
		},
		{
			name:   "everything",
			update: platform.GroupUpdate{Name: ptr("all new"), Description: ptr(""), Status: &disabled},
			change: func(g *platform.Group) {
				g.Name, g.Description, g.Status = "all new", "", platform.GroupDisabled
			},
			details: map[string]string{"name": "all new", "status": "disabled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := e.group(acme.ID, "group for "+tt.name)
			now := e.clock.Advance(time.Minute)

			got, err := e.s.UpdateGroup(e.ctx, acme.ID, g.ID, tt.update, bob)
			if err != nil {
				t.Fatalf("UpdateGroup: %v", err)
			}
			want := *g
			tt.change(&want)
			want.UpdatedAt = now
			checkEqual(t, "UpdateGroup result", got, &want)

			got, err = e.s.GetGroup(e.ctx, acme.ID, g.ID)
			if err != nil {
				t.Fatalf("GetGroup: %v", err)
			}
			checkEqual(t, "GetGroup after UpdateGroup", got, &want)

			evs := e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditGroupUpdated, TargetID: g.ID})
			if len(evs) != 1 {
				t.Fatalf("got %d group.updated events, want 1: %s", len(evs), show(evs))
			}
			checkEvent(t, evs[0], wantEvent{
				OrgID: acme.ID, Actor: bob, Action: platform.AuditGroupUpdated,
				TargetType: "group", TargetID: g.ID, At: now, Details: tt.details,
			})
		})
	}
}

func testGroupUpdateNoChange(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	e.clock.Advance(time.Minute)

	status := g.Status
	for _, u := range []platform.GroupUpdate{
		{},
		{Name: ptr(g.Name), Description: ptr(g.Description), Status: &status},
	} {
		got, err := e.s.UpdateGroup(e.ctx, acme.ID, g.ID, u, alice)
		if err != nil {
			t.Fatalf("UpdateGroup(%s): %v", show(u), err)
		}
		checkEqual(t, "UpdateGroup without changes", got, g)
	}
	if n := e.countEvents(acme.ID, platform.AuditGroupUpdated, g.ID); n != 0 {
		t.Errorf("updates without changes wrote %d group.updated events, want 0", n)
	}
}

func testGroupUpdateRefused(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	k := e.key(acme.ID, g.ID, "prod")
	e.group(acme.ID, "Staging")

	deleted, bogus := platform.GroupDeleted, platform.GroupStatus("bogus")
	tests := []struct {
		name   string
		update platform.GroupUpdate
		want   platform.Kind
	}{
		// Deleting goes through DeleteGroup, which also revokes the keys.
		{"status deleted", platform.GroupUpdate{Status: &deleted}, platform.KindInvalid},
		{"unknown status", platform.GroupUpdate{Status: &bogus}, platform.KindInvalid},
		{"empty name", platform.GroupUpdate{Name: ptr("  ")}, platform.KindInvalid},
		{"name of another group", platform.GroupUpdate{Name: ptr("Staging")}, platform.KindConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.UpdateGroup(e.ctx, acme.ID, g.ID, tt.update, alice)
			wantKind(t, "UpdateGroup", err, tt.want)
			got, err := e.s.GetGroup(e.ctx, acme.ID, g.ID)
			if err != nil {
				t.Fatalf("GetGroup: %v", err)
			}
			checkEqual(t, "the group after a refused update", got, g)
		})
	}
	if got := e.getKey(acme.ID, k.ID); got.RevokedAt != nil {
		t.Errorf("a refused update revoked key %s", k.ID)
	}
	if n := e.countEvents(acme.ID, platform.AuditGroupUpdated, g.ID); n != 0 {
		t.Errorf("refused updates wrote %d group.updated events, want 0", n)
	}
}

func testGroupList(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	b := e.group(acme.ID, "b")
	a := e.group(acme.ID, "a")
	c := e.group(acme.ID, "c")
	e.group(globex.ID, "aa")
	if _, err := e.s.UpdateGroup(e.ctx, acme.ID, b.ID, platform.GroupUpdate{Status: ptr(platform.GroupDisabled)}, alice); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	b.Status = platform.GroupDisabled
	if err := e.s.DeleteGroup(e.ctx, acme.ID, c.ID, alice); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}

	got, err := e.s.ListGroups(e.ctx, acme.ID)
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	checkEqual(t, "ListGroups (by name, deleted left out, disabled kept)", got, []*platform.Group{a, b})
}

func testGroupDelete(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	keep := e.group(acme.ID, "Staging")
	k1 := e.key(acme.ID, g.ID, "one")
	k2 := e.key(acme.ID, g.ID, "two")
	k3 := e.key(acme.ID, g.ID, "three")
	other := e.key(acme.ID, keep.ID, "staging")

	revokedEarlier := e.clock.Advance(time.Minute)
	if _, err := e.s.RevokeKey(e.ctx, acme.ID, k3.ID, alice); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	now := e.clock.Advance(time.Minute)
	if err := e.s.DeleteGroup(e.ctx, acme.ID, g.ID, bob); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}

	_, err := e.s.GetGroup(e.ctx, acme.ID, g.ID)
	wantNotFound(t, "GetGroup of a deleted group", err)
	for _, tt := range []struct {
		key  *platform.APIKey
		want time.Time
	}{
		{k1, now},
		{k2, now},
		{k3, revokedEarlier}, // already revoked: its time stays
	} {
		got := e.getKey(acme.ID, tt.key.ID)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(tt.want) {
			t.Errorf("key %s of the deleted group: RevokedAt = %v, want %v", tt.key.Name, got.RevokedAt, tt.want)
		}
		auth, err := e.s.KeyByHash(e.ctx, tt.key.Hash)
		if err != nil {
			t.Fatalf("KeyByHash(%s): %v", tt.key.Name, err)
		}
		if auth.GroupStatus != platform.GroupDeleted || auth.Key.RevokedAt == nil {
			t.Errorf("KeyByHash(%s) = group %s, revoked %v; want a revoked key of a deleted group",
				tt.key.Name, auth.GroupStatus, auth.Key.RevokedAt)
		}
	}
	if got := e.getKey(acme.ID, other.ID); got.RevokedAt != nil {
		t.Errorf("a key of another group was revoked at %v", got.RevokedAt)
	}

	evs := e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditGroupDeleted})
	if len(evs) != 1 {
		t.Fatalf("got %d group.deleted events, want 1: %s", len(evs), show(evs))
	}
	checkEvent(t, evs[0], wantEvent{
		OrgID: acme.ID, Actor: bob, Action: platform.AuditGroupDeleted, TargetType: "group", TargetID: g.ID,
		At: now, Details: map[string]string{"keys_revoked": "2"},
	})

	tests := []struct {
		name string
		call func() error
	}{
		{"DeleteGroup again", func() error { return e.s.DeleteGroup(e.ctx, acme.ID, g.ID, alice) }},
		{"UpdateGroup", func() error {
			_, err := e.s.UpdateGroup(e.ctx, acme.ID, g.ID, platform.GroupUpdate{Name: ptr("back")}, alice)
			return err
		}},
		{"CreateKey", func() error { return e.s.CreateKey(e.ctx, e.newKey(acme.ID, g.ID, "late"), alice) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name+" on a deleted group", tt.call())
		})
	}
	keys, err := e.s.ListKeys(e.ctx, acme.ID, store.KeyFilter{GroupID: g.ID})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if len(keys) != 3 {
		t.Errorf("ListKeys of the deleted group: got %d keys, want the 3 revoked ones", len(keys))
	}
}

func testGroupRecreateDeletedName(t *testing.T, e *env) {
	acme := e.org("Acme")
	old := e.group(acme.ID, "Production")
	if err := e.s.DeleteGroup(e.ctx, acme.ID, old.ID, alice); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	e.clock.Advance(time.Minute)
	again := e.group(acme.ID, "Production")

	got, err := e.s.GetGroup(e.ctx, acme.ID, again.ID)
	if err != nil {
		t.Fatalf("GetGroup of the new group: %v", err)
	}
	checkEqual(t, "GetGroup of the new group", got, again)
	_, err = e.s.GetGroup(e.ctx, acme.ID, old.ID)
	wantNotFound(t, "GetGroup of the deleted group", err)
	list, err := e.s.ListGroups(e.ctx, acme.ID)
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	checkEqual(t, "ListGroups", list, []*platform.Group{again})

	// The name is taken again while the new group lives.
	wantDuplicate(t, "a third group of that name", e.s.CreateGroup(e.ctx, e.newGroup(acme.ID, "Production"), alice))
}
