package storetest

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

var keyTests = []test{
	{"CreateGet", testKeyCreateGet},
	{"CreateRefused", testKeyCreateRefused},
	{"OtherOrg", testKeyOtherOrg},
	{"List", testKeyList},
	{"Rename", testKeyRename},
	{"Revoke", testKeyRevoke},
	{"Rotate", testKeyRotate},
	{"RotateEndsOldKeyNow", testKeyRotateEndsOldKeyNow},
	{"RotateNeverExtends", testKeyRotateNeverExtends},
	{"RotateRefused", testKeyRotateRefused},
	{"RotateSuccessor", testKeyRotateSuccessor},
	{"ByHash", testKeyByHash},
	{"Touch", testKeyTouch},
}

func testKeyCreateGet(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	plain := e.key(acme.ID, g.ID, "plain")

	expiring := e.newKey(acme.ID, g.ID, "expiring")
	expiring.ExpiresAt = ptr(start.Add(30 * 24 * time.Hour))
	expiring.CreatedBy = bob.ID
	if err := e.s.CreateKey(e.ctx, expiring, bob); err != nil {
		t.Fatalf("CreateKey(expiring): %v", err)
	}

	for _, want := range []*platform.APIKey{plain, expiring} {
		checkEqual(t, "GetKey", e.getKey(acme.ID, want.ID), want)
	}
}

func testKeyCreateRefused(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	g := e.group(acme.ID, "Production")
	gone := e.group(acme.ID, "Gone")
	if err := e.s.DeleteGroup(e.ctx, acme.ID, gone.ID, alice); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	existing := e.key(acme.ID, g.ID, "existing")

	sameHash := e.newKey(acme.ID, g.ID, "same hash")
	sameHash.Hash = existing.Hash
	tests := []struct {
		name string
		key  *platform.APIKey
		want platform.Kind
	}{
		{"in another org's group", e.newKey(globex.ID, g.ID, "sneaky"), platform.KindNotFound},
		{"in a missing group", e.newKey(acme.ID, "grp_missing", "lost"), platform.KindNotFound},
		{"in a deleted group", e.newKey(acme.ID, gone.ID, "late"), platform.KindNotFound},
		{"with another key's hash", sameHash, platform.KindConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.s.CreateKey(e.ctx, tt.key, alice)
			if tt.want == platform.KindNotFound {
				wantNotFound(t, "CreateKey", err)
			} else {
				wantDuplicate(t, "CreateKey", err)
			}
			_, err = e.s.GetKey(e.ctx, tt.key.OrgID, tt.key.ID)
			wantNotFound(t, "GetKey of the refused key", err)
			if n := e.countEvents(tt.key.OrgID, platform.AuditKeyCreated, tt.key.ID); n != 0 {
				t.Errorf("the refused key has %d key.created events, want 0", n)
			}
		})
	}
}

func testKeyOtherOrg(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	g := e.group(acme.ID, "Production")
	k := e.key(acme.ID, g.ID, "prod")

	tests := []struct {
		name string
		call func() error
	}{
		{"GetKey", func() error { _, err := e.s.GetKey(e.ctx, globex.ID, k.ID); return err }},
		{"RenameKey", func() error { _, err := e.s.RenameKey(e.ctx, globex.ID, k.ID, "mine", alice); return err }},
		{"RevokeKey", func() error { _, err := e.s.RevokeKey(e.ctx, globex.ID, k.ID, alice); return err }},
		{"RotateKey", func() error {
			_, err := e.s.RotateKey(e.ctx, globex.ID, k.ID, e.newKey(globex.ID, g.ID, "next"), e.clock.Now(), alice)
			return err
		}},
		{"GetKey of a missing key", func() error { _, err := e.s.GetKey(e.ctx, acme.ID, "key_missing"); return err }},
		{"RenameKey of a missing key", func() error {
			_, err := e.s.RenameKey(e.ctx, acme.ID, "key_missing", "x", alice)
			return err
		}},
		{"RevokeKey of a missing key", func() error { _, err := e.s.RevokeKey(e.ctx, acme.ID, "key_missing", alice); return err }},
		{"RotateKey of a missing key", func() error {
			_, err := e.s.RotateKey(e.ctx, acme.ID, "key_missing", e.newKey(acme.ID, g.ID, "next"), e.clock.Now(), alice)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name, tt.call())
		})
	}

	checkEqual(t, "the key after another org's attempts", e.getKey(acme.ID, k.ID), k)
	list, err := e.s.ListKeys(e.ctx, globex.ID, store.KeyFilter{})
	if err != nil {
		t.Fatalf("ListKeys(globex): %v", err)
	}
	if len(list) != 0 {
		t.Fatalf("ListKeys of another org = %s, want none", show(list))
	}
}

func testKeyList(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	g1 := e.group(acme.ID, "one")
	g2 := e.group(acme.ID, "two")
	gx := e.group(globex.ID, "theirs")
	k1 := e.key(acme.ID, g1.ID, "k1")
	e.clock.Advance(time.Second)
	k2 := e.key(acme.ID, g2.ID, "k2")
	e.clock.Advance(time.Second)
	k3 := e.key(acme.ID, g1.ID, "k3")
	kx := e.key(globex.ID, gx.ID, "kx")

	tests := []struct {
		name  string
		orgID string
		f     store.KeyFilter
		want  []*platform.APIKey
	}{
		{"every group", acme.ID, store.KeyFilter{}, []*platform.APIKey{k3, k2, k1}},
		{"one group", acme.ID, store.KeyFilter{GroupID: g1.ID}, []*platform.APIKey{k3, k1}},
		{"other group", acme.ID, store.KeyFilter{GroupID: g2.ID}, []*platform.APIKey{k2}},
		{"another org's group", acme.ID, store.KeyFilter{GroupID: gx.ID}, nil},
		{"another org", globex.ID, store.KeyFilter{}, []*platform.APIKey{kx}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.s.ListKeys(e.ctx, tt.orgID, tt.f)
			if err != nil {
				t.Fatalf("ListKeys: %v", err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			checkEqual(t, "ListKeys (newest first)", got, tt.want)
		})
	}
}

func testKeyRename(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	k := e.key(acme.ID, g.ID, "old name")

	want := *k
	want.Name = "new name"
	for range 2 { // the second rename changes nothing
		got, err := e.s.RenameKey(e.ctx, acme.ID, k.ID, "new name", alice)
		if err != nil {
			t.Fatalf("RenameKey: %v", err)
		}
		checkEqual(t, "RenameKey result", got, &want)
		checkEqual(t, "GetKey after RenameKey", e.getKey(acme.ID, k.ID), &want)
	}
	if n := e.countEvents(acme.ID, platform.AuditKeyRenamed, k.ID); n != 1 {
		t.Errorf("got %d key.renamed events, want 1", n)
	}
}

func testKeyRevoke(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	k := e.key(acme.ID, g.ID, "prod")
	keep := e.key(acme.ID, g.ID, "keep")

	revokedAt := e.clock.Advance(time.Minute)
	want := *k
	want.RevokedAt = &revokedAt
	for i := range 2 {
		got, err := e.s.RevokeKey(e.ctx, acme.ID, k.ID, bob)
		if err != nil {
			t.Fatalf("RevokeKey #%d: %v", i+1, err)
		}
		checkEqual(t, "RevokeKey result", got, &want)
		checkEqual(t, "GetKey after RevokeKey", e.getKey(acme.ID, k.ID), &want)
		if st := got.Status(e.clock.Now()); st != platform.KeyRevoked {
			t.Errorf("status after RevokeKey = %s, want revoked", st)
		}
		e.clock.Advance(time.Hour) // a second revocation must not move RevokedAt
	}
	if n := e.countEvents(acme.ID, platform.AuditKeyRevoked, k.ID); n != 1 {
		t.Errorf("two revocations wrote %d key.revoked events, want 1", n)
	}
	checkEqual(t, "another key of the group", e.getKey(acme.ID, keep.ID), keep)

	auth, err := e.s.KeyByHash(e.ctx, k.Hash)
	if err != nil {
		t.Fatalf("KeyByHash of a revoked key: %v", err)
	}
	checkEqual(t, "KeyByHash of a revoked key", auth, &store.KeyAuth{Key: want, GroupStatus: platform.GroupActive})
}

func testKeyByHash(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	g := e.group(acme.ID, "Production")
	k := e.key(acme.ID, g.ID, "prod")
	gx := e.group(globex.ID, "Theirs")
	kx := e.key(globex.ID, gx.ID, "theirs")

	steps := []struct {
		name   string
		status platform.GroupStatus // the group is set to this first
		key    *platform.APIKey
	}{
		{"active group", platform.GroupActive, k},
		{"disabled group", platform.GroupDisabled, k},
		{"enabled again", platform.GroupActive, k},
		{"key of another org", platform.GroupActive, kx},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.s.UpdateGroup(e.ctx, acme.ID, g.ID, platform.GroupUpdate{Status: &tt.status}, alice); err != nil {
				t.Fatalf("UpdateGroup(status %s): %v", tt.status, err)
			}
			got, err := e.s.KeyByHash(e.ctx, tt.key.Hash)
			if err != nil {
				t.Fatalf("KeyByHash: %v", err)
			}
			checkEqual(t, "KeyByHash", got, &store.KeyAuth{Key: *tt.key, GroupStatus: tt.status})
		})
	}

	_, err := e.s.KeyByHash(e.ctx, randomHash())
	wantNotFound(t, "KeyByHash of an unknown hash", err)
	_, err = e.s.KeyByHash(e.ctx, nil)
	wantNotFound(t, "KeyByHash of no hash", err)
}

func testKeyTouch(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	k1 := e.key(acme.ID, g.ID, "k1")
	k2 := e.key(acme.ID, g.ID, "k2")
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }

	steps := []struct {
		name         string
		used         map[string]time.Time
		want1, want2 time.Time // zero: never used
	}{
		{"nothing", nil, time.Time{}, time.Time{}},
		{"first use", map[string]time.Time{k1.ID: at(5)}, at(5), time.Time{}},
		{"a batch", map[string]time.Time{k1.ID: at(10), k2.ID: at(7)}, at(10), at(7)},
		{"an earlier time is ignored", map[string]time.Time{k1.ID: at(6), k2.ID: at(8)}, at(10), at(8)},
		{"the same time", map[string]time.Time{k1.ID: at(10)}, at(10), at(8)},
		{"an unknown key is skipped", map[string]time.Time{"key_missing": at(20), k2.ID: at(20)}, at(10), at(20)},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.s.TouchKeys(e.ctx, tt.used); err != nil {
				t.Fatalf("TouchKeys: %v", err)
			}
			for _, c := range []struct {
				key  *platform.APIKey
				want time.Time
			}{{k1, tt.want1}, {k2, tt.want2}} {
				got := e.getKey(acme.ID, c.key.ID).LastUsedAt
				switch {
				case c.want.IsZero() && got != nil:
					t.Errorf("%s LastUsedAt = %v, want never used", c.key.Name, *got)
				case !c.want.IsZero() && (got == nil || !got.Equal(c.want)):
					t.Errorf("%s LastUsedAt = %v, want %v", c.key.Name, got, c.want)
				}
			}
		})
	}
}
