package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

var auditTests = []test{
	{"EveryMutation", testAuditEveryMutation},
	{"Filters", testAuditFilters},
	{"Paging", testAuditPaging},
	{"AppendOnly", testAuditAppendOnly},
}

// wantEvent is what an audit event must record.
type wantEvent struct {
	OrgID      string
	Actor      platform.Actor
	Action     string
	TargetType string
	TargetID   string
	At         time.Time
	// Details must all be present; the event may carry more.
	Details map[string]string
}

// checkEvent fails the test unless got records want.
func checkEvent(t *testing.T, got *platform.AuditEvent, want wantEvent) {
	t.Helper()
	if got.ID == "" {
		t.Errorf("audit event has no ID: %s", show(got))
	}
	gotFields := []string{got.OrgID, string(got.ActorType), got.ActorID, got.SourceIP, got.Action, got.TargetType, got.TargetID}
	wantFields := []string{want.OrgID, string(want.Actor.Type), want.Actor.ID, want.Actor.SourceIP, want.Action, want.TargetType, want.TargetID}
	names := []string{"OrgID", "ActorType", "ActorID", "SourceIP", "Action", "TargetType", "TargetID"}
	for i := range names {
		if gotFields[i] != wantFields[i] {
			t.Errorf("audit event %s: %s = %q, want %q", got.Action, names[i], gotFields[i], wantFields[i])
		}
	}
	if !got.CreatedAt.Equal(want.At) {
		t.Errorf("audit event %s: CreatedAt = %v, want %v", got.Action, got.CreatedAt, want.At)
	}
	for k, v := range want.Details {
		if got.Details[k] != v {
			t.Errorf("audit event %s: Details[%q] = %q, want %q (details %v)", got.Action, k, got.Details[k], v, got.Details)
		}
	}
}

// testAuditEveryMutation performs each mutation of the store as its own
// actor and checks the one event that actor left.
func testAuditEveryMutation(t *testing.T, e *env) {
	acme := e.org("Acme")
	var newOrg *platform.Org
	tests := []struct {
		name string
		// do performs the mutation as by and returns the wanted event
		// (without actor and time, which the loop fills in).
		do func(t *testing.T, by platform.Actor) wantEvent
	}{
		{"CreateOrg", func(t *testing.T, by platform.Actor) wantEvent {
			newOrg = &platform.Org{ID: platform.NewID(platform.PrefixOrg), Name: "Initech", CreatedAt: e.clock.Now()}
			if err := e.s.CreateOrg(e.ctx, newOrg, by); err != nil {
				t.Fatalf("CreateOrg: %v", err)
			}
			return wantEvent{OrgID: newOrg.ID, Action: platform.AuditOrgCreated, TargetType: "org", TargetID: newOrg.ID,
				Details: map[string]string{"name": "Initech"}}
		}},
		{"RenameOrg", func(t *testing.T, by platform.Actor) wantEvent {
			if _, err := e.s.RenameOrg(e.ctx, acme.ID, "Acme Corp", by); err != nil {
				t.Fatalf("RenameOrg: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditOrgUpdated, TargetType: "org", TargetID: acme.ID,
				Details: map[string]string{"name": "Acme Corp"}}
		}},
		{"SetPassword", func(t *testing.T, by platform.Actor) wantEvent {
			u := e.user("pw@example.com")
			if err := e.s.SetPassword(e.ctx, acme.ID, u.ID, "$argon2id$new", by); err != nil {
				t.Fatalf("SetPassword: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditUserPasswordSet, TargetType: "user", TargetID: u.ID}
		}},
		{"AddMember", func(t *testing.T, by platform.Actor) wantEvent {
			u := e.user("add@example.com")
			m := &platform.Membership{OrgID: acme.ID, UserID: u.ID, Role: platform.RoleAdmin, CreatedAt: e.clock.Now()}
			if err := e.s.AddMember(e.ctx, m, by); err != nil {
				t.Fatalf("AddMember: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditMemberAdded, TargetType: "user", TargetID: u.ID,
				Details: map[string]string{"role": "admin"}}
		}},
		{"SetMemberRole", func(t *testing.T, by platform.Actor) wantEvent {
			m := e.member(acme.ID, e.user("role@example.com"), platform.RoleAdmin)
			if _, err := e.s.SetMemberRole(e.ctx, acme.ID, m.UserID, platform.RoleViewer, by); err != nil {
				t.Fatalf("SetMemberRole: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditMemberRoleChanged, TargetType: "user", TargetID: m.UserID,
				Details: map[string]string{"from": "admin", "to": "viewer"}}
		}},
		{"RemoveMember", func(t *testing.T, by platform.Actor) wantEvent {
			m := e.member(acme.ID, e.user("gone@example.com"), platform.RoleMember)
			if err := e.s.RemoveMember(e.ctx, acme.ID, m.UserID, by); err != nil {
				t.Fatalf("RemoveMember: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditMemberRemoved, TargetType: "user", TargetID: m.UserID,
				Details: map[string]string{"role": "member"}}
		}},
		{"CreateGroup", func(t *testing.T, by platform.Actor) wantEvent {
			g := e.newGroup(acme.ID, "created")
			if err := e.s.CreateGroup(e.ctx, g, by); err != nil {
				t.Fatalf("CreateGroup: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditGroupCreated, TargetType: "group", TargetID: g.ID,
				Details: map[string]string{"name": "created"}}
		}},
		{"UpdateGroup", func(t *testing.T, by platform.Actor) wantEvent {
			g := e.group(acme.ID, "to update")
			if _, err := e.s.UpdateGroup(e.ctx, acme.ID, g.ID, platform.GroupUpdate{Name: ptr("updated")}, by); err != nil {
				t.Fatalf("UpdateGroup: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditGroupUpdated, TargetType: "group", TargetID: g.ID,
				Details: map[string]string{"name": "updated"}}
		}},
		{"DeleteGroup", func(t *testing.T, by platform.Actor) wantEvent {
			g := e.group(acme.ID, "to delete")
			e.key(acme.ID, g.ID, "doomed")
			if err := e.s.DeleteGroup(e.ctx, acme.ID, g.ID, by); err != nil {
				t.Fatalf("DeleteGroup: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditGroupDeleted, TargetType: "group", TargetID: g.ID,
				Details: map[string]string{"keys_revoked": "1"}}
		}},
		{"CreateKey", func(t *testing.T, by platform.Actor) wantEvent {
			g := e.group(acme.ID, "for a key")
			k := e.newKey(acme.ID, g.ID, "new key")
			if err := e.s.CreateKey(e.ctx, k, by); err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditKeyCreated, TargetType: "key", TargetID: k.ID,
				Details: map[string]string{"name": "new key", "group_id": g.ID, "hint": k.Hint}}
		}},
		{"RenameKey", func(t *testing.T, by platform.Actor) wantEvent {
			k := e.key(acme.ID, e.group(acme.ID, "for a rename").ID, "before")
			if _, err := e.s.RenameKey(e.ctx, acme.ID, k.ID, "after", by); err != nil {
				t.Fatalf("RenameKey: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditKeyRenamed, TargetType: "key", TargetID: k.ID,
				Details: map[string]string{"name": "after"}}
		}},
		{"RevokeKey", func(t *testing.T, by platform.Actor) wantEvent {
			k := e.key(acme.ID, e.group(acme.ID, "for a revocation").ID, "revoked")
			if _, err := e.s.RevokeKey(e.ctx, acme.ID, k.ID, by); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditKeyRevoked, TargetType: "key", TargetID: k.ID}
		}},
		{"RotateKey", func(t *testing.T, by platform.Actor) wantEvent {
			g := e.group(acme.ID, "for a rotation")
			k := e.key(acme.ID, g.ID, "rotated")
			next := e.newKey(acme.ID, g.ID, "successor")
			if _, err := e.s.RotateKey(e.ctx, acme.ID, k.ID, next, e.clock.Now().Add(time.Hour), by); err != nil {
				t.Fatalf("RotateKey: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditKeyRotated, TargetType: "key", TargetID: k.ID,
				Details: map[string]string{"successor": next.ID}}
		}},
		{"CreateAdminToken", func(t *testing.T, by platform.Actor) wantEvent {
			tok := e.newToken(acme.ID, "new token", platform.RoleBilling)
			if err := e.s.CreateAdminToken(e.ctx, tok, by); err != nil {
				t.Fatalf("CreateAdminToken: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditAdminTokenCreated, TargetType: "admin_token", TargetID: tok.ID,
				Details: map[string]string{"name": "new token", "role": "billing"}}
		}},
		{"RevokeAdminToken", func(t *testing.T, by platform.Actor) wantEvent {
			tok := e.token(acme.ID, "revoked token", platform.RoleAdmin)
			if _, err := e.s.RevokeAdminToken(e.ctx, acme.ID, tok.ID, by); err != nil {
				t.Fatalf("RevokeAdminToken: %v", err)
			}
			return wantEvent{OrgID: acme.ID, Action: platform.AuditAdminTokenRevoked, TargetType: "admin_token", TargetID: tok.ID}
		}},
	}
	actorTypes := []platform.ActorType{platform.ActorUser, platform.ActorAdminToken, platform.ActorAPIKey, platform.ActorSystem}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			by := platform.Actor{
				Type:     actorTypes[i%len(actorTypes)],
				ID:       "actor-" + tt.name,
				SourceIP: fmt.Sprintf("192.0.2.%d", i+1),
			}
			now := e.clock.Advance(time.Minute)
			want := tt.do(t, by)
			want.Actor, want.At = by, now

			evs := e.audit(want.OrgID, platform.AuditFilter{ActorID: by.ID})
			if len(evs) != 1 {
				t.Fatalf("%s as %s left %d audit events, want 1: %s", tt.name, by.ID, len(evs), show(evs))
			}
			checkEvent(t, evs[0], want)
		})
	}
}

// testAuditFilters builds a known log and reads it back through each filter.
func testAuditFilters(t *testing.T, e *env) {
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	acme := e.org("Acme") // t0, by system
	names := map[string]string{acme.ID: "org"}
	label := func(ev *platform.AuditEvent) string { return ev.Action + " " + names[ev.TargetID] }

	e.clock.Advance(time.Minute) // t1
	g := e.newGroup(acme.ID, "Production")
	if err := e.s.CreateGroup(e.ctx, g, alice); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	names[g.ID] = "g"
	e.clock.Advance(time.Minute) // t2
	k1 := e.newKey(acme.ID, g.ID, "k1")
	if err := e.s.CreateKey(e.ctx, k1, alice); err != nil {
		t.Fatalf("CreateKey(k1): %v", err)
	}
	names[k1.ID] = "k1"
	e.clock.Advance(time.Minute) // t3
	k2 := e.newKey(acme.ID, g.ID, "k2")
	if err := e.s.CreateKey(e.ctx, k2, bob); err != nil {
		t.Fatalf("CreateKey(k2): %v", err)
	}
	names[k2.ID] = "k2"
	e.clock.Advance(time.Minute) // t4
	if _, err := e.s.RenameKey(e.ctx, acme.ID, k1.ID, "k1 renamed", bob); err != nil {
		t.Fatalf("RenameKey: %v", err)
	}
	e.clock.Advance(time.Minute) // t5
	if _, err := e.s.RevokeKey(e.ctx, acme.ID, k1.ID, alice); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	e.clock.Advance(time.Minute) // t6
	tok := e.newToken(acme.ID, "ci", platform.RoleAdmin)
	if err := e.s.CreateAdminToken(e.ctx, tok, bob); err != nil {
		t.Fatalf("CreateAdminToken: %v", err)
	}
	names[tok.ID] = "tok"

	// Another organization's log, by the same actors at the same times,
	// must never show up.
	globex := e.org("Globex")
	gx := e.newGroup(globex.ID, "Theirs")
	if err := e.s.CreateGroup(e.ctx, gx, alice); err != nil {
		t.Fatalf("CreateGroup(globex): %v", err)
	}
	if err := e.s.CreateKey(e.ctx, e.newKey(globex.ID, gx.ID, "kx"), bob); err != nil {
		t.Fatalf("CreateKey(globex): %v", err)
	}

	tests := []struct {
		name string
		f    platform.AuditFilter
		want []string
	}{
		{"everything, newest first", platform.AuditFilter{}, []string{
			"admin_token.created tok", "key.revoked k1", "key.renamed k1", "key.created k2",
			"key.created k1", "group.created g", "org.created org"}},
		{"actor alice", platform.AuditFilter{ActorID: alice.ID}, []string{
			"key.revoked k1", "key.created k1", "group.created g"}},
		{"actor bob", platform.AuditFilter{ActorID: bob.ID}, []string{
			"admin_token.created tok", "key.renamed k1", "key.created k2"}},
		{"actor without events", platform.AuditFilter{ActorID: "usr_nobody"}, nil},
		{"exact action", platform.AuditFilter{Action: platform.AuditKeyCreated}, []string{
			"key.created k2", "key.created k1"}},
		{"action prefix key.", platform.AuditFilter{Action: "key."}, []string{
			"key.revoked k1", "key.renamed k1", "key.created k2", "key.created k1"}},
		{"action prefix admin_token.", platform.AuditFilter{Action: "admin_token."}, []string{"admin_token.created tok"}},
		{"action without a dot is exact", platform.AuditFilter{Action: "key"}, nil},
		{"target", platform.AuditFilter{TargetID: k1.ID}, []string{
			"key.revoked k1", "key.renamed k1", "key.created k1"}},
		{"since (inclusive)", platform.AuditFilter{Since: at(3)}, []string{
			"admin_token.created tok", "key.revoked k1", "key.renamed k1", "key.created k2"}},
		{"until (exclusive)", platform.AuditFilter{Until: at(3)}, []string{
			"key.created k1", "group.created g", "org.created org"}},
		{"since and until", platform.AuditFilter{Since: at(2), Until: at(5)}, []string{
			"key.renamed k1", "key.created k2", "key.created k1"}},
		{"limit", platform.AuditFilter{Limit: 2}, []string{"admin_token.created tok", "key.revoked k1"}},
		{"actor and action prefix", platform.AuditFilter{ActorID: bob.ID, Action: "key."}, []string{
			"key.renamed k1", "key.created k2"}},
		{"target and limit", platform.AuditFilter{TargetID: k1.ID, Limit: 1}, []string{"key.revoked k1"}},
		{"another org's target", platform.AuditFilter{TargetID: gx.ID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, ev := range e.audit(acme.ID, tt.f) {
				if ev.OrgID != acme.ID {
					t.Errorf("ListAudit(acme) returned an event of org %s: %s", ev.OrgID, show(ev))
				}
				got = append(got, label(ev))
			}
			checkEqual(t, fmt.Sprintf("ListAudit(%+v)", tt.f), got, tt.want)
		})
	}
}

// testAuditPaging pages through events written at one instant, so only the
// order of writing can put them newest first.
func testAuditPaging(t *testing.T, e *env) {
	acme := e.org("Acme")
	for i := range 24 {
		e.group(acme.ID, fmt.Sprintf("group %02d", i))
	}
	evs := e.audit(acme.ID, platform.AuditFilter{Limit: 1000})
	if len(evs) != 25 {
		t.Fatalf("got %d events, want 25 (an org and 24 groups)", len(evs))
	}
	var want []string // IDs, newest first
	for i, ev := range evs {
		want = append(want, ev.ID)
		wantLabel := fmt.Sprintf("%s group %02d", platform.AuditGroupCreated, 23-i)
		if i == 24 {
			wantLabel = platform.AuditOrgCreated + " Acme"
		}
		if got := ev.Action + " " + ev.Details["name"]; got != wantLabel {
			t.Fatalf("event %d of events written at one instant = %q, want %q (newest first)", i, got, wantLabel)
		}
	}

	tests := []struct {
		name      string
		f         platform.AuditFilter
		wantPages []int
	}{
		{"every event", platform.AuditFilter{Limit: 10}, []int{10, 10, 5}},
		{"one action", platform.AuditFilter{Action: platform.AuditGroupCreated, Limit: 7}, []int{7, 7, 7, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				got   []string
				pages []int
			)
			f := tt.f
			for range 10 {
				page := e.audit(acme.ID, f)
				if len(page) == 0 {
					break
				}
				pages = append(pages, len(page))
				for _, ev := range page {
					got = append(got, ev.ID)
				}
				f.Before = page[len(page)-1].ID
			}
			checkEqual(t, "page sizes", pages, tt.wantPages)
			wantIDs := want
			if tt.f.Action != "" {
				wantIDs = want[:len(want)-1] // all but org.created, the oldest
			}
			checkEqual(t, "event IDs over all pages", got, wantIDs)
		})
	}

	if n := len(e.audit(acme.ID, platform.AuditFilter{})); n != 25 {
		t.Errorf("ListAudit without a limit returned %d events, want all 25", n)
	}
}

// testAuditAppendOnly edits the log behind the store's back: the database
// itself must refuse.
func testAuditAppendOnly(t *testing.T, e *env) {
	if e.db == nil {
		t.Skip("the harness gives no raw database; append-only is not checked")
	}
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	e.key(acme.ID, g.ID, "prod")
	before := e.audit(acme.ID, platform.AuditFilter{})
	if len(before) != 3 {
		t.Fatalf("got %d events, want 3", len(before))
	}

	tests := []struct {
		name string
		sql  string
	}{
		{"update every row", `UPDATE audit_events SET action = 'tampered'`},
		{"update one row", `UPDATE audit_events SET actor_id = 'someone else' WHERE action = 'key.created'`},
		{"delete every row", `DELETE FROM audit_events`},
		{"delete one row", `DELETE FROM audit_events WHERE action = 'org.created'`},
		// SQLite has no TRUNCATE (a syntax error); PostgreSQL needs its own trigger.
		{"truncate", `TRUNCATE audit_events`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.db.ExecContext(e.ctx, tt.sql)
			if err == nil {
				n, _ := res.RowsAffected()
				t.Fatalf("%s: no error (%d rows affected); the audit log must be append-only", tt.sql, n)
			}
			checkEqual(t, "events after the refused edit", e.audit(acme.ID, platform.AuditFilter{}), before)
		})
	}
}
