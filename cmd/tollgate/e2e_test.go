package main

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

var (
	groupIDRE = regexp.MustCompile(`\bgrp_[a-z0-9]+\b`)
	secretRE  = regexp.MustCompile(`\bpplx-[0-9A-Za-z]{49}\b`)
)

// TestQuickstart follows the README: first start prints an admin token; the
// CLI creates a group and a key, reading the human output as a person
// would; curl with the key gets 200.
func TestQuickstart(t *testing.T) {
	ts := startServer(t)
	out := ts.must(t, "groups", "create", "my-app")
	grp := groupIDRE.FindString(out)
	if grp == "" {
		t.Fatalf("groups create printed no group ID:\n%s", out)
	}
	// By name, as the README does.
	out = ts.must(t, "keys", "create", "--group", "my-app", "--name", "backend")
	secret := secretRE.FindString(out)
	if secret == "" {
		t.Fatalf("keys create printed no key:\n%s", out)
	}
	if !strings.Contains(out, "shown once") {
		t.Errorf("keys create gave no shown-once warning:\n%s", out)
	}
	code, body := bearerGet(t, ts.URL+"/v1/key", secret)
	if code != 200 || !strings.Contains(body, `"group_id":"`+grp+`"`) {
		t.Fatalf("GET /v1/key = %d %s", code, body)
	}
	// The secret is printed by create only.
	if _, err := ts.tollgate(t, "keys", "list", "--group", "no-such-app"); err == nil || !strings.Contains(err.Error(), "no group is named") {
		t.Errorf("keys list of an unknown group name = %v", err)
	}
	for _, args := range [][]string{{"keys", "list"}, {"keys", "list", "--json"}, {"keys", "list", "--group", "my-app"}, {"groups", "list", "--json"}} {
		if out := ts.must(t, args...); strings.Contains(out, secret[5:len(secret)-4]) {
			t.Errorf("tollgate %s shows the secret", strings.Join(args, " "))
		}
	}
	if strings.Contains(ts.Stderr.String(), secret) || strings.Contains(ts.Stderr.String(), ts.AdminToken) {
		t.Error("the server logged a secret")
	}
}

// startRaw runs serve with args until the returned stop is called, and
// returns what it printed once it listens.
func startRaw(t *testing.T, args ...string) (url string, stdout *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...),
			func(string) string { return "" }, strings.NewReader(""), stdout, stderr)
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop within 30s")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stdout, stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s\n%s", err, stdout.String(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
}

// TestRestartKeepsStateAndShutdownFlushes checks the second start of a data
// directory (no second bootstrap, old secrets still valid) and that a clean
// shutdown writes last_used_at although the flush interval never elapsed.
func TestRestartKeepsStateAndShutdownFlushes(t *testing.T) {
	dir := t.TempDir()
	url, out, stop := startRaw(t, "--data-dir", dir)
	token := adminTokenRE.FindStringSubmatch(out.String())[1]
	env := func(k string) string {
		return map[string]string{"TOLLGATE_URL": url, "TOLLGATE_ADMIN_TOKEN": token}[k]
	}
	grp := groupIDRE.FindString(mustCLI(t, env, "groups", "create", "app"))
	secret := secretRE.FindString(mustCLI(t, env, "keys", "create", "--group", grp, "--name", "k"))
	if code, _ := bearerGet(t, url+"/v1/key", secret); code != 200 {
		t.Fatalf("GET /v1/key = %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v on shutdown", err)
	}

	st, err := sqlstore.Open(context.Background(), filepath.Join(dir, "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if orgs := mustJSONList(t, mustCLIOffline(t, "admin", "orgs", "--json", "--data-dir", dir)); len(orgs) != 1 {
		t.Fatalf("%d organizations after one start, want 1", len(orgs))
	}
	var lastUsed *int64
	if err := st.DB().QueryRow(`SELECT last_used_at FROM api_keys`).Scan(&lastUsed); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if lastUsed == nil {
		t.Fatal("last_used_at was not written at shutdown")
	}

	url2, out2, _ := startRaw(t, "--data-dir", dir)
	if adminTokenRE.MatchString(out2.String()) {
		t.Fatal("a second start bootstrapped again")
	}
	if code, _ := bearerGet(t, url2+"/v1/key", secret); code != 200 {
		t.Fatalf("key after restart: %d", code)
	}
	if code, _ := bearerGet(t, url2+"/api/v1/org", token); code != 200 {
		t.Fatalf("admin token after restart: %d", code)
	}
}

func TestServeOnPostgres(t *testing.T) {
	db := pgtest.URL(t)
	url, out, stop := startRaw(t, "--database-url", db, "--data-dir", t.TempDir()) // the search index lives on disk
	if !strings.Contains(out.String(), "(database: postgres)") {
		t.Fatalf("serve did not report PostgreSQL:\n%s", out.String())
	}
	token := adminTokenRE.FindStringSubmatch(out.String())[1]
	env := func(k string) string {
		return map[string]string{"TOLLGATE_URL": url, "TOLLGATE_ADMIN_TOKEN": token}[k]
	}
	grp := groupIDRE.FindString(mustCLI(t, env, "groups", "create", "app"))
	secret := secretRE.FindString(mustCLI(t, env, "keys", "create", "--group", grp, "--name", "k"))
	if code, _ := bearerGet(t, url+"/v1/key", secret); code != 200 {
		t.Fatalf("GET /v1/key = %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestTakenPortFailsStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = cli(t, func(string) string { return "" }, "serve", "--data-dir", t.TempDir(), "--listen", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "listen on") || !strings.Contains(err.Error(), "TOLLGATE_LISTEN") {
		t.Fatalf("serve on a taken port = %v, want a listen error that says what to do", err)
	}
}

func TestInvalidConfigFailsStart(t *testing.T) {
	_, err := cli(t, func(k string) string {
		return map[string]string{"TOLLGATE_AUTH_CACHE_TTL": "0s", "TOLLGATE_LOG_FORMAT": "xml"}[k]
	}, "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "keys.cache_ttl") || !strings.Contains(err.Error(), "log.format") {
		t.Fatalf("serve with a bad config = %v, want every field named", err)
	}
}

func TestMigrateAndAdminOffline(t *testing.T) {
	dir := t.TempDir()
	var applied struct {
		Backend string `json:"backend"`
		Applied []struct {
			Version int64 `json:"version"`
		} `json:"applied"`
	}
	mustUnmarshal(t, mustCLIOffline(t, "migrate", "--json", "--data-dir", dir), &applied)
	if applied.Backend != "sqlite" || len(applied.Applied) == 0 {
		t.Fatalf("migrate --json = %+v", applied)
	}
	if out := mustCLIOffline(t, "migrate", "--data-dir", dir); !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %s", out)
	}
	if out := mustCLIOffline(t, "migrate", "status", "--data-dir", dir); !strings.Contains(out, "applied") {
		t.Fatalf("migrate status: %s", out)
	}

	// No organization yet: a token cannot be issued, and the error says why.
	if _, err := cli(t, func(string) string { return "" }, "admin", "create-token", "--data-dir", dir); err == nil ||
		!strings.Contains(err.Error(), "no organization") {
		t.Fatalf("create-token on an empty store = %v", err)
	}
	var org struct {
		OrgID      string `json:"org_id"`
		AdminToken string `json:"admin_token"`
		Password   string `json:"owner_password"`
	}
	mustUnmarshal(t, mustCLIOffline(t, "admin", "create-org", "--json", "--name", "Acme", "--owner-email", "Ops@Acme.test", "--data-dir", dir), &org)
	if org.OrgID == "" || !strings.HasPrefix(org.AdminToken, "tgadm-") || len(org.Password) < 12 {
		t.Fatalf("create-org = %+v", org)
	}
	var tok struct {
		Token string `json:"token"`
		Role  string `json:"role"`
	}
	mustUnmarshal(t, mustCLIOffline(t, "admin", "create-token", "--json", "--role", "viewer", "--data-dir", dir), &tok)
	if tok.Role != "viewer" || !strings.HasPrefix(tok.Token, "tgadm-") {
		t.Fatalf("create-token = %+v", tok)
	}
	if _, err := cli(t, func(string) string { return "" }, "admin", "create-token", "--role", "emperor", "--data-dir", dir); err == nil ||
		!strings.Contains(err.Error(), "unknown role") {
		t.Fatalf("create-token with a bad role = %v", err)
	}

	var pw struct {
		Password string `json:"password"`
	}
	mustUnmarshal(t, mustCLIOffline(t, "admin", "set-password", "--json", "--email", "ops@acme.test", "--data-dir", dir), &pw)
	if len(pw.Password) < 12 || pw.Password == org.Password {
		t.Fatalf("set-password = %+v", pw)
	}

	// With two organizations, --org becomes necessary.
	mustCLIOffline(t, "admin", "create-org", "--name", "Beta", "--owner-email", "b@beta.test", "--data-dir", dir)
	if _, err := cli(t, func(string) string { return "" }, "admin", "create-token", "--data-dir", dir); err == nil ||
		!strings.Contains(err.Error(), "--org") {
		t.Fatalf("create-token with two orgs = %v", err)
	}
	mustCLIOffline(t, "admin", "create-token", "--org", org.OrgID, "--data-dir", dir)
}

func mustCLI(t *testing.T, env func(string) string, args ...string) string {
	t.Helper()
	out, err := cli(t, env, args...)
	if err != nil {
		t.Fatalf("tollgate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func mustCLIOffline(t *testing.T, args ...string) string {
	t.Helper()
	return mustCLI(t, func(k string) string {
		if k == "TOLLGATE_LOG_LEVEL" {
			return "warn"
		}
		return ""
	}, args...)
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not the expected JSON (%v):\n%s", err, s)
	}
}

func mustJSONList(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	mustUnmarshal(t, s, &out)
	return out
}
