package auth

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// memKeys is a one-key KeyStore for the benchmark; the cached path under
// measurement never reaches it after the first call.
type memKeys struct{ ka store.KeyAuth }

func (m *memKeys) KeyByHash(_ context.Context, h []byte) (*store.KeyAuth, error) {
	if string(h) != string(m.ka.Key.Hash) {
		return nil, platform.ErrNotFound
	}
	ka := m.ka
	return &ka, nil
}

func (m *memKeys) TouchKeys(context.Context, map[string]time.Time) error { return nil }

func BenchmarkAuthCached(b *testing.B) {
	secret, err := keys.Generate(keys.DefaultKeyPrefix)
	if err != nil {
		b.Fatal(err)
	}
	h := keys.Hash(secret)
	ms := &memKeys{ka: store.KeyAuth{Key: platform.APIKey{ID: "key_1", OrgID: "org_1", GroupID: "grp_1", Hash: h[:]},
		GroupStatus: platform.GroupActive}}
	a, err := NewKeyAuthenticator(ms, KeyOptions{CacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	header := "Bearer " + secret
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, header); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, header); err != nil {
			b.Fatal(err)
		}
	}
}
