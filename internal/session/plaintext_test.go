package session_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// seedSecrets runs every path that handles a secret (sign-in, a failed
// sign-in with a password typed into the email field, invitation, its
// acceptance, sign-out) and returns what must never be stored, and the
// SHA-256 hashes that must be (or a scan would prove nothing).
func seedSecrets(t *testing.T, e *env) (forbidden []string, hashes [][]byte) {
	t.Helper()
	ctx := t.Context()
	secret, _ := e.login("owner@example.com", e.ownerPW, ownerIP)
	typo := "pasted-password-" + strings.Repeat("z", 12)
	if _, _, err := e.svc.Login(ctx, typo, e.ownerPW, ownerIP); platform.ErrorKind(err) != platform.KindUnauthenticated {
		t.Fatalf("Login with a password as email: %v", err)
	}
	_, token := e.invite("ada@example.com", platform.RoleMember)
	accepted, _, err := e.svc.AcceptInvitation(ctx, token, goodPassword, "192.0.2.5")
	if err != nil {
		t.Fatalf("AcceptInvitation: %v", err)
	}
	_, revoked := e.invite("bob@example.com", platform.RoleViewer)
	if err := e.svc.Logout(ctx, secret); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	for _, s := range []string{secret, accepted, token, revoked} {
		forbidden = append(forbidden, s, s[4:])
		h := sha256.Sum256([]byte(s))
		hashes = append(hashes, h[:])
	}
	forbidden = append(forbidden, e.ownerPW, goodPassword, typo)
	return forbidden, hashes
}

// TestNoPlaintextSQLite reads the database files byte by byte.
func TestNoPlaintextSQLite(t *testing.T) {
	e := newEnv(t, "sqlite", testConfig)
	forbidden, hashes := seedSecrets(t, e)
	if err := e.st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	files, err := filepath.Glob(e.path + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no database files at %s (%v)", e.path, err)
	}
	var all []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		all = append(all, data...)
	}
	lower := bytes.ToLower(all)
	for _, s := range forbidden {
		if bytes.Contains(all, []byte(s)) || bytes.Contains(lower, []byte(hex.EncodeToString([]byte(s)))) {
			t.Errorf("the database files hold %q…, a secret", s[:8])
		}
	}
	for _, h := range hashes {
		if !bytes.Contains(all, h) {
			t.Errorf("no hash %x… in the files; the scan is not reading the data", h[:4])
		}
	}
}

// TestNoPlaintextPostgres prints every row of every table as text.
func TestNoPlaintextPostgres(t *testing.T) {
	e := newEnv(t, "postgres", testConfig)
	forbidden, hashes := seedSecrets(t, e)
	ctx := t.Context()
	rows, err := e.st.DB().QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("scan: %v", err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var all strings.Builder
	for _, table := range tables {
		rows, err := e.st.DB().QueryContext(ctx, `SELECT t::text FROM "`+table+`" t`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			all.WriteString(row + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
	}
	text := all.String()
	lower := strings.ToLower(text)
	for _, s := range forbidden {
		if strings.Contains(text, s) || strings.Contains(lower, hex.EncodeToString([]byte(s))) {
			t.Errorf("a row holds %q…, a secret", s[:8])
		}
	}
	for _, h := range hashes {
		if !strings.Contains(text, `\x`+hex.EncodeToString(h)) {
			t.Errorf("no row holds the hash %x…; the scan is not reading the data", h[:4])
		}
	}
}
