package auth

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// BenchmarkAuth measures the authentication paths side by side in one
// run, so their ratios hold on a noisy machine: the cached hit, a rejected
// checksum (no store), a miss that reads a real SQLite store, and SHA-256
// alone as the floor.
func BenchmarkAuth(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, nil); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	sys := platform.SystemActor("bench")
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateOrg(ctx, &platform.Org{ID: "org_b", Name: "b", CreatedAt: now}, sys))
	must(st.CreateGroup(ctx, &platform.Group{ID: "grp_b", OrgID: "org_b", Name: "g", Status: platform.GroupActive,
		CreatedAt: now, UpdatedAt: now}, sys))
	secret, err := keys.Generate(keys.DefaultKeyPrefix)
	must(err)
	h := keys.Hash(secret)
	must(st.CreateKey(ctx, &platform.APIKey{ID: "key_b", OrgID: "org_b", GroupID: "grp_b", Name: "k", Hash: h[:],
		Hint: keys.Hint(secret, keys.DefaultKeyPrefix), CreatedBy: "bench", CreatedAt: now}, sys))

	cached, err := NewKeyAuthenticator(st, KeyOptions{CacheTTL: time.Hour})
	must(err)
	uncached, err := NewKeyAuthenticator(st, KeyOptions{CacheTTL: time.Nanosecond})
	must(err)
	good := "Bearer " + secret
	badKey := []byte(secret)
	if badKey[8] == 'a' {
		badKey[8] = 'b'
	} else {
		badKey[8] = 'a'
	}
	bad := "Bearer " + string(badKey)

	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Authenticate(ctx, good); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bad-checksum", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Authenticate(ctx, bad); err == nil {
				b.Fatal("accepted a bad checksum")
			}
		}
	})
	b.Run("sqlite-lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Authenticate(ctx, good); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sha256-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = keys.Hash(secret)
		}
	})
}
