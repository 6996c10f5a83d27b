package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// apiClock is a settable clock for the whole wired server.
type apiClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *apiClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *apiClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// apiHarness is a real Tollgate (the same newApp wiring as serve) on a real
// store, served over loopback HTTP, with an owner admin token.
type apiHarness struct {
	t      *testing.T
	url    string
	st     *sqlstore.Store
	app    *app
	clock  *apiClock
	dbPath string // SQLite file, when that is the backend
	orgID  string
	owner  string // owner admin token
	client *http.Client
	logs   *syncBuffer // the server's JSON log
}

// usage returns the usage records the server logged so far.
func (h *apiHarness) usage() []map[string]any {
	h.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"usage"`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			h.t.Fatalf("log line is not JSON: %s", line)
		}
		out = append(out, m)
	}
	return out
}

func newAPIHarness(t *testing.T, backend string) *apiHarness {
	t.Helper()
	return newAPIHarnessWith(t, backend, nil)
}

// newAPIHarnessWith is newAPIHarness with a configuration edit (upstreams,
// models, routing) applied before the server is wired.
func newAPIHarnessWith(t *testing.T, backend string, edit func(*config.Config)) *apiHarness {
	t.Helper()
	ctx := context.Background()
	c := config.Default()
	// Tests that are not about limits or money run unmetered by either;
	// the billing tests turn both back on through edit.
	c.Billing.RequireCredits = false
	c.Limits.TierRPM = map[string][]int64{"*": {0, 0, 0, 0, 0, 0}}
	c.DataDir = t.TempDir() // the local search index lives here
	if edit != nil {
		edit(&c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &apiHarness{t: t, clock: &apiClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	target := ""
	switch backend {
	case "sqlite":
		h.dbPath = filepath.Join(t.TempDir(), "tollgate.db")
		target = h.dbPath
	case "postgres":
		target = pgtest.URL(t)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	st, err := sqlstore.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st.Now = h.clock.Now
	h.st = st
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	if h.app, err = newApp(c, st, log, h.clock.Now); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.app.close)
	b, err := h.app.svc.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	h.orgID, h.owner = b.Org.ID, b.TokenSecret
	srv := httptest.NewServer(h.app.handler)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	h.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64,
	}}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// do sends a request and decodes a JSON reply (nil for empty bodies).
func (h *apiHarness) do(method, path, token, body string) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		h.t.Fatalf("%s %s: content type %q, body %s", method, path, ct, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("%s %s: reply is not a JSON object: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

// must sends a request that must succeed with want.
func (h *apiHarness) must(want int, method, path, token, body string) map[string]any {
	h.t.Helper()
	got, out := h.do(method, path, token, body)
	if got != want {
		h.t.Fatalf("%s %s = %d %v, want %d", method, path, got, out, want)
	}
	return out
}

func (h *apiHarness) group(name string) string {
	h.t.Helper()
	return h.must(201, "POST", "/api/v1/groups", h.owner, `{"name":"`+name+`"}`)["id"].(string)
}

func (h *apiHarness) key(groupID, name string) (id, secret string) {
	h.t.Helper()
	out := h.must(201, "POST", "/api/v1/groups/"+groupID+"/keys", h.owner, `{"name":"`+name+`"}`)
	return out["id"].(string), out["key"].(string)
}

func (h *apiHarness) token(role string) string {
	h.t.Helper()
	return h.must(201, "POST", "/api/v1/admin-tokens", h.owner, `{"name":"t","role":"`+role+`"}`)["token"].(string)
}

// errorOf checks the OpenAI/Perplexity error shape and returns its message.
func errorOf(t *testing.T, status int, body map[string]any) string {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", body)
	}
	msg, _ := e["message"].(string)
	if msg == "" || e["type"] == "" {
		t.Fatalf("error without message or type: %v", e)
	}
	if code, _ := e["code"].(float64); int(code) != status {
		t.Fatalf("error code %v, want %d (the HTTP status)", e["code"], status)
	}
	return msg
}

func backends(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	h := newAPIHarness(t, "sqlite")
	ctx := context.Background()
	grp := h.group("app")
	keyID, keySecret := h.key(grp, "main")
	viewer := h.token("viewer")
	admin := h.token("admin")
	ownerUser := h.must(200, "GET", "/api/v1/members", h.owner, "")["data"].([]any)[0].(map[string]any)["user_id"].(string)

	// A second organization whose IDs must be invisible to the first.
	other, err := h.app.svc.CreateOrg(ctx, platform.SystemActor("test"), "Other", "o@other.test")
	if err != nil {
		t.Fatal(err)
	}
	otherGrp := h.must(201, "POST", "/api/v1/groups", other.TokenSecret, `{"name":"theirs"}`)["id"].(string)
	otherKey := h.must(201, "POST", "/api/v1/groups/"+otherGrp+"/keys", other.TokenSecret, `{"name":"k"}`)
	otherKeyID, otherSecret := otherKey["id"].(string), otherKey["key"].(string)

	snapshot := func() string {
		var b strings.Builder
		for _, p := range []string{"/api/v1/groups", "/api/v1/keys", "/api/v1/members", "/api/v1/admin-tokens", "/api/v1/audit?limit=1000", "/api/v1/org"} {
			_, out := h.do("GET", p, h.owner, "")
			js, _ := json.Marshal(out)
			b.Write(js)
		}
		return b.String()
	}
	before := snapshot()
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`

	tests := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"malformed JSON", "POST", "/api/v1/groups", h.owner, `{"name":`, 400},
		{"not an object", "POST", "/api/v1/groups", h.owner, `["x"]`, 400},
		{"wrong type", "POST", "/api/v1/groups", h.owner, `{"name":5}`, 400},
		{"unknown field", "POST", "/api/v1/groups", h.owner, `{"name":"x","colour":"red"}`, 400},
		{"trailing data", "POST", "/api/v1/groups", h.owner, `{"name":"x"} {}`, 400},
		{"empty body", "POST", "/api/v1/groups", h.owner, ``, 400},
		{"empty name", "POST", "/api/v1/groups", h.owner, `{"name":"  "}`, 400},
		{"oversized body", "POST", "/api/v1/groups", h.owner, big, 413},
		{"duplicate group", "POST", "/api/v1/groups", h.owner, `{"name":"app"}`, 409},
		{"unknown group", "GET", "/api/v1/groups/grp_nope", h.owner, "", 404},
		{"other org's group", "GET", "/api/v1/groups/" + otherGrp, h.owner, "", 404},
		{"patch other org's group", "PATCH", "/api/v1/groups/" + otherGrp, h.owner, `{"name":"mine"}`, 404},
		{"delete other org's group", "DELETE", "/api/v1/groups/" + otherGrp, h.owner, "", 404},
		{"bad status", "PATCH", "/api/v1/groups/" + grp, h.owner, `{"status":"deleted"}`, 400},
		{"status wrong type", "PATCH", "/api/v1/groups/" + grp, h.owner, `{"status":true}`, 400},
		{"key in other org's group", "POST", "/api/v1/groups/" + otherGrp + "/keys", h.owner, `{"name":"k"}`, 404},
		{"key expiry wrong type", "POST", "/api/v1/groups/" + grp + "/keys", h.owner, `{"name":"k","expires_in_seconds":"soon"}`, 400},
		{"key expiry in the past", "POST", "/api/v1/groups/" + grp + "/keys", h.owner, `{"name":"k","expires_at":"2000-01-01T00:00:00Z"}`, 400},
		{"key expiry twice", "POST", "/api/v1/groups/" + grp + "/keys", h.owner, `{"name":"k","expires_at":"2030-01-01T00:00:00Z","expires_in_seconds":60}`, 400},
		{"key without name", "POST", "/api/v1/groups/" + grp + "/keys", h.owner, `{}`, 400},
		{"unknown key", "GET", "/api/v1/keys/key_nope", h.owner, "", 404},
		{"other org's key", "GET", "/api/v1/keys/" + otherKeyID, h.owner, "", 404},
		{"revoke other org's key", "POST", "/api/v1/keys/" + otherKeyID + "/revoke", h.owner, "", 404},
		{"rotate other org's key", "POST", "/api/v1/keys/" + otherKeyID + "/rotate", h.owner, "", 404},
		{"list keys of other org's group", "GET", "/api/v1/keys?group_id=" + otherGrp, h.owner, "", 404},
		{"negative grace", "POST", "/api/v1/keys/" + keyID + "/rotate", h.owner, `{"grace_period_seconds":-1}`, 400},
		{"huge grace", "POST", "/api/v1/keys/" + keyID + "/rotate", h.owner, `{"grace_period_seconds":99999999}`, 400},
		{"rename to empty", "PATCH", "/api/v1/keys/" + keyID, h.owner, `{"name":""}`, 400},
		{"revoke with junk body", "POST", "/api/v1/keys/" + keyID + "/revoke", h.owner, `{"now":true}`, 400},
		{"unknown role", "POST", "/api/v1/admin-tokens", h.owner, `{"name":"x","role":"god"}`, 400},
		{"bad email", "POST", "/api/v1/members", h.owner, `{"email":"not-an-email","role":"member"}`, 400},
		{"short password", "POST", "/api/v1/members", h.owner, `{"email":"a@b.test","role":"member","password":"short"}`, 400},
		{"demote last owner", "PATCH", "/api/v1/members/" + ownerUser, h.owner, `{"role":"viewer"}`, 409},
		{"remove last owner", "DELETE", "/api/v1/members/" + ownerUser, h.owner, "", 409},
		{"unknown member", "DELETE", "/api/v1/members/usr_nope", h.owner, "", 404},
		{"audit limit", "GET", "/api/v1/audit?limit=0", h.owner, "", 400},
		{"audit since", "GET", "/api/v1/audit?since=yesterday", h.owner, "", 400},
		{"unknown route", "GET", "/api/v1/nope", h.owner, "", 404},
		{"wrong method", "DELETE", "/api/v1/org", h.owner, "", 404},
		{"no token", "GET", "/api/v1/groups", "", "", 401},
		{"inference key on admin API", "GET", "/api/v1/groups", keySecret, "", 401},
		{"forged admin token", "GET", "/api/v1/groups", "tgadm-" + keySecret[5:], "", 401},
		{"viewer revokes", "POST", "/api/v1/keys/" + keyID + "/revoke", viewer, "", 403},
		{"viewer rotates", "POST", "/api/v1/keys/" + keyID + "/rotate", viewer, "", 403},
		{"viewer creates group", "POST", "/api/v1/groups", viewer, `{"name":"v"}`, 403},
		{"viewer creates key", "POST", "/api/v1/groups/" + grp + "/keys", viewer, `{"name":"v"}`, 403},
		{"viewer mints token", "POST", "/api/v1/admin-tokens", viewer, `{"name":"v","role":"viewer"}`, 403},
		{"viewer reads audit", "GET", "/api/v1/audit", viewer, "", 403},
		{"viewer renames org", "PATCH", "/api/v1/org", viewer, `{"name":"v"}`, 403},
		{"admin mints owner token", "POST", "/api/v1/admin-tokens", admin, `{"name":"o","role":"owner"}`, 403},
		{"admin demotes owner", "PATCH", "/api/v1/members/" + ownerUser, admin, `{"role":"viewer"}`, 403},
		{"generate without key", "POST", "/generate_auth_token", "", `{}`, 401},
		{"generate with admin token", "POST", "/generate_auth_token", h.owner, `{}`, 401},
		{"generate name wrong type", "POST", "/generate_auth_token", keySecret, `{"token_name":5}`, 400},
		{"generate malformed", "POST", "/generate_auth_token", keySecret, `{"token_name":`, 400},
		{"generate oversized", "POST", "/generate_auth_token", keySecret, big, 413},
		{"revoke token missing", "POST", "/revoke_auth_token", keySecret, `{}`, 400},
		{"revoke token garbage", "POST", "/revoke_auth_token", keySecret, `{"auth_token":"pplx-garbage"}`, 400},
		{"revoke other org's token", "POST", "/revoke_auth_token", keySecret, `{"auth_token":"` + otherSecret + `"}`, 404},
		{"revoke token wrong type", "POST", "/revoke_auth_token", keySecret, `{"auth_token":["x"]}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body := h.do(tt.method, tt.path, tt.token, tt.body)
			if got != tt.want {
				t.Fatalf("%s %s = %d %v, want %d", tt.method, tt.path, got, body, tt.want)
			}
			errorOf(t, got, body)
		})
	}
	// Viewer reads still work: the 403s above are about actions, not access.
	h.must(200, "GET", "/api/v1/groups", viewer, "")
	h.must(200, "GET", "/api/v1/keys/"+keyID, viewer, "")

	if after := snapshot(); after != before {
		t.Errorf("rejected requests changed state:\nbefore %s\nafter  %s", before, after)
	}
	// The other organization's key still works.
	h.must(200, "GET", "/v1/key", otherSecret, "")
}

func TestInferenceKeyErrorsAreDistinct(t *testing.T) {
	h := newAPIHarness(t, "sqlite")
	grp := h.group("app")
	revokedID, revoked := h.key(grp, "revoked")
	h.must(200, "POST", "/api/v1/keys/"+revokedID+"/revoke", h.owner, "")
	exp := h.must(201, "POST", "/api/v1/groups/"+grp+"/keys", h.owner, `{"name":"short","expires_in_seconds":60}`)["key"].(string)
	h.must(200, "GET", "/v1/key", exp, "")
	h.clock.Advance(2 * time.Minute)
	_, live := h.key(grp, "live")
	unknown, err := keys.Generate(keys.DefaultKeyPrefix) // well-formed, never issued
	if err != nil {
		t.Fatal(err)
	}

	bad := []byte(live)
	if bad[8] == 'a' {
		bad[8] = 'b'
	} else {
		bad[8] = 'a'
	}
	tests := []struct {
		name, header string
	}{
		{"missing", ""},
		{"malformed header", "Token abc"},
		{"malformed key", "Bearer pplx-short"},
		{"checksum", "Bearer " + string(bad)},
		{"revoked", "Bearer " + revoked},
		{"expired", "Bearer " + exp},
		{"unknown", "Bearer " + unknown},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", h.url+"/v1/key", nil)
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("%s: status %d, want 401", tt.name, resp.StatusCode)
		}
		msg := errorOf(t, 401, body)
		if prev, dup := seen[msg]; dup {
			t.Errorf("%s and %s share the message %q", prev, tt.name, msg)
		}
		seen[msg] = tt.name
	}
	h.must(200, "GET", "/v1/key", live, "")
}

func TestPerplexityKeyEndpoints(t *testing.T) {
	h := newAPIHarness(t, "sqlite")
	grp := h.group("app")
	_, first := h.key(grp, "first")

	out := h.must(200, "POST", "/generate_auth_token", first, `{"token_name":"Production API Key"}`)
	minted, _ := out["auth_token"].(string)
	if err := keys.Parse(minted, keys.DefaultKeyPrefix); err != nil {
		t.Fatalf("auth_token %q is not a valid key: %v", minted, err)
	}
	if out["token_name"] != "Production API Key" || out["created_at_epoch_seconds"] != float64(h.clock.Now().Unix()) {
		t.Fatalf("generate_auth_token = %v", out)
	}
	// The body is optional; the name then defaults to something readable.
	unnamed := h.must(200, "POST", "/generate_auth_token", first, "")
	if name, _ := unnamed["token_name"].(string); name == "" {
		t.Fatalf("generated key has no name: %v", unnamed)
	}
	// The new key lives in the caller's group and works at once.
	if got := h.must(200, "GET", "/v1/key", minted, "")["group_id"]; got != grp {
		t.Fatalf("minted key in group %v, want %s", got, grp)
	}
	// Perplexity's rotation recipe: revoke the old key using the new one.
	h.must(200, "POST", "/revoke_auth_token", minted, `{"auth_token":"`+first+`"}`)
	errorOf(t, 401, h.must(401, "GET", "/v1/key", first, ""))
	h.must(200, "GET", "/v1/key", minted, "")

	// Both actions are in the audit log, attributed to the calling key.
	evs := h.must(200, "GET", "/api/v1/audit?action=key.", h.owner, "")["data"].([]any)
	var actions []string
	for _, e := range evs {
		ev := e.(map[string]any)
		actions = append(actions, ev["action"].(string)+"/"+ev["actor"].(map[string]any)["type"].(string))
	}
	if want := "key.revoked/api_key"; actions[0] != want {
		t.Fatalf("latest key events %v, want %s first", actions, want)
	}
}

func TestModelsWithoutAuth(t *testing.T) {
	h := newAPIHarness(t, "sqlite")
	for _, p := range []string{"/models", "/v1/models", "//v1//models"} {
		out := h.must(200, "GET", p, "", "")
		data, _ := out["data"].([]any)
		if out["object"] != "list" || len(data) == 0 {
			t.Fatalf("GET %s = %v", p, out)
		}
		m := data[0].(map[string]any)
		if m["object"] != "model" || m["id"] != "sonar" || m["owned_by"] == nil || m["created"] == nil {
			t.Fatalf("model entry %v lacks OpenAI fields", m)
		}
	}
	errorOf(t, 404, h.must(404, "GET", "/v1/models/gpt-9", "", ""))
	h.must(200, "GET", "/v1/models/sonar-pro", "", "")
}

func TestConcurrentCreationsAndRequests(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		h := newAPIHarness(t, backend)
		grp := h.group("load")

		// 100 concurrent key creations.
		const creations = 100
		secrets := make([]string, creations)
		ids := make([]string, creations)
		var wg sync.WaitGroup
		fail := make(chan string, creations)
		for i := range creations {
			wg.Go(func() {
				code, out := h.do("POST", "/api/v1/groups/"+grp+"/keys", h.owner, fmt.Sprintf(`{"name":"k%d"}`, i))
				if code != 201 {
					fail <- fmt.Sprintf("create %d: %d %v", i, code, out)
					return
				}
				ids[i], secrets[i] = out["id"].(string), out["key"].(string)
			})
		}
		wg.Wait()
		close(fail)
		for f := range fail {
			t.Fatal(f)
		}
		distinct := map[string]bool{}
		for _, s := range secrets {
			distinct[s] = true
		}
		if len(distinct) != creations {
			t.Fatalf("%d distinct secrets, want %d", len(distinct), creations)
		}
		listed := h.must(200, "GET", "/api/v1/groups/"+grp+"/keys", h.owner, "")["data"].([]any)
		if len(listed) != creations {
			t.Fatalf("group lists %d keys, want %d", len(listed), creations)
		}

		// 10,000 concurrent authenticated requests over those keys.
		const requests = 10_000
		h.clock.Advance(time.Minute)
		usedAt := h.clock.Now()
		bad := make(chan string, requests)
		for i := range requests {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", h.url+"/v1/key", nil)
				req.Header.Set("Authorization", "Bearer "+secrets[i%creations])
				resp, err := h.client.Do(req)
				if err != nil {
					bad <- err.Error()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad <- fmt.Sprintf("request %d: status %d", i, resp.StatusCode)
				}
			})
		}
		wg.Wait()
		close(bad)
		for b := range bad {
			t.Fatal(b)
		}
		if err := h.app.keyAuth.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			k := h.must(200, "GET", "/api/v1/keys/"+id, h.owner, "")
			if got := k["last_used_at"]; got != usedAt.Format(time.RFC3339) {
				t.Fatalf("key %s last_used_at = %v, want %s", id, got, usedAt.Format(time.RFC3339))
			}
		}
		if n := h.app.keyAuth.StoreLookups(); n > 4*creations {
			t.Errorf("%d store lookups for %d keys and %d requests: the cache is not working", n, creations, requests)
		}
	})
}

func TestNoPlaintextInSQLiteFileViaAPI(t *testing.T) {
	h := newAPIHarness(t, "sqlite")
	grp := h.group("secrets")
	var secrets []string
	for i := range 5 {
		_, s := h.key(grp, fmt.Sprintf("k%d", i))
		secrets = append(secrets, s)
	}
	rot := h.must(201, "POST", "/api/v1/keys/"+h.must(200, "GET", "/api/v1/keys?group_id="+grp, h.owner, "")["data"].([]any)[0].(map[string]any)["id"].(string)+"/rotate", h.owner, "")
	secrets = append(secrets, rot["key"].(string), h.owner, h.token("viewer"))
	gen := h.must(200, "POST", "/generate_auth_token", secrets[0], "")
	secrets = append(secrets, gen["auth_token"].(string))
	h.st.Close() // flush the WAL into the files we read
	var files [][]byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if b, err := os.ReadFile(h.dbPath + suffix); err == nil {
			files = append(files, b)
		}
	}
	if len(files) == 0 {
		t.Fatal("no database file to scan")
	}
	for _, s := range secrets {
		body := s[strings.IndexAny(s, "-_")+1 : len(s)-keys.ChecksumLen]
		for _, f := range files {
			if bytes.Contains(f, []byte(s)) || bytes.Contains(f, []byte(body)) {
				t.Fatalf("the database file holds a secret (%s…)", s[:8])
			}
		}
	}
}
