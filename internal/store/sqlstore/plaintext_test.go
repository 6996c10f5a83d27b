package sqlstore_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// secret is a generated key or token and the forms of it that must never be
// stored.
type secret struct {
	value  string
	prefix string
	hash   []byte
}

// body is the 43 random characters, without prefix and checksum.
func (s secret) body() string { return s.value[len(s.prefix) : len(s.prefix)+keys.BodyLen] }

// forbidden lists what must not appear in the store. Hex forms are lower
// case, as PostgreSQL prints bytea; callers compare them case-insensitively.
func (s secret) forbidden() (plain, hexed []string) {
	return []string{s.value, s.body()},
		[]string{hex.EncodeToString([]byte(s.value)), hex.EncodeToString([]byte(s.body()))}
}

// seedSecrets stores keys and admin tokens the way the services do (SHA-256
// and hint only), exercises every path that writes key data (rotation,
// rename, revocation, use, group deletion) and returns the secrets.
func seedSecrets(t *testing.T, s *sqlstore.Store) []secret {
	t.Helper()
	ctx := t.Context()
	by := platform.Actor{Type: platform.ActorUser, ID: "usr_test", SourceIP: "192.0.2.1"}
	now := time.Now().UTC()
	newSecret := func(prefix string) secret {
		t.Helper()
		v, err := keys.Generate(prefix)
		if err != nil {
			t.Fatalf("keys.Generate: %v", err)
		}
		h := keys.Hash(v)
		return secret{value: v, prefix: prefix, hash: h[:]}
	}
	newKey := func(sec secret, orgID, groupID, name string) *platform.APIKey {
		return &platform.APIKey{
			ID: platform.NewID(platform.PrefixKey), OrgID: orgID, GroupID: groupID, Name: name,
			Hash: sec.hash, Hint: keys.Hint(sec.value, sec.prefix), CreatedBy: by.ID, CreatedAt: now,
		}
	}

	org := &platform.Org{ID: platform.NewID(platform.PrefixOrg), Name: "Acme", CreatedAt: now}
	if err := s.CreateOrg(ctx, org, by); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	var groups []*platform.Group
	for _, name := range []string{"Production", "Doomed"} {
		g := &platform.Group{ID: platform.NewID(platform.PrefixGroup), OrgID: org.ID, Name: name,
			Status: platform.GroupActive, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateGroup(ctx, g, by); err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		groups = append(groups, g)
	}

	var (
		secrets []secret
		created []*platform.APIKey
	)
	for i := range 6 {
		sec := newSecret(keys.DefaultKeyPrefix)
		k := newKey(sec, org.ID, groups[i%2].ID, fmt.Sprintf("key %d", i))
		if err := s.CreateKey(ctx, k, by); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		secrets, created = append(secrets, sec), append(created, k)
	}
	next := newSecret(keys.DefaultKeyPrefix)
	if _, err := s.RotateKey(ctx, org.ID, created[0].ID, newKey(next, org.ID, groups[0].ID, "rotated"), now.Add(time.Hour), by); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	secrets = append(secrets, next)
	if _, err := s.RenameKey(ctx, org.ID, created[2].ID, "renamed", by); err != nil {
		t.Fatalf("RenameKey: %v", err)
	}
	if _, err := s.RevokeKey(ctx, org.ID, created[4].ID, by); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	if err := s.TouchKeys(ctx, map[string]time.Time{created[2].ID: now, created[3].ID: now}); err != nil {
		t.Fatalf("TouchKeys: %v", err)
	}
	if err := s.DeleteGroup(ctx, org.ID, groups[1].ID, by); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}

	for i, role := range []platform.Role{platform.RoleOwner, platform.RoleAdmin, platform.RoleViewer} {
		sec := newSecret(keys.DefaultAdminPrefix)
		tok := &platform.AdminToken{
			ID: platform.NewID(platform.PrefixAdminToken), OrgID: org.ID, Name: fmt.Sprintf("token %d", i), Role: role,
			Hash: sec.hash, Hint: keys.Hint(sec.value, sec.prefix), CreatedBy: by.ID, CreatedAt: now,
		}
		if err := s.CreateAdminToken(ctx, tok, by); err != nil {
			t.Fatalf("CreateAdminToken: %v", err)
		}
		if i == 0 {
			if _, err := s.RevokeAdminToken(ctx, org.ID, tok.ID, by); err != nil {
				t.Fatalf("RevokeAdminToken: %v", err)
			}
		} else if err := s.TouchAdminTokens(ctx, map[string]time.Time{tok.ID: now}); err != nil {
			t.Fatalf("TouchAdminTokens: %v", err)
		}
		secrets = append(secrets, sec)
	}

	// The store must still find every secret by its hash.
	for _, sec := range secrets {
		var err error
		if sec.prefix == keys.DefaultKeyPrefix {
			_, err = s.KeyByHash(ctx, sec.hash)
		} else {
			_, err = s.AdminTokenByHash(ctx, sec.hash)
		}
		if err != nil {
			t.Fatalf("lookup of %s…: %v", sec.value[:len(sec.prefix)+4], err)
		}
	}
	return secrets
}

// TestNoPlaintextSQLite reads the database files byte by byte after the store
// closes: no secret may be there in any form, while every hash must be (or
// the scan would prove nothing).
func TestNoPlaintextSQLite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tollgate.db")
	s := openStore(t, path)
	secrets := seedSecrets(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	files, err := filepath.Glob(path + "*") // the database and any -wal, -shm, -journal
	if err != nil || len(files) == 0 {
		t.Fatalf("no database files at %s (%v)", path, err)
	}
	var all []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		all = append(all, data...)
		lower := bytes.ToLower(data)
		for _, sec := range secrets {
			plain, hexed := sec.forbidden()
			for _, p := range plain {
				if bytes.Contains(data, []byte(p)) {
					t.Errorf("%s holds %q, part of a secret", filepath.Base(f), p)
				}
			}
			for _, h := range hexed {
				if bytes.Contains(lower, []byte(h)) {
					t.Errorf("%s holds the hex of part of a secret: %s", filepath.Base(f), h)
				}
			}
		}
	}
	for _, sec := range secrets {
		if !bytes.Contains(all, sec.hash) {
			t.Errorf("the files hold no hash of %s…; the scan is not reading the data", sec.value[:len(sec.prefix)+4])
		}
	}
}

// TestNoPlaintextPostgres prints every row of every table in the database
// as text (bytea as hex) and looks for the secrets there.
func TestNoPlaintextPostgres(t *testing.T) {
	s := openStore(t, pgtest.URL(t))
	secrets := seedSecrets(t, s)
	ctx := t.Context()

	rows, err := s.DB().QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("scan table name: %v", err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	for _, want := range []string{"api_keys", "admin_tokens", "audit_events"} {
		if !slices.Contains(tables, want) {
			t.Fatalf("tables %v lack %s", tables, want)
		}
	}

	var all strings.Builder
	for _, table := range tables {
		rows, err := s.DB().QueryContext(ctx, `SELECT t::text FROM "`+table+`" t`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			all.WriteString(row + "\n")
			lower := strings.ToLower(row)
			for _, sec := range secrets {
				plain, hexed := sec.forbidden()
				for _, p := range plain {
					if strings.Contains(row, p) {
						t.Errorf("a row of %s holds %q, part of a secret: %s", table, p, row)
					}
				}
				for _, h := range hexed {
					if strings.Contains(lower, h) {
						t.Errorf("a row of %s holds the hex of part of a secret: %s", table, row)
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
	}
	for _, sec := range secrets {
		if !strings.Contains(all.String(), `\x`+hex.EncodeToString(sec.hash)) {
			t.Errorf("no row holds the hash of %s…; the scan is not reading the data", sec.value[:len(sec.prefix)+4])
		}
	}
}
