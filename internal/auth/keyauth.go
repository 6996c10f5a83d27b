package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// KeyStore is what key authentication reads and writes.
type KeyStore interface {
	KeyByHash(ctx context.Context, hash []byte) (*store.KeyAuth, error)
	TouchKeys(ctx context.Context, used map[string]time.Time) error
}

// Key is an authenticated inference API key: who is calling, for metering
// and limits. Callers must treat it as read-only (it is shared by the cache).
type Key struct {
	ID      string
	Name    string
	OrgID   string
	GroupID string
}

// KeyOptions tune a KeyAuthenticator.
type KeyOptions struct {
	Prefix    string        // key prefix, default "pplx-"
	CacheSize int           // entries, default 10,000
	CacheTTL  time.Duration // how long a store read is trusted, default 10s
	Now       func() time.Time
}

// entry is one cached store read, positive or negative.
type entry struct {
	key       Key
	found     bool
	revoked   bool
	groupOK   bool
	expiresAt int64 // Unix ns; 0 when the key never expires
	fetchedAt int64 // Unix ns
}

func (e *entry) check(now int64) error {
	switch {
	case !e.found:
		return ErrUnknown
	case e.revoked:
		return ErrRevoked
	case e.expiresAt != 0 && now >= e.expiresAt:
		return ErrExpired
	case !e.groupOK:
		return ErrGroupDisabled
	}
	return nil
}

// KeyAuthenticator authenticates inference API keys.
type KeyAuthenticator struct {
	store  KeyStore
	prefix string
	ttl    int64
	now    func() time.Time
	cache  *lru.Cache[[32]byte, *entry]
	// gen changes on every eviction, so a store read that raced with a
	// revocation is not cached over it.
	gen     atomic.Uint64
	loads   singleflight.Group
	used    lastUsed
	lookups atomic.Int64
}

// NewKeyAuthenticator returns an authenticator over s.
func NewKeyAuthenticator(s KeyStore, o KeyOptions) (*KeyAuthenticator, error) {
	if o.Prefix == "" {
		o.Prefix = keys.DefaultKeyPrefix
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 10_000
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c, err := lru.New[[32]byte, *entry](o.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("auth cache: %w", err)
	}
	return &KeyAuthenticator{store: s, prefix: o.Prefix, ttl: int64(o.CacheTTL), now: o.Now, cache: c}, nil
}

// Authenticate checks the Authorization header value h. A well-formed key
// with a wrong checksum is refused without touching the store; a cached key
// costs one SHA-256 and a map lookup.
func (a *KeyAuthenticator) Authenticate(ctx context.Context, h string) (*Key, error) {
	tok, err := ParseBearer(h)
	if err != nil {
		return nil, err
	}
	if err := keys.Parse(tok, a.prefix); err != nil {
		if err == keys.ErrChecksum {
			return nil, ErrChecksum
		}
		return nil, ErrMalformed
	}
	hash := keys.Hash(tok)
	now := a.now()
	ns := now.UnixNano()
	e, ok := a.cache.Get(hash)
	if !ok || ns-e.fetchedAt > a.ttl {
		if e, err = a.load(ctx, hash, ns); err != nil {
			return nil, err
		}
	}
	if err := e.check(ns); err != nil {
		return nil, err
	}
	a.used.record(e.key.ID, now)
	return &e.key, nil
}

func (a *KeyAuthenticator) load(ctx context.Context, hash [32]byte, now int64) (*entry, error) {
	v, err, _ := a.loads.Do(string(hash[:]), func() (any, error) {
		gen := a.gen.Load()
		a.lookups.Add(1)
		ka, err := a.store.KeyByHash(ctx, hash[:])
		e := &entry{fetchedAt: now}
		switch {
		case errors.Is(err, platform.ErrNotFound):
			// Negative entries are safe to cache: a new key's hash cannot
			// have been presented before it existed.
		case err != nil:
			return nil, fmt.Errorf("authenticate key: %w", err)
		case subtle.ConstantTimeCompare(ka.Key.Hash, hash[:]) != 1:
			return nil, fmt.Errorf("authenticate key: store returned a different hash")
		default:
			e.found = true
			e.key = Key{ID: ka.Key.ID, Name: ka.Key.Name, OrgID: ka.Key.OrgID, GroupID: ka.Key.GroupID}
			e.revoked = ka.Key.RevokedAt != nil
			e.groupOK = ka.GroupStatus == platform.GroupActive
			if ka.Key.ExpiresAt != nil {
				e.expiresAt = ka.Key.ExpiresAt.UnixNano()
			}
		}
		if a.gen.Load() == gen {
			a.cache.Add(hash, e)
		}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// StoreLookups reports how many times the store was asked for a key; tests
// use it to prove which paths never reach the store.
func (a *KeyAuthenticator) StoreLookups() int64 { return a.lookups.Load() }

// EvictHash forgets the key with this SHA-256, so its next request reads
// the store.
func (a *KeyAuthenticator) EvictHash(hash []byte) {
	var h [32]byte
	copy(h[:], hash)
	a.gen.Add(1)
	a.cache.Remove(h)
}

// EvictGroup forgets every key of a group (disabled, enabled or deleted).
func (a *KeyAuthenticator) EvictGroup(groupID string) {
	a.gen.Add(1)
	for _, h := range a.cache.Keys() {
		if e, ok := a.cache.Peek(h); ok && e.key.GroupID == groupID {
			a.cache.Remove(h)
		}
	}
}

// Flush writes pending last-used times to the store.
func (a *KeyAuthenticator) Flush(ctx context.Context) error {
	return a.used.flush(ctx, a.store.TouchKeys)
}
