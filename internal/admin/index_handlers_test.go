package admin

// Handler tests of the local index routes: a real index and a real store
// (for admin tokens of each role), served over loopback.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/indexing"
	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search/local"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

type indexServer struct {
	t      *testing.T
	url    string
	tokens map[platform.Role]string
}

func newIndexServer(t *testing.T, withIndex bool) *indexServer {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC() }
	gov := governance.New(st, governance.Config{RotationGrace: time.Hour}, nil, now)
	boot, err := gov.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s := &indexServer{t: t, tokens: map[platform.Role]string{platform.RoleOwner: boot.TokenSecret}}
	owner := platform.Principal{OrgID: boot.Org.ID, Role: platform.RoleOwner, Actor: platform.SystemActor("test")}
	for _, role := range []platform.Role{platform.RoleAdmin, platform.RoleMember, platform.RoleBilling, platform.RoleViewer} {
		_, secret, err := gov.CreateAdminToken(ctx, owner, string(role), role, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[role] = secret
	}

	var ix IndexService
	if withIndex {
		li, err := local.Open(filepath.Join(t.TempDir(), "index"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = li.Close() })
		ix = indexing.New(li, indexing.Options{Fetcher: fetch.New(fetch.Options{AllowPrivate: true})})
	}
	d := &Deps{Service: gov, Auth: auth.NewAdminAuthenticator(st, keys.DefaultAdminPrefix, keys.DefaultKeyPrefix, now),
		Log: slog.New(slog.DiscardHandler), Now: now, MaxBody: 1 << 20, Index: ix}
	mux := http.NewServeMux()
	Register(mux, d)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *indexServer) do(method, path string, role platform.Role, body string) reply {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return r
}

func TestIndexAPI(t *testing.T) {
	s := newIndexServer(t, true)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/okapi" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Okapi</title></head><body><main><p>The okapi is a forest giraffe.</p></main></body></html>`)
	}))
	t.Cleanup(page.Close)
	owner, admin := platform.RoleOwner, platform.RoleAdmin

	steps := []struct {
		name, method, path string
		role               platform.Role
		body               string
		status             int
		check              func(t *testing.T, r reply)
	}{
		{"add text", "POST", "/api/v1/index/documents", owner,
			`{"url":"https://notes.example/kiwi","title":"Kiwi","text":"The kiwi is a flightless bird.","published":"2025-01-02T00:00:00Z","language":"en"}`,
			http.StatusCreated, func(t *testing.T, r reply) {
				if r.str("status") != "added" || r.str("id") != local.DocID("https://notes.example/kiwi") || r.str("object") != "index_result" {
					t.Errorf("body %s", r.raw)
				}
			}},
		{"add same text", "POST", "/api/v1/index/documents", admin,
			`{"url":"https://notes.example/kiwi","title":"Kiwi","text":"The kiwi is a flightless bird.","published":"2025-01-02T00:00:00Z","language":"en"}`,
			http.StatusOK, func(t *testing.T, r reply) {
				if r.str("status") != "unchanged" {
					t.Errorf("body %s", r.raw)
				}
			}},
		{"add url", "POST", "/api/v1/index/documents", owner, `{"url":"` + page.URL + `/okapi"}`,
			http.StatusCreated, func(t *testing.T, r reply) {
				if r.str("status") != "added" || r.str("title") != "Okapi" {
					t.Errorf("body %s", r.raw)
				}
			}},
		{"add url that 404s", "POST", "/api/v1/index/documents", owner, `{"url":"` + page.URL + `/gone"}`,
			http.StatusBadRequest, func(t *testing.T, r reply) {
				if r.param() != "url" || !strings.Contains(r.message(), "404") {
					t.Errorf("body %s", r.raw)
				}
			}},
		{"add without url", "POST", "/api/v1/index/documents", owner, `{"text":"x"}`, http.StatusBadRequest, nil},
		{"add title without text", "POST", "/api/v1/index/documents", owner, `{"url":"https://a.example/","title":"x"}`, http.StatusBadRequest, nil},
		{"add unknown field", "POST", "/api/v1/index/documents", owner, `{"url":"https://a.example/","txt":"x"}`, http.StatusBadRequest, nil},
		{"list", "GET", "/api/v1/index/documents", platform.RoleViewer, "", http.StatusOK, func(t *testing.T, r reply) {
			docs := r.list()
			if len(docs) != 2 || r.num("total") != 2 || r.body["has_more"] != false {
				t.Fatalf("body %s", r.raw)
			}
			kiwi := docs[1]
			if kiwi["title"] != "Kiwi" || kiwi["domain"] != "notes.example" || kiwi["language"] != "en" || kiwi["published"] != "2025-01-02T00:00:00Z" {
				t.Errorf("kiwi %v", kiwi)
			}
		}},
		{"list paged", "GET", "/api/v1/index/documents?limit=1", platform.RoleMember, "", http.StatusOK, func(t *testing.T, r reply) {
			if len(r.list()) != 1 || r.body["has_more"] != true || r.str("next_cursor") != "1" {
				t.Errorf("body %s", r.raw)
			}
		}},
		{"list page 2", "GET", "/api/v1/index/documents?limit=1&cursor=1", platform.RoleMember, "", http.StatusOK, func(t *testing.T, r reply) {
			if len(r.list()) != 1 || r.body["has_more"] != false {
				t.Errorf("body %s", r.raw)
			}
		}},
		{"list bad limit", "GET", "/api/v1/index/documents?limit=0", owner, "", http.StatusBadRequest, nil},
		{"stats", "GET", "/api/v1/index/stats", platform.RoleBilling, "", http.StatusOK, func(t *testing.T, r reply) {
			if r.num("documents") != 2 || r.num("passages") < 2 || r.num("disk_bytes") <= 0 {
				t.Errorf("body %s", r.raw)
			}
		}},
		{"search", "GET", "/api/v1/index/search?q=forest+giraffe", platform.RoleViewer, "", http.StatusOK, func(t *testing.T, r reply) {
			hits := r.list()
			if len(hits) != 1 || hits[0]["title"] != "Okapi" || !strings.Contains(hits[0]["snippet"].(string), "forest giraffe") {
				t.Errorf("body %s", r.raw)
			}
		}},
		{"search without q", "GET", "/api/v1/index/search", owner, "", http.StatusBadRequest, nil},
		{"delete by id", "DELETE", "/api/v1/index/documents/" + local.DocID("https://notes.example/kiwi"), admin, "", http.StatusNoContent, nil},
		{"delete again", "DELETE", "/api/v1/index/documents/" + local.DocID("https://notes.example/kiwi"), admin, "", http.StatusNotFound, nil},
		{"stats after delete", "GET", "/api/v1/index/stats", owner, "", http.StatusOK, func(t *testing.T, r reply) {
			if r.num("documents") != 1 {
				t.Errorf("body %s", r.raw)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := s.do(st.method, st.path, st.role, st.body)
			if r.status != st.status {
				t.Fatalf("status %d, want %d: %s", r.status, st.status, r.raw)
			}
			if st.check != nil {
				st.check(t, r)
			}
		})
	}
}

func TestIndexAPIRoles(t *testing.T) {
	s := newIndexServer(t, true)
	add := `{"url":"https://notes.example/x","text":"hello"}`
	id := local.DocID("https://notes.example/none")
	tests := []struct {
		role                 platform.Role
		read, write, deleted int
	}{
		{platform.RoleOwner, 200, 201, 404},
		{platform.RoleAdmin, 200, 200, 404},
		{platform.RoleMember, 200, 403, 403},
		{platform.RoleBilling, 200, 403, 403},
		{platform.RoleViewer, 200, 403, 403},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			for _, path := range []string{"/api/v1/index/documents", "/api/v1/index/stats", "/api/v1/index/search?q=hello"} {
				if r := s.do("GET", path, tt.role, ""); r.status != tt.read {
					t.Errorf("GET %s: %d, want %d: %s", path, r.status, tt.read, r.raw)
				}
			}
			if r := s.do("POST", "/api/v1/index/documents", tt.role, add); r.status != tt.write {
				t.Errorf("POST: %d, want %d: %s", r.status, tt.write, r.raw)
			}
			if r := s.do("DELETE", "/api/v1/index/documents/"+id, tt.role, ""); r.status != tt.deleted {
				t.Errorf("DELETE: %d, want %d: %s", r.status, tt.deleted, r.raw)
			}
		})
	}

	t.Run("no token", func(t *testing.T) {
		s2 := *s
		s2.tokens = map[platform.Role]string{}
		if r := s2.do("GET", "/api/v1/index/stats", platform.RoleOwner, ""); r.status != http.StatusUnauthorized {
			t.Errorf("status %d: %s", r.status, r.raw)
		}
	})
	t.Run("index disabled", func(t *testing.T) {
		off := newIndexServer(t, false)
		if r := off.do("GET", "/api/v1/index/stats", platform.RoleOwner, ""); r.status != http.StatusServiceUnavailable {
			t.Errorf("status %d: %s", r.status, r.raw)
		}
		if r := off.do("POST", "/api/v1/index/documents", platform.RoleViewer, add); r.status != http.StatusForbidden {
			t.Errorf("viewer on a disabled index: %d, want 403 first: %s", r.status, r.raw)
		}
	})
}
