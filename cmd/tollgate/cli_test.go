package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers:
// the server goroutine writes while the test polls.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Tollgate server run in-process by startServer.
type testServer struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:43121.
	URL string
	// AdminToken is the owner admin token printed at first start.
	AdminToken string
	// DataDir holds the server's SQLite database.
	DataDir string
	// Stdout and Stderr are what the server printed so far.
	Stdout, Stderr *syncBuffer
}

var (
	listeningRE  = regexp.MustCompile(`Tollgate listening on (http://\S+)`)
	adminTokenRE = regexp.MustCompile(`(?m)^\s*Admin token:\s+(\S+)\s*$`)
)

// startServer runs `tollgate serve` in-process on a free port with a fresh
// SQLite data directory, waits until /readyz answers 200, and stops the
// server (waiting for run to return) when the test ends.
func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerEnv(t, nil)
}

// startServerEnv is startServer with extra environment variables for the
// server (e.g. TOLLGATE_ROTATION_GRACE); TOLLGATE_LOG_LEVEL defaults to warn.
func startServerEnv(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"TOLLGATE_LOG_LEVEL": "warn"}
	for k, v := range env {
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }

	ts := &testServer{DataDir: dir, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}}
	// Registered after t.TempDir, so this cleanup runs first: the server
	// stops before its data directory is removed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"},
			getenv, strings.NewReader(""), ts.Stdout, ts.Stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve returned %v\nstderr:\n%s", err, ts.Stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not return within 30s of cancellation\nstderr:\n%s", ts.Stderr.String())
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for ts.URL == "" {
		if m := listeningRE.FindStringSubmatch(ts.Stdout.String()); m != nil {
			ts.URL = m[1]
			break
		}
		select {
		case err := <-done:
			done <- err // let the cleanup see it too
			t.Fatalf("serve exited before listening: %v\nstdout:\n%s\nstderr:\n%s", err, ts.Stdout.String(), ts.Stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not print its address within 20s\nstdout:\n%s\nstderr:\n%s", ts.Stdout.String(), ts.Stderr.String())
		}
	}
	m := adminTokenRE.FindStringSubmatch(ts.Stdout.String())
	if m == nil {
		t.Fatalf("serve did not print an admin token at first start\nstdout:\n%s", ts.Stdout.String())
	}
	ts.AdminToken = m[1]

	for {
		resp, err := http.Get(ts.URL + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ts
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz never answered 200 (last error %v)\nstderr:\n%s", err, ts.Stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getenv returns the environment a CLI command sees when talking to ts.
func (ts *testServer) getenv(k string) string {
	switch k {
	case "TOLLGATE_URL":
		return ts.URL
	case "TOLLGATE_ADMIN_TOKEN":
		return ts.AdminToken
	}
	return ""
}

// bearerGet sends GET url with Authorization: Bearer token, like curl, and
// returns the status and body.
func bearerGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStartServer(t *testing.T) {
	ts := startServer(t)
	if !strings.HasPrefix(ts.AdminToken, "tgadm-") {
		t.Errorf("admin token = %q, want prefix tgadm-", ts.AdminToken)
	}
	if got, body := bearerGet(t, ts.URL+"/api/v1/org", ts.AdminToken); got != http.StatusOK {
		t.Errorf("GET /api/v1/org with the bootstrap token = %d %s, want 200", got, body)
	}
	if got, _ := bearerGet(t, ts.URL+"/api/v1/org", "tgadm-wrong"); got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/org with a wrong token = %d, want 401", got)
	}
}

// cli runs the tollgate CLI in-process with args and the environment
// getenv, and returns what it printed to stdout.
func cli(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, getenv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), err
}

// tollgate runs the CLI against ts with its URL and owner token.
func (ts *testServer) tollgate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return cli(t, ts.getenv, args...)
}

// must runs the CLI against ts and fails the test on error.
func (ts *testServer) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ts.tollgate(t, args...)
	if err != nil {
		t.Fatalf("tollgate %s: %v\noutput:\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// mustJSON runs the CLI with --json against ts and decodes its output.
func mustJSON[T any](t *testing.T, ts *testServer, args ...string) T {
	t.Helper()
	out := ts.must(t, append(args, "--json")...)
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("tollgate %s --json printed invalid JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// wantErr checks that err is non-nil and mentions every one of wants.
func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// tableHeader returns the column names of a table printed by printTable.
func tableHeader(t *testing.T, out string) []string {
	t.Helper()
	first, _, _ := strings.Cut(out, "\n")
	return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(first), -1)
}

type groupOut struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
}

type keyOut struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	GroupID   string  `json:"group_id"`
	Hint      string  `json:"hint"`
	Status    string  `json:"status"`
	ExpiresAt *string `json:"expires_at"`
	RevokedAt *string `json:"revoked_at"`
	RotatedTo string  `json:"rotated_to"`
	Key       string  `json:"key"`
	Previous  *keyOut `json:"previous"`
}

func TestGroupsCommands(t *testing.T) {
	t.Parallel()
	ts := startServer(t)

	g := mustJSON[groupOut](t, ts, "groups", "create", "my-app", "--description", "the mobile app")
	if !strings.HasPrefix(g.ID, "grp_") || g.Name != "my-app" || g.Description != "the mobile app" || g.Status != "active" {
		t.Fatalf("groups create --json = %+v", g)
	}
	out := ts.must(t, "groups", "create", "other")
	if !strings.Contains(out, `Created group "other"`) || !strings.Contains(out, "tollgate keys create --group grp_") {
		t.Errorf("groups create printed %q, want a confirmation and the next step", out)
	}
	_, err := ts.tollgate(t, "groups", "create", "my-app")
	wantErr(t, err, `a group named "my-app" already exists`)

	list := mustJSON[[]groupOut](t, ts, "groups", "list")
	if len(list) != 2 || list[0].ID != g.ID || list[1].Name != "other" {
		t.Errorf("groups list --json = %+v, want my-app and other", list)
	}
	// created_at is compared to the second: the create response may carry
	// more precision than the database keeps.
	got := mustJSON[groupOut](t, ts, "groups", "get", g.ID)
	if got.CreatedAt[:19] != g.CreatedAt[:19] {
		t.Errorf("groups get: created_at %s, want %s", got.CreatedAt, g.CreatedAt)
	}
	if got.CreatedAt = g.CreatedAt; got != g {
		t.Errorf("groups get --json = %+v, want %+v", got, g)
	}

	if got := mustJSON[groupOut](t, ts, "groups", "rename", g.ID, "my-app-v2"); got.Name != "my-app-v2" {
		t.Errorf("groups rename: name = %q, want my-app-v2", got.Name)
	}
	if got := mustJSON[groupOut](t, ts, "groups", "update", g.ID, "--description", ""); got.Description != "" || got.Name != "my-app-v2" {
		t.Errorf("groups update --description '' = %+v, want the description cleared and the name kept", got)
	}
	_, err = ts.tollgate(t, "groups", "update", g.ID)
	wantErr(t, err, "--name", "--description")

	out = ts.must(t, "groups", "disable", g.ID)
	if !strings.Contains(out, "Disabled group") || !strings.Contains(out, "tollgate groups enable "+g.ID) {
		t.Errorf("groups disable printed %q", out)
	}
	if got := mustJSON[groupOut](t, ts, "groups", "get", g.ID); got.Status != "disabled" {
		t.Errorf("status after disable = %q, want disabled", got.Status)
	}
	if got := mustJSON[groupOut](t, ts, "groups", "enable", g.ID); got.Status != "active" {
		t.Errorf("status after enable = %q, want active", got.Status)
	}

	// Delete refuses without --yes and explains why, without touching stdin.
	_, err = ts.tollgate(t, "groups", "delete", g.ID)
	wantErr(t, err, "--yes", "revokes every key")
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("delete without --yes: %T, want a usageError (exit status 2)", err)
	}
	if got := mustJSON[groupOut](t, ts, "groups", "get", g.ID); got.Status != "active" {
		t.Fatalf("group after refused delete = %+v, want it untouched", got)
	}
	del := mustJSON[map[string]any](t, ts, "groups", "delete", g.ID, "--yes")
	if del["id"] != g.ID || del["deleted"] != true {
		t.Errorf("groups delete --yes --json = %v", del)
	}
	_, err = ts.tollgate(t, "groups", "get", g.ID)
	wantErr(t, err, "group "+g.ID, "not found", "tollgate groups list")
	if list := mustJSON[[]groupOut](t, ts, "groups", "list"); len(list) != 1 || list[0].Name != "other" {
		t.Errorf("groups list after delete = %+v, want only other", list)
	}
}

func TestKeysCommands(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	g := mustJSON[groupOut](t, ts, "groups", "create", "my-app")
	g2 := mustJSON[groupOut](t, ts, "groups", "create", "batch")

	// Create: the secret comes back once, in the create output only.
	k := mustJSON[keyOut](t, ts, "keys", "create", "--group", g.ID, "--name", "ci")
	if !strings.HasPrefix(k.ID, "key_") || !strings.HasPrefix(k.Key, "pplx-") || k.GroupID != g.ID || k.Status != "active" {
		t.Fatalf("keys create --json = %+v", k)
	}
	if code, body := bearerGet(t, ts.URL+"/v1/key", k.Key); code != http.StatusOK || !strings.Contains(body, k.ID) {
		t.Fatalf("GET /v1/key with the new key = %d %s, want 200", code, body)
	}
	out := ts.must(t, "keys", "create", "--group", g.ID, "--name", "web")
	secret := regexp.MustCompile(`pplx-\S+`).FindString(out)
	if secret == "" || !strings.Contains(out, "shown once") || !strings.Contains(out, "store it now") {
		t.Errorf("keys create printed %q, want the secret and a shown-once warning", out)
	}
	other := mustJSON[keyOut](t, ts, "keys", "create", "--group", g2.ID, "--name", "nightly", "--expires-in", "90d")
	if other.ExpiresAt == nil {
		t.Errorf("keys create --expires-in 90d: no expires_at in %+v", other)
	} else if exp, err := time.Parse(time.RFC3339, *other.ExpiresAt); err != nil || time.Until(exp) < 89*24*time.Hour || time.Until(exp) > 91*24*time.Hour {
		t.Errorf("expires_at = %s, want about 90 days from now", *other.ExpiresAt)
	}

	for _, args := range [][]string{
		{"keys", "list"}, {"keys", "list", "--json"}, {"keys", "list", "--group", g.ID},
		{"keys", "get", k.ID}, {"keys", "get", k.ID, "--json"},
	} {
		out := ts.must(t, args...)
		for _, s := range []string{k.Key, secret, `"key"`} {
			if strings.Contains(out, s) {
				t.Errorf("tollgate %s printed a secret (%q):\n%s", strings.Join(args, " "), s, out)
			}
		}
	}

	all := mustJSON[[]keyOut](t, ts, "keys", "list")
	if len(all) != 3 {
		t.Errorf("keys list: %d keys, want 3", len(all))
	}
	mine := mustJSON[[]keyOut](t, ts, "keys", "list", "--group", g.ID)
	if len(mine) != 2 {
		t.Errorf("keys list --group %s: %d keys, want 2", g.ID, len(mine))
	}
	for _, x := range mine {
		if x.GroupID != g.ID {
			t.Errorf("keys list --group %s listed %+v of another group", g.ID, x)
		}
	}
	_, err := ts.tollgate(t, "keys", "list", "--group", "grp_nope")
	wantErr(t, err, "group grp_nope", "not found")

	if got := mustJSON[keyOut](t, ts, "keys", "get", k.ID); got.ID != k.ID || got.Hint != k.Hint || got.Key != "" {
		t.Errorf("keys get --json = %+v", got)
	}
	if got := mustJSON[keyOut](t, ts, "keys", "rename", k.ID, "ci-main"); got.Name != "ci-main" {
		t.Errorf("keys rename: name = %q, want ci-main", got.Name)
	}
	_, err = ts.tollgate(t, "keys", "get", "key_nope")
	wantErr(t, err, "key key_nope", "not found", "tollgate keys list")

	// Rotate with no grace: the old key stops at once, the new one works.
	rot := mustJSON[keyOut](t, ts, "keys", "rotate", k.ID, "--grace", "0")
	if !strings.HasPrefix(rot.Key, "pplx-") || rot.Key == k.Key || rot.Previous == nil || rot.Previous.ID != k.ID {
		t.Fatalf("keys rotate --json = %+v", rot)
	}
	if rot.Previous.Status != "revoked" || rot.Previous.RotatedTo != rot.ID {
		t.Errorf("previous after rotate --grace 0 = %+v, want revoked and pointing at %s", rot.Previous, rot.ID)
	}
	if code, body := bearerGet(t, ts.URL+"/v1/key", k.Key); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/key with the rotated-out key = %d %s, want 401", code, body)
	}
	if code, body := bearerGet(t, ts.URL+"/v1/key", rot.Key); code != http.StatusOK {
		t.Errorf("GET /v1/key with the successor = %d %s, want 200", code, body)
	}
	if strings.Contains(ts.must(t, "keys", "get", rot.ID), rot.Key) {
		t.Error("keys get printed the rotated key's secret")
	}

	// Rotate with the default grace: the old key keeps working, and the
	// output says until when.
	out = ts.must(t, "keys", "rotate", rot.ID)
	newSecret := regexp.MustCompile(`pplx-\S+`).FindString(out)
	if newSecret == "" || !strings.Contains(out, "shown once") || !strings.Contains(out, "keeps working until") {
		t.Errorf("keys rotate printed %q, want the new secret and when the old key stops", out)
	}
	if code, _ := bearerGet(t, ts.URL+"/v1/key", rot.Key); code != http.StatusOK {
		t.Errorf("old key within its grace period: %d, want 200", code)
	}
	if code, _ := bearerGet(t, ts.URL+"/v1/key", newSecret); code != http.StatusOK {
		t.Errorf("successor of a graceful rotation: %d, want 200", code)
	}

	// Revoke: the key is refused from its next request.
	out = ts.must(t, "keys", "revoke", other.ID)
	if !strings.Contains(out, "Revoked key") {
		t.Errorf("keys revoke printed %q", out)
	}
	if code, _ := bearerGet(t, ts.URL+"/v1/key", other.Key); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/key with a revoked key = %d, want 401", code)
	}
	if got := mustJSON[keyOut](t, ts, "keys", "get", other.ID); got.Status != "revoked" || got.RevokedAt == nil {
		t.Errorf("keys get after revoke = %+v, want revoked", got)
	}
	_, err = ts.tollgate(t, "keys", "rotate", other.ID)
	wantErr(t, err, "revoked")

	// Creating a key in a disabled group is refused with the server's reason.
	ts.must(t, "groups", "disable", g2.ID)
	_, err = ts.tollgate(t, "keys", "create", "--group", g2.ID, "--name", "x")
	wantErr(t, err, "disabled", "enable it")
}

func TestTables(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	g := mustJSON[groupOut](t, ts, "groups", "create", "my-app", "--description", "line one\nline two")
	k := mustJSON[keyOut](t, ts, "keys", "create", "--group", g.ID, "--name", "ci", "--expires-in", "720h")

	groupCols := []string{"ID", "NAME", "STATUS", "DESCRIPTION", "CREATED"}
	keyCols := []string{"ID", "NAME", "STATUS", "HINT", "CREATED", "LAST USED", "EXPIRES"}
	keyColsAll := []string{"ID", "NAME", "GROUP", "STATUS", "HINT", "CREATED", "LAST USED", "EXPIRES"}
	tests := []struct {
		name     string
		args     []string
		cols     []string
		wantRows []string
	}{
		{"groups list", []string{"groups", "list"}, groupCols, []string{g.ID, "my-app", "active", "line one line two"}},
		{"groups get", []string{"groups", "get", g.ID}, groupCols, []string{g.ID, "my-app"}},
		{"keys list", []string{"keys", "list"}, keyColsAll, []string{k.ID, "ci", g.ID, "active", k.Hint}},
		{"keys list group", []string{"keys", "list", "--group", g.ID}, keyCols, []string{k.ID, "ci", k.Hint}},
		{"keys get", []string{"keys", "get", k.ID}, keyColsAll, []string{k.ID, k.Hint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := ts.must(t, tt.args...)
			if got := tableHeader(t, out); !slices.Equal(got, tt.cols) {
				t.Errorf("columns = %q, want %q\n%s", got, tt.cols, out)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines, want a header and one row:\n%s", len(lines), out)
			}
			for _, s := range tt.wantRows {
				if !strings.Contains(lines[1], s) {
					t.Errorf("row %q does not contain %q", lines[1], s)
				}
			}
		})
	}
}

func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

	t.Run("missing token", func(t *testing.T) {
		for _, args := range [][]string{{"groups", "list"}, {"keys", "list"}, {"keys", "revoke", "key_x"}} {
			_, err := cli(t, env(map[string]string{"TOLLGATE_URL": ts.URL}), args...)
			wantErr(t, err, "TOLLGATE_ADMIN_TOKEN", "tollgate admin create-token")
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("%s without a token: %T, want a usageError", args, err)
			}
		}
	})
	t.Run("server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + ln.Addr().String()
		ln.Close()
		_, err = cli(t, env(map[string]string{"TOLLGATE_URL": down, "TOLLGATE_ADMIN_TOKEN": ts.AdminToken}), "groups", "list")
		wantErr(t, err, "cannot reach Tollgate at "+down, "TOLLGATE_URL", "tollgate serve")
	})
	t.Run("wrong token", func(t *testing.T) {
		_, err := cli(t, env(map[string]string{"TOLLGATE_URL": ts.URL, "TOLLGATE_ADMIN_TOKEN": ts.AdminToken + "x"}), "groups", "list")
		wantErr(t, err, "admin token", "check TOLLGATE_ADMIN_TOKEN")
	})
	t.Run("flags override env", func(t *testing.T) {
		out, err := cli(t, env(map[string]string{"TOLLGATE_URL": "http://127.0.0.1:1", "TOLLGATE_ADMIN_TOKEN": "tgadm-wrong"}),
			"groups", "list", "--url", ts.URL+"/", "--token", ts.AdminToken)
		if err != nil {
			t.Fatalf("groups list --url --token: %v", err)
		}
		if !strings.Contains(out, "No groups yet") {
			t.Errorf("groups list on an empty server printed %q", out)
		}
		// The persistent flags also work before the subcommand.
		if _, err := cli(t, env(nil), "keys", "--url", ts.URL, "--token", ts.AdminToken, "list", "--json"); err != nil {
			t.Errorf("keys --url --token list: %v", err)
		}
	})
}

func TestViewerToken(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	g := mustJSON[groupOut](t, ts, "groups", "create", "my-app")
	k := mustJSON[keyOut](t, ts, "keys", "create", "--group", g.ID, "--name", "ci")

	// The offline admin command opens the server's database directly.
	out, err := cli(t, func(string) string { return "" },
		"admin", "create-token", "--role", "viewer", "--name", "dashboards", "--data-dir", ts.DataDir, "--json", "--log-level", "warn")
	if err != nil {
		t.Fatalf("admin create-token: %v", err)
	}
	var tok struct {
		Token string `json:"token"`
		Role  string `json:"role"`
	}
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.Role != "viewer" || tok.Token == "" {
		t.Fatalf("admin create-token --json = %q (%v)", out, err)
	}
	viewer := func(k string) string {
		if k == "TOLLGATE_ADMIN_TOKEN" {
			return tok.Token
		}
		return ts.getenv(k)
	}

	// A viewer reads, but may not manage keys: the server's message says so.
	if out, err := cli(t, viewer, "keys", "list"); err != nil || !strings.Contains(out, k.ID) {
		t.Errorf("viewer keys list = %q, %v", out, err)
	}
	_, err = cli(t, viewer, "keys", "revoke", k.ID)
	wantErr(t, err, `your role "viewer" does not allow`)
	_, err = cli(t, viewer, "groups", "delete", g.ID, "--yes")
	wantErr(t, err, `your role "viewer" does not allow`)
	if code, _ := bearerGet(t, ts.URL+"/v1/key", k.Key); code != http.StatusOK {
		t.Errorf("key after the viewer's refused revoke: %d, want 200", code)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string {
		// Never reached: every case fails before calling the server.
		return map[string]string{"TOLLGATE_URL": "http://127.0.0.1:1", "TOLLGATE_ADMIN_TOKEN": "tgadm-x"}[k]
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"groups create without name", []string{"groups", "create"}, "missing NAME"},
		{"groups rename one arg", []string{"groups", "rename", "grp_1"}, "missing NAME"},
		{"groups get extra arg", []string{"groups", "get", "a", "b"}, "too many arguments"},
		{"keys create without group", []string{"keys", "create", "--name", "x"}, "missing --group"},
		{"keys create without name", []string{"keys", "create", "--group", "grp_1"}, "missing --name"},
		{"keys create both expiries", []string{"keys", "create", "--group", "g", "--name", "x", "--expires-in", "1h", "--expires-at", "2030-01-01T00:00:00Z"}, "not both"},
		{"keys create bad duration", []string{"keys", "create", "--group", "g", "--name", "x", "--expires-in", "soon"}, "720h"},
		{"keys create bad time", []string{"keys", "create", "--group", "g", "--name", "x", "--expires-at", "tomorrow"}, "RFC 3339"},
		{"keys rotate negative grace", []string{"keys", "rotate", "key_1", "--grace", "-1h"}, "negative"},
		{"keys list unknown flag", []string{"keys", "list", "--nope"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cli(t, getenv, tt.args...)
			wantErr(t, err, tt.want)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("%T, want a usageError", err)
			}
		})
	}
}

func TestParseLifetime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0}, {"30m", 30 * time.Minute}, {"720h", 720 * time.Hour}, {"90d", 90 * 24 * time.Hour}, {"1h30m", 90 * time.Minute},
	}
	for _, tt := range tests {
		got, err := parseLifetime("x", tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseLifetime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "d", "soon", "1.5d"} {
		if _, err := parseLifetime("x", in); err == nil {
			t.Errorf("parseLifetime(%q) succeeded, want an error", in)
		}
	}
}

func TestRoughly(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{24*time.Hour - time.Second, "24h"}, {90 * time.Minute, "1h30m"}, {45 * time.Minute, "45m"}, {30 * time.Second, "30s"},
	}
	for _, tt := range tests {
		if got := roughly(tt.in); got != tt.want {
			t.Errorf("roughly(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
