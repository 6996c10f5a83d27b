package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// recorded is one request a fake server saw.
type recorded struct {
	method, path, auth, contentType, body string
}

// fakeServer answers every request with status, content type and body, and
// records what it was sent.
func fakeServer(t *testing.T, status int, contentType, body string) (*httptest.Server, *[]recorded) {
	t.Helper()
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestBaseURLJoin(t *testing.T) {
	srv, got := fakeServer(t, http.StatusOK, "application/json", `{"id":"org_1","object":"organization","name":"Acme"}`)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, base, wantPath string
	}{
		{"plain", srv.URL, "/api/v1/org"},
		{"trailing slash", srv.URL + "/", "/api/v1/org"},
		{"prefix", srv.URL + "/tollgate", "/tollgate/api/v1/org"},
		{"prefix and slashes", srv.URL + "/tollgate//", "/tollgate/api/v1/org"},
		{"api suffix", srv.URL + "/tollgate/api/v1/", "/tollgate/api/v1/org"},
		{"no scheme", host, "/api/v1/org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*got = nil
			o, err := New(tt.base, "tgadm-x", nil).Org(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if o.Name != "Acme" {
				t.Errorf("org name = %q, want Acme", o.Name)
			}
			if len(*got) != 1 || (*got)[0].path != tt.wantPath {
				t.Fatalf("requests = %+v, want one to %s", *got, tt.wantPath)
			}
			if a := (*got)[0].auth; a != "Bearer tgadm-x" {
				t.Errorf("Authorization = %q, want Bearer tgadm-x", a)
			}
		})
	}
}

func TestInvalidBaseURL(t *testing.T) {
	for _, base := range []string{"", "ftp://host", "http://", "http://h/?q=1"} {
		t.Run(base, func(t *testing.T) {
			_, err := New(base, "t", nil).ListGroups(t.Context())
			if err == nil || !strings.Contains(err.Error(), "URL") {
				t.Errorf("ListGroups with base %q: err = %v, want an invalid-URL error", base, err)
			}
		})
	}
}

func TestDefaultHTTPClient(t *testing.T) {
	c := New("http://127.0.0.1:1", "t", nil)
	if c.hc.Timeout != 30*time.Second {
		t.Errorf("default timeout = %v, want 30s", c.hc.Timeout)
	}
	hc := &http.Client{}
	if New("http://x", "t", hc).hc != hc {
		t.Error("New ignored the given *http.Client")
	}
}

func TestAPIError(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		want                    APIError
		wantIn                  []string // substrings of Error() for non-Tollgate bodies
	}{
		{
			name: "tollgate error", status: 400, contentType: "application/json",
			body: `{"error":{"message":"name must not be empty","type":"invalid_request_error","code":400,"param":"name"}}`,
			want: APIError{Status: 400, Type: "invalid_request_error", Message: "name must not be empty", Param: "name"},
		},
		{
			name: "forbidden", status: 403, contentType: "application/json; charset=utf-8",
			body: `{"error":{"message":"your role \"viewer\" does not allow key.manage","type":"permission_error","code":403}}`,
			want: APIError{Status: 403, Type: "permission_error", Message: `your role "viewer" does not allow key.manage`},
		},
		{
			name: "proxy html", status: 502, contentType: "text/html",
			body:   "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
			want:   APIError{Status: 502},
			wantIn: []string{"HTTP 502 Bad Gateway", "GET", "/api/v1/groups", "not a Tollgate API response", "<title>502 Bad Gateway</title>"},
		},
		{
			name: "other json", status: 500, contentType: "application/json", body: `{"message":"boom"}`,
			want: APIError{Status: 500}, wantIn: []string{"HTTP 500", `{\"message\":\"boom\"}`},
		},
		{
			name: "empty body", status: 503, want: APIError{Status: 503}, wantIn: []string{"HTTP 503", "(empty body)"},
		},
		{
			name: "redirect", status: 301, contentType: "text/html", body: "moved",
			want: APIError{Status: 301}, wantIn: []string{"redirects to https://elsewhere.example/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.status == 301 {
					w.Header().Set("Location", "https://elsewhere.example/")
				}
				w.Header().Set("X-Request-ID", "req_1")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := New(srv.URL, "t", nil).ListGroups(t.Context())
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Status != tt.want.Status || ae.Type != tt.want.Type || ae.Param != tt.want.Param {
				t.Errorf("got %+v, want %+v", *ae, tt.want)
			}
			if tt.want.Message != "" && err.Error() != tt.want.Message {
				t.Errorf("Error() = %q, want the server's message %q", err.Error(), tt.want.Message)
			}
			if ae.RequestID != "req_1" {
				t.Errorf("RequestID = %q, want the X-Request-ID header req_1", ae.RequestID)
			}
			if ae.FromTollgate() != (tt.want.Type != "") {
				t.Errorf("FromTollgate() = %v, want %v", ae.FromTollgate(), tt.want.Type != "")
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Error() = %q, want it to contain %q", err.Error(), s)
				}
			}
		})
	}
}

func TestNonJSONSuccess(t *testing.T) {
	srv, _ := fakeServer(t, http.StatusOK, "text/html", "<html>welcome to nginx</html>")
	_, err := New(srv.URL, "t", nil).ListKeys(t.Context(), "")
	if err == nil || !strings.Contains(err.Error(), "not JSON") || !strings.Contains(err.Error(), "welcome to nginx") {
		t.Errorf("err = %v, want a not-JSON error quoting the body", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	_, err = New(addr, "t", nil).ListGroups(t.Context())
	if err == nil {
		t.Fatal("ListGroups against a closed port succeeded")
	}
	for _, s := range []string{"cannot reach Tollgate at " + addr, "tollgate serve", "TOLLGATE_URL"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err = %q, want it to contain %q", err, s)
		}
	}
}

func TestContextCanceled(t *testing.T) {
	srv, _ := fakeServer(t, http.StatusOK, "application/json", `{}`)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(srv.URL, "t", nil).Org(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestRequestBodies(t *testing.T) {
	zero, week := int64(0), int64(7*24*3600)
	name, disabled := "renamed", GroupDisabled
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name             string
		call             func(c *Client) error
		method, path, bd string
	}{
		{"create group", func(c *Client) error { _, err := c.CreateGroup(t.Context(), "app", "d"); return err },
			"POST", "/api/v1/groups", `{"name":"app","description":"d"}`},
		{"update group name", func(c *Client) error {
			_, err := c.UpdateGroup(t.Context(), "grp_1", GroupUpdate{Name: &name})
			return err
		}, "PATCH", "/api/v1/groups/grp_1", `{"name":"renamed"}`},
		{"disable group", func(c *Client) error {
			_, err := c.UpdateGroup(t.Context(), "grp_1", GroupUpdate{Status: &disabled})
			return err
		}, "PATCH", "/api/v1/groups/grp_1", `{"status":"disabled"}`},
		{"delete group", func(c *Client) error { return c.DeleteGroup(t.Context(), "grp_1") },
			"DELETE", "/api/v1/groups/grp_1", ``},
		{"list all keys", func(c *Client) error { _, err := c.ListKeys(t.Context(), ""); return err },
			"GET", "/api/v1/keys", ``},
		{"list group keys", func(c *Client) error { _, err := c.ListKeys(t.Context(), "grp_1"); return err },
			"GET", "/api/v1/groups/grp_1/keys", ``},
		{"create key expires in", func(c *Client) error {
			_, err := c.CreateKey(t.Context(), "grp_1", NewKey{Name: "ci", ExpiresInSeconds: &week})
			return err
		}, "POST", "/api/v1/groups/grp_1/keys", `{"name":"ci","expires_in_seconds":604800}`},
		{"create key expires at", func(c *Client) error {
			_, err := c.CreateKey(t.Context(), "grp_1", NewKey{Name: "ci", ExpiresAt: &exp})
			return err
		}, "POST", "/api/v1/groups/grp_1/keys", `{"name":"ci","expires_at":"2030-01-02T03:04:05Z"}`},
		{"rename key", func(c *Client) error { _, err := c.RenameKey(t.Context(), "key_1", "new"); return err },
			"PATCH", "/api/v1/keys/key_1", `{"name":"new"}`},
		{"revoke key", func(c *Client) error { _, err := c.RevokeKey(t.Context(), "key_1"); return err },
			"POST", "/api/v1/keys/key_1/revoke", ``},
		{"rotate default grace", func(c *Client) error { _, err := c.RotateKey(t.Context(), "key_1", nil); return err },
			"POST", "/api/v1/keys/key_1/rotate", ``},
		{"rotate no grace", func(c *Client) error { _, err := c.RotateKey(t.Context(), "key_1", &zero); return err },
			"POST", "/api/v1/keys/key_1/rotate", `{"grace_period_seconds":0}`},
		{"escaped id", func(c *Client) error { _, err := c.GetKey(t.Context(), "a/b c"); return err },
			"GET", "/api/v1/keys/a/b c", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := fakeServer(t, http.StatusOK, "application/json", `{"object":"list","data":[]}`)
			if err := tt.call(New(srv.URL, "t", nil)); err != nil {
				t.Fatal(err)
			}
			if len(*got) != 1 {
				t.Fatalf("%d requests, want 1", len(*got))
			}
			r := (*got)[0]
			if r.method != tt.method || r.path != tt.path || r.body != tt.bd {
				t.Errorf("got %s %s %s, want %s %s %s", r.method, r.path, r.body, tt.method, tt.path, tt.bd)
			}
			if wantCT := tt.bd != ""; (r.contentType == "application/json") != wantCT {
				t.Errorf("Content-Type = %q with body %q", r.contentType, r.body)
			}
		})
	}
}

func TestEscapedIDStaysOneSegment(t *testing.T) {
	var raw string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw = r.URL.EscapedPath()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	if _, err := New(srv.URL, "t", nil).GetKey(t.Context(), "a/b"); err != nil {
		t.Fatal(err)
	}
	if raw != "/api/v1/keys/a%2Fb" {
		t.Errorf("escaped path = %q, want /api/v1/keys/a%%2Fb", raw)
	}
}

func TestRotationDecode(t *testing.T) {
	body := `{"id":"key_new","object":"api_key","name":"ci","group_id":"grp_1","hint":"pplx-…abcd","status":"active",
		"created_by":"tok_1","created_at":"2026-01-02T03:04:05Z","rotated_from":"key_old","key":"pplx-secret",
		"previous":{"id":"key_old","object":"api_key","name":"ci","group_id":"grp_1","hint":"pplx-…wxyz",
		"status":"rotating","created_by":"tok_1","created_at":"2025-01-02T03:04:05Z",
		"expires_at":"2026-01-03T03:04:05Z","rotated_to":"key_new"}}`
	srv, _ := fakeServer(t, http.StatusCreated, "application/json", body)
	r, err := New(srv.URL, "t", nil).RotateKey(t.Context(), "key_old", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "key_new" || r.Secret != "pplx-secret" || r.RotatedFrom != "key_old" {
		t.Errorf("new key = %+v", r.Key)
	}
	if r.Previous.ID != "key_old" || r.Previous.Status != KeyRotating || r.Previous.Secret != "" ||
		r.Previous.ExpiresAt == nil || !r.Previous.ExpiresAt.Equal(time.Date(2026, 1, 3, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("previous = %+v", r.Previous)
	}
	// Marshalling gives back the server's shape: the new key's fields at
	// the top level, the secret as "key", and "previous".
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["id"] != "key_new" || m["key"] != "pplx-secret" || m["previous"] == nil {
		t.Errorf("marshalled rotation = %s", b)
	}
}
