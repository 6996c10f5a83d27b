package storetest

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

func testKeyRotate(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	old := e.key(acme.ID, g.ID, "prod")

	now := e.clock.Advance(time.Hour)
	graceEnd := now.Add(24 * time.Hour)
	next := e.newKey(acme.ID, g.ID, "prod (rotated)")
	got, err := e.s.RotateKey(e.ctx, acme.ID, old.ID, next, graceEnd, bob)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}

	wantOld := *old
	wantOld.RotatedTo, wantOld.ExpiresAt = next.ID, &graceEnd
	checkEqual(t, "RotateKey result (the old key)", got, &wantOld)
	checkEqual(t, "GetKey of the old key", e.getKey(acme.ID, old.ID), &wantOld)
	wantNext := *next
	wantNext.RotatedFrom = old.ID
	checkEqual(t, "GetKey of the successor", e.getKey(acme.ID, next.ID), &wantNext)

	tests := []struct {
		name string
		at   time.Time
		key  *platform.APIKey
		want platform.KeyStatus
	}{
		{"old key during the grace period", now, &wantOld, platform.KeyRotating},
		{"old key when the grace period ends", graceEnd, &wantOld, platform.KeyExpired},
		{"successor", graceEnd, &wantNext, platform.KeyActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := e.s.KeyByHash(e.ctx, tt.key.Hash)
			if err != nil {
				t.Fatalf("KeyByHash: %v", err)
			}
			checkEqual(t, "KeyByHash", auth, &store.KeyAuth{Key: *tt.key, GroupStatus: platform.GroupActive})
			if got := auth.Key.Status(tt.at); got != tt.want {
				t.Errorf("Status = %s, want %s", got, tt.want)
			}
		})
	}

	evs := e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditKeyRotated})
	if len(evs) != 1 {
		t.Fatalf("got %d key.rotated events, want 1: %s", len(evs), show(evs))
	}
	checkEvent(t, evs[0], wantEvent{
		OrgID: acme.ID, Actor: bob, Action: platform.AuditKeyRotated, TargetType: "key", TargetID: old.ID,
		At: now, Details: map[string]string{"successor": next.ID},
	})
}

func testKeyRotateEndsOldKeyNow(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	tests := []struct {
		name string
		end  time.Duration // oldExpiresAt relative to now
	}{
		{"ends now", 0},
		{"ended in the past", -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := e.key(acme.ID, g.ID, "old "+tt.name)
			now := e.clock.Advance(time.Minute)
			end := now.Add(tt.end)
			next := e.newKey(acme.ID, g.ID, "next "+tt.name)
			got, err := e.s.RotateKey(e.ctx, acme.ID, old.ID, next, end, alice)
			if err != nil {
				t.Fatalf("RotateKey: %v", err)
			}
			want := *old
			want.RotatedTo, want.ExpiresAt, want.RevokedAt = next.ID, &end, &now
			checkEqual(t, "RotateKey result", got, &want)
			checkEqual(t, "GetKey of the old key", e.getKey(acme.ID, old.ID), &want)
			if st := got.Status(now); st != platform.KeyRevoked {
				t.Errorf("old key status = %s, want revoked", st)
			}
			if st := e.getKey(acme.ID, next.ID).Status(now); st != platform.KeyActive {
				t.Errorf("successor status = %s, want active", st)
			}
		})
	}
}

// testKeyRotateNeverExtends: a rotation may shorten a key's life, never
// lengthen it past the expiry it already had.
func testKeyRotateNeverExtends(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	old := e.newKey(acme.ID, g.ID, "short-lived")
	expires := start.Add(time.Hour)
	old.ExpiresAt = &expires
	if err := e.s.CreateKey(e.ctx, old, alice); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}

	got, err := e.s.RotateKey(e.ctx, acme.ID, old.ID, e.newKey(acme.ID, g.ID, "next"), start.Add(7*24*time.Hour), alice)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) {
		t.Errorf("old key ExpiresAt = %v, want its own earlier %v", got.ExpiresAt, expires)
	}
	if stored := e.getKey(acme.ID, old.ID); stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(expires) {
		t.Errorf("stored old key ExpiresAt = %v, want %v", stored.ExpiresAt, expires)
	}
}

func testKeyRotateRefused(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	later := start.Add(24 * time.Hour)

	rotated := e.key(acme.ID, g.ID, "rotated")
	if _, err := e.s.RotateKey(e.ctx, acme.ID, rotated.ID, e.newKey(acme.ID, g.ID, "successor"), later, alice); err != nil {
		t.Fatalf("first RotateKey: %v", err)
	}
	revoked := e.key(acme.ID, g.ID, "revoked")
	if _, err := e.s.RevokeKey(e.ctx, acme.ID, revoked.ID, alice); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	expired := e.newKey(acme.ID, g.ID, "expired")
	expired.ExpiresAt = ptr(start.Add(time.Minute))
	if err := e.s.CreateKey(e.ctx, expired, alice); err != nil {
		t.Fatalf("CreateKey(expired): %v", err)
	}
	e.clock.Advance(time.Hour)

	tests := []struct {
		name string
		key  *platform.APIKey
	}{
		{"already rotated", rotated},
		{"revoked", revoked},
		{"expired", expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.getKey(acme.ID, tt.key.ID)
			next := e.newKey(acme.ID, g.ID, "refused successor")
			_, err := e.s.RotateKey(e.ctx, acme.ID, tt.key.ID, next, later, bob)
			wantKind(t, "RotateKey of a key that is "+tt.name, err, platform.KindConflict)

			checkEqual(t, "the key after a refused rotation", e.getKey(acme.ID, tt.key.ID), before)
			_, err = e.s.KeyByHash(e.ctx, next.Hash)
			wantNotFound(t, "KeyByHash of the refused successor", err)
			if n := len(e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditKeyRotated, ActorID: bob.ID})); n != 0 {
				t.Errorf("refused rotations wrote %d key.rotated events, want 0", n)
			}
		})
	}
}

func testKeyRotateSuccessor(t *testing.T, e *env) {
	acme := e.org("Acme")
	g := e.group(acme.ID, "Production")
	k1 := e.key(acme.ID, g.ID, "k1")
	k2 := e.newKey(acme.ID, g.ID, "k2")
	k3 := e.newKey(acme.ID, g.ID, "k3")
	later := start.Add(24 * time.Hour)

	if _, err := e.s.RotateKey(e.ctx, acme.ID, k1.ID, k2, later, alice); err != nil {
		t.Fatalf("RotateKey(k1 → k2): %v", err)
	}
	if _, err := e.s.RotateKey(e.ctx, acme.ID, k2.ID, k3, later, alice); err != nil {
		t.Fatalf("RotateKey(k2 → k3): %v", err)
	}
	tests := []struct {
		key        *platform.APIKey
		from, to   string
		wantStatus platform.KeyStatus
	}{
		{k1, "", k2.ID, platform.KeyRotating},
		{k2, k1.ID, k3.ID, platform.KeyRotating},
		{k3, k2.ID, "", platform.KeyActive},
	}
	for _, tt := range tests {
		got := e.getKey(acme.ID, tt.key.ID)
		if got.RotatedFrom != tt.from || got.RotatedTo != tt.to || got.Status(e.clock.Now()) != tt.wantStatus {
			t.Errorf("%s: RotatedFrom %q, RotatedTo %q, status %s; want %q, %q, %s", tt.key.Name,
				got.RotatedFrom, got.RotatedTo, got.Status(e.clock.Now()), tt.from, tt.to, tt.wantStatus)
		}
	}
}
