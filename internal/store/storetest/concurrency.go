package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// The concurrency tests race store calls and check invariants that must hold
// whatever the interleaving. Most repeat the race in rounds: in the first
// round the connection pool may still be opening connections, which
// serialises the calls; later rounds find them open.
var concurrencyTests = []test{
	{"CreateKeys", testConcurrentCreateKeys},
	{"RotateKey", testConcurrentRotateKey},
	{"RevokeKey", testConcurrentRevokeKey},
	{"RevokeAdminToken", testConcurrentRevokeAdminToken},
	{"UpdateGroup", testConcurrentUpdateGroup},
	{"DeleteGroupWhileCreatingKeys", testConcurrentDeleteGroupWhileCreatingKeys},
	{"DeleteGroupWhileRotating", testConcurrentDeleteGroupWhileRotating},
	{"DeleteGroupWhileTouching", testConcurrentDeleteGroupWhileTouching},
	{"OwnerChanges", testConcurrentOwnerChanges},
}

const rounds = 10

// race runs fns at once, as close together as goroutines allow, and waits
// for all of them.
func race(fns ...func()) {
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for _, fn := range fns {
		wg.Go(func() {
			<-ready
			fn()
		})
	}
	close(ready)
	wg.Wait()
}

func testConcurrentCreateKeys(t *testing.T, e *env) {
	const n = 100
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")

	var (
		fns  []func()
		errs = make([]error, n)
		want = make(map[string]bool, n)
	)
	for i := range n {
		k := e.newKey(acme.ID, g.ID, "concurrent")
		want[k.ID] = true
		fns = append(fns, func() { errs[i] = e.s.CreateKey(e.ctx, k, alice) })
	}
	race(fns...)
	for i, err := range errs {
		if err != nil {
			t.Errorf("CreateKey #%d: %v", i, err)
		}
	}

	keys, err := e.s.ListKeys(e.ctx, acme.ID, store.KeyFilter{GroupID: g.ID})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	got := make(map[string]bool, len(keys))
	for _, k := range keys {
		got[k.ID] = true
	}
	if len(keys) != n || len(got) != n {
		t.Fatalf("ListKeys: %d keys, %d distinct; want %d of each", len(keys), len(got), n)
	}
	checkEqual(t, "key IDs", got, want)
	if c := len(e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditKeyCreated, Limit: 1000})); c != n {
		t.Errorf("got %d key.created events, want %d", c, n)
	}
}

// testConcurrentRotateKey: of concurrent rotations of one key exactly one
// succeeds, and only its successor is stored.
func testConcurrentRotateKey(t *testing.T, e *env) {
	const n = 8
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	later := start.Add(24 * time.Hour)

	for round := range rounds {
		old := e.key(acme.ID, g.ID, fmt.Sprintf("round %d", round))
		var (
			fns   []func()
			nexts = make([]*platform.APIKey, n)
			errs  = make([]error, n)
		)
		for i := range n {
			nexts[i] = e.newKey(acme.ID, g.ID, "next")
			fns = append(fns, func() { _, errs[i] = e.s.RotateKey(e.ctx, acme.ID, old.ID, nexts[i], later, alice) })
		}
		race(fns...)

		var winner *platform.APIKey
		for i, err := range errs {
			if err == nil {
				if winner != nil {
					t.Fatalf("round %d: two concurrent rotations succeeded: %s and %s", round, winner.ID, nexts[i].ID)
				}
				winner = nexts[i]
				continue
			}
			wantKind(t, "a losing concurrent rotation", err, platform.KindConflict)
		}
		if winner == nil {
			t.Fatalf("round %d: no concurrent rotation succeeded: %v", round, errs)
		}
		if got := e.getKey(acme.ID, old.ID).RotatedTo; got != winner.ID {
			t.Errorf("round %d: old key RotatedTo = %q, want the winner %q", round, got, winner.ID)
		}
		for _, next := range nexts {
			_, err := e.s.GetKey(e.ctx, acme.ID, next.ID)
			if next == winner && err != nil {
				t.Errorf("round %d: GetKey of the winning successor: %v", round, err)
			}
			if next != winner && err == nil {
				t.Errorf("round %d: a losing successor %s was stored", round, next.ID)
			}
		}
		if c := e.countEvents(acme.ID, platform.AuditKeyRotated, old.ID); c != 1 {
			t.Errorf("round %d: got %d key.rotated events, want 1", round, c)
		}
	}
	keys, err := e.s.ListKeys(e.ctx, acme.ID, store.KeyFilter{GroupID: g.ID})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if len(keys) != 2*rounds {
		t.Errorf("ListKeys after %d rounds: %d keys, want %d (each old key and one successor)", rounds, len(keys), 2*rounds)
	}
}

// testConcurrentRevokeKey: revoking is idempotent under concurrency too: one
// revocation time and one audit event, however many callers race.
func testConcurrentRevokeKey(t *testing.T, e *env) {
	const n = 6
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	for round := range rounds {
		k := e.key(acme.ID, g.ID, fmt.Sprintf("round %d", round))
		e.clock.Advance(time.Minute)
		var (
			fns  []func()
			got  = make([]*platform.APIKey, n)
			errs = make([]error, n)
		)
		for i := range n {
			fns = append(fns, func() { got[i], errs[i] = e.s.RevokeKey(e.ctx, acme.ID, k.ID, alice) })
		}
		race(fns...)

		stored := e.getKey(acme.ID, k.ID)
		if stored.RevokedAt == nil {
			t.Fatalf("round %d: key not revoked after %d concurrent revocations", round, n)
		}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: RevokeKey: %v", round, errs[i])
			}
			checkEqual(t, "a concurrent RevokeKey result", got[i], stored)
		}
		if c := e.countEvents(acme.ID, platform.AuditKeyRevoked, k.ID); c != 1 {
			t.Errorf("round %d: %d concurrent revocations wrote %d key.revoked events, want 1", round, n, c)
		}
	}
}

func testConcurrentRevokeAdminToken(t *testing.T, e *env) {
	const n = 6
	acme := e.org("Acme")
	for round := range rounds {
		tok := e.token(acme.ID, fmt.Sprintf("round %d", round), platform.RoleAdmin)
		e.clock.Advance(time.Minute)
		var (
			fns  []func()
			got  = make([]*platform.AdminToken, n)
			errs = make([]error, n)
		)
		for i := range n {
			fns = append(fns, func() { got[i], errs[i] = e.s.RevokeAdminToken(e.ctx, acme.ID, tok.ID, alice) })
		}
		race(fns...)

		stored, err := e.s.GetAdminToken(e.ctx, acme.ID, tok.ID)
		if err != nil {
			t.Fatalf("GetAdminToken: %v", err)
		}
		if stored.RevokedAt == nil {
			t.Fatalf("round %d: token not revoked after %d concurrent revocations", round, n)
		}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: RevokeAdminToken: %v", round, errs[i])
			}
			checkEqual(t, "a concurrent RevokeAdminToken result", got[i], stored)
		}
		if c := e.countEvents(acme.ID, platform.AuditAdminTokenRevoked, tok.ID); c != 1 {
			t.Errorf("round %d: %d concurrent revocations wrote %d admin_token.revoked events, want 1", round, n, c)
		}
	}
}

// testConcurrentUpdateGroup: concurrent updates of different fields must all
// land; none may write back a stale copy of the others.
func testConcurrentUpdateGroup(t *testing.T, e *env) {
	acme := e.org("Acme")
	disabled := platform.GroupDisabled
	for round := range rounds {
		g := e.group(acme.ID, fmt.Sprintf("round %d", round))
		name := fmt.Sprintf("renamed %d", round)
		updates := []platform.GroupUpdate{
			{Name: &name},
			{Description: ptr("described")},
			{Status: &disabled},
		}
		errs := make([]error, len(updates))
		var fns []func()
		for i, u := range updates {
			fns = append(fns, func() { _, errs[i] = e.s.UpdateGroup(e.ctx, acme.ID, g.ID, u, alice) })
		}
		race(fns...)
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: UpdateGroup: %v", round, err)
			}
		}

		got, err := e.s.GetGroup(e.ctx, acme.ID, g.ID)
		if err != nil {
			t.Fatalf("GetGroup: %v", err)
		}
		if got.Name != name || got.Description != "described" || got.Status != platform.GroupDisabled {
			t.Fatalf("round %d: after concurrent updates of name, description and status: %s; want all three changes",
				round, show(got))
		}
	}
}

// testConcurrentDeleteGroupWhileCreatingKeys: a key created while its group
// is being deleted must either be refused or be revoked with the group; an
// active key in a deleted group must never remain.
func testConcurrentDeleteGroupWhileCreatingKeys(t *testing.T, e *env) {
	const n = 6
	acme := e.org("Acme")
	for round := range rounds {
		g := e.group(acme.ID, fmt.Sprintf("round %d", round))
		var (
			fns       []func()
			errs      = make([]error, n)
			deleteErr error
		)
		for i := range n {
			k := e.newKey(acme.ID, g.ID, "racing")
			fns = append(fns, func() { errs[i] = e.s.CreateKey(e.ctx, k, alice) })
		}
		fns = append(fns, func() { deleteErr = e.s.DeleteGroup(e.ctx, acme.ID, g.ID, bob) })
		race(fns...)

		if deleteErr != nil {
			t.Fatalf("round %d: DeleteGroup: %v", round, deleteErr)
		}
		for _, err := range errs {
			if err != nil {
				wantNotFound(t, "CreateKey in a group being deleted", err)
			}
		}
		keys, err := e.s.ListKeys(e.ctx, acme.ID, store.KeyFilter{GroupID: g.ID})
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		for _, k := range keys {
			if k.RevokedAt == nil {
				t.Fatalf("round %d: key %s of the deleted group is not revoked", round, k.ID)
			}
		}
	}
}

// testConcurrentDeleteGroupWhileRotating: rotations racing the deletion of
// their group end cleanly (no deadlock or internal error) and leave no
// active key, old or successor, in the deleted group.
func testConcurrentDeleteGroupWhileRotating(t *testing.T, e *env) {
	const n = 4
	acme := e.org("Acme")
	later := start.Add(24 * time.Hour)
	for round := range rounds {
		g := e.group(acme.ID, fmt.Sprintf("round %d", round))
		var (
			fns       []func()
			errs      = make([]error, n)
			deleteErr error
		)
		for i := range n {
			old := e.key(acme.ID, g.ID, "old")
			fns = append(fns, func() {
				_, errs[i] = e.s.RotateKey(e.ctx, acme.ID, old.ID, e.newKey(acme.ID, g.ID, "next"), later, alice)
			})
		}
		fns = append(fns, func() { deleteErr = e.s.DeleteGroup(e.ctx, acme.ID, g.ID, bob) })
		race(fns...)

		if deleteErr != nil {
			t.Fatalf("round %d: DeleteGroup: %v", round, deleteErr)
		}
		for _, err := range errs {
			if err == nil {
				continue
			}
			// A rotation that runs after the deletion finds its key revoked
			// (conflict) or its group gone (not found).
			if k := platform.ErrorKind(err); k != platform.KindConflict && k != platform.KindNotFound {
				t.Fatalf("round %d: RotateKey racing DeleteGroup: %v (kind %s), want success, conflict or not_found", round, err, k)
			}
		}
		keys, err := e.s.ListKeys(e.ctx, acme.ID, store.KeyFilter{GroupID: g.ID})
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		for _, k := range keys {
			if k.RevokedAt == nil {
				t.Fatalf("round %d: key %s (rotated from %q) of the deleted group is not revoked", round, k.ID, k.RotatedFrom)
			}
		}
	}
}

// testConcurrentDeleteGroupWhileTouching: recording key use (many rows in
// one transaction) racing a group deletion (many rows in one statement) must
// not deadlock; both succeed.
func testConcurrentDeleteGroupWhileTouching(t *testing.T, e *env) {
	const n, batches = 12, 3
	acme := e.org("Acme")
	for round := range rounds {
		g := e.group(acme.ID, fmt.Sprintf("round %d", round))
		used := make(map[string]time.Time, n)
		for i := range n {
			// Creation order differs from ID order, as in real use.
			used[e.key(acme.ID, g.ID, "k").ID] = start.Add(time.Duration(i+1) * time.Second)
			e.clock.Advance(time.Millisecond)
		}
		var (
			fns       []func()
			errs      = make([]error, batches)
			deleteErr error
		)
		for i := range batches {
			fns = append(fns, func() { errs[i] = e.s.TouchKeys(e.ctx, used) })
		}
		fns = append(fns, func() { deleteErr = e.s.DeleteGroup(e.ctx, acme.ID, g.ID, bob) })
		race(fns...)

		if deleteErr != nil {
			t.Fatalf("round %d: DeleteGroup racing TouchKeys: %v", round, deleteErr)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: TouchKeys racing DeleteGroup: %v", round, err)
			}
		}
		for id, at := range used {
			k := e.getKey(acme.ID, id)
			if k.RevokedAt == nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(at) {
				t.Fatalf("round %d: key %s: revoked %v, last used %v; want revoked and last used %v", round, id, k.RevokedAt, k.LastUsedAt, at)
			}
		}
	}
}

// testConcurrentOwnerChanges races the demotion of one owner against the
// removal of the other: whichever runs second must see that it would leave
// the organization without an owner, so exactly one may succeed.
func testConcurrentOwnerChanges(t *testing.T, e *env) {
	for round := range rounds {
		org := e.org("Org")
		a := e.member(org.ID, e.user(fmt.Sprintf("a%d@example.com", round)), platform.RoleOwner)
		b := e.member(org.ID, e.user(fmt.Sprintf("b%d@example.com", round)), platform.RoleOwner)

		var errDemote, errRemoval error
		race(
			func() { _, errDemote = e.s.SetMemberRole(e.ctx, org.ID, a.UserID, platform.RoleAdmin, alice) },
			func() { errRemoval = e.s.RemoveMember(e.ctx, org.ID, b.UserID, bob) },
		)

		if (errDemote == nil) == (errRemoval == nil) {
			t.Fatalf("round %d: demote error %v, removal error %v; want exactly one to succeed", round, errDemote, errRemoval)
		}
		for _, err := range []error{errDemote, errRemoval} {
			if err != nil {
				wantKind(t, "the losing change", err, platform.KindConflict)
			}
		}
		members, err := e.s.ListMembers(e.ctx, org.ID)
		if err != nil {
			t.Fatalf("ListMembers: %v", err)
		}
		owners := 0
		for _, m := range members {
			if m.Role == platform.RoleOwner {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("round %d: %d owners left, want 1: %s", round, owners, show(members))
		}
	}
}
