package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// clock is a settable time source shared by the store, the service and the
// authenticator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	st    *sqlstore.Store
	svc   *governance.Service
	auth  *auth.KeyAuthenticator
	clock *clock
	owner platform.Principal
	group *platform.Group
}

func newFixture(t *testing.T, ttl time.Duration) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	st.Now = c.Now
	a, err := auth.NewKeyAuthenticator(st, auth.KeyOptions{CacheTTL: ttl, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	svc := governance.New(st, governance.Config{RotationGrace: time.Hour}, a, c.Now)
	b, err := svc.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	owner := platform.Principal{OrgID: b.Org.ID, Role: platform.RoleOwner, Actor: platform.Actor{Type: platform.ActorUser, ID: b.User.ID}}
	g, err := svc.CreateGroup(ctx, owner, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, svc: svc, auth: a, clock: c, owner: owner, group: g}
}

func (f *fixture) key(t *testing.T, exp *time.Time) (*platform.APIKey, string) {
	t.Helper()
	k, secret, err := f.svc.CreateKey(context.Background(), f.owner, f.group.ID, "k", exp)
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

func (f *fixture) check(t *testing.T, secret string, want error) {
	t.Helper()
	k, err := f.auth.Authenticate(context.Background(), "Bearer "+secret)
	if !errors.Is(err, want) {
		t.Fatalf("Authenticate = %v, want %v", err, want)
	}
	if want == nil && k == nil {
		t.Fatal("Authenticate returned no key")
	}
}

func TestRejectedWithoutStoreLookup(t *testing.T) {
	f := newFixture(t, time.Minute)
	_, good := f.key(t, nil)
	// One substituted character: CRC32 catches every such typo.
	bad := []byte(good)
	if bad[10] == 'a' {
		bad[10] = 'b'
	} else {
		bad[10] = 'a'
	}
	tests := []struct {
		name, header string
		want         error
	}{
		{"wrong checksum", "Bearer " + string(bad), auth.ErrChecksum},
		{"wrong prefix", "Bearer sk-" + good[5:], auth.ErrMalformed},
		{"truncated", "Bearer " + good[:40], auth.ErrMalformed},
		{"missing", "", auth.ErrMissing},
		{"basic", "Basic abc", auth.ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.auth.StoreLookups()
			if _, err := f.auth.Authenticate(context.Background(), tt.header); !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate = %v, want %v", err, tt.want)
			}
			if got := f.auth.StoreLookups() - before; got != 0 {
				t.Fatalf("store lookups = %d, want 0", got)
			}
		})
	}

	t.Run("well-formed unknown key reads the store once", func(t *testing.T) {
		unknown, err := keys.Generate(keys.DefaultKeyPrefix)
		if err != nil {
			t.Fatal(err)
		}
		before := f.auth.StoreLookups()
		for range 3 {
			f.check(t, unknown, auth.ErrUnknown)
		}
		if got := f.auth.StoreLookups() - before; got != 1 {
			t.Fatalf("store lookups = %d, want 1 (then cached)", got)
		}
	})
}

func TestRevokedKeyStopsOnNextRequest(t *testing.T) {
	f := newFixture(t, time.Hour) // a long TTL: only eviction can explain the 401
	k, secret := f.key(t, nil)
	f.check(t, secret, nil)
	if _, err := f.svc.RevokeKey(context.Background(), f.owner, k.ID); err != nil {
		t.Fatal(err)
	}
	f.check(t, secret, auth.ErrRevoked)
}

func TestRotationGracePeriod(t *testing.T) {
	f := newFixture(t, time.Hour)
	old, oldSecret := f.key(t, nil)
	f.check(t, oldSecret, nil)

	rot, err := f.svc.RotateKey(context.Background(), f.owner, old.ID, nil) // default grace: 1h
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, rot.Secret, nil)
	f.check(t, oldSecret, nil)
	f.clock.Advance(59 * time.Minute)
	f.check(t, oldSecret, nil)
	f.clock.Advance(time.Minute)
	f.check(t, oldSecret, auth.ErrExpired)
	f.check(t, rot.Secret, nil)

	zero := time.Duration(0)
	rot2, err := f.svc.RotateKey(context.Background(), f.owner, rot.New.ID, &zero)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, rot.Secret, auth.ErrRevoked)
	f.check(t, rot2.Secret, nil)
}

func TestGroupDisableAndDelete(t *testing.T) {
	f := newFixture(t, time.Hour)
	ctx := context.Background()
	_, s1 := f.key(t, nil)
	_, s2 := f.key(t, nil)
	f.check(t, s1, nil)
	f.check(t, s2, nil)

	disabled, active := platform.GroupDisabled, platform.GroupActive
	if _, err := f.svc.UpdateGroup(ctx, f.owner, f.group.ID, platform.GroupUpdate{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	f.check(t, s1, auth.ErrGroupDisabled)
	f.check(t, s2, auth.ErrGroupDisabled)

	if _, err := f.svc.UpdateGroup(ctx, f.owner, f.group.ID, platform.GroupUpdate{Status: &active}); err != nil {
		t.Fatal(err)
	}
	f.check(t, s1, nil)

	if err := f.svc.DeleteGroup(ctx, f.owner, f.group.ID); err != nil {
		t.Fatal(err)
	}
	f.check(t, s1, auth.ErrRevoked)
	f.check(t, s2, auth.ErrRevoked)
}

func TestExpiry(t *testing.T) {
	f := newFixture(t, time.Hour)
	exp := f.clock.Now().Add(10 * time.Minute)
	_, secret := f.key(t, &exp)
	f.check(t, secret, nil)
	f.clock.Advance(10 * time.Minute)
	f.check(t, secret, auth.ErrExpired)
}

func TestOtherReplicaRevocationBoundedByTTL(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	k, secret := f.key(t, nil)
	f.check(t, secret, nil)
	// Revoke behind the authenticator's back, as another replica would.
	if _, err := f.st.RevokeKey(context.Background(), f.owner.OrgID, k.ID, f.owner.Actor); err != nil {
		t.Fatal(err)
	}
	f.check(t, secret, nil) // still cached
	f.clock.Advance(11 * time.Second)
	f.check(t, secret, auth.ErrRevoked)
}

func TestConcurrentAuthenticationAndLastUsed(t *testing.T) {
	f := newFixture(t, time.Minute)
	const nKeys, nRequests = 10, 10_000
	ids := make([]string, nKeys)
	secrets := make([]string, nKeys)
	for i := range nKeys {
		k, s := f.key(t, nil)
		ids[i], secrets[i] = k.ID, s
	}
	used := f.clock.Now()
	var wg sync.WaitGroup
	errs := make(chan error, nRequests)
	for i := range nRequests {
		wg.Go(func() {
			if _, err := f.auth.Authenticate(context.Background(), "Bearer "+secrets[i%nKeys]); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Authenticate: %v", err)
	}
	if got := f.auth.StoreLookups(); got > int64(nKeys)*4 {
		t.Errorf("store lookups = %d for %d keys; the cache and single-flight should keep it near %d", got, nKeys, nKeys)
	}
	if err := f.auth.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		k, err := f.st.GetKey(context.Background(), f.owner.OrgID, id)
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(used) {
			t.Errorf("key %s last_used_at = %v, want %v", id, k.LastUsedAt, used)
		}
	}
}
