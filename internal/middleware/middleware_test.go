package middleware

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/httpjson"
)

func echoPath() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.URL.Path)) })
}

func TestCleanPath(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		prefix, in, want string
		status           int
	}{
		{"", "/v1/models", "/v1/models", 200},
		{"", "//search", "/search", 200},
		{"", "/v1//chat///completions", "/v1/chat/completions", 200},
		{"/tollgate", "/tollgate/v1/models", "/v1/models", 200},
		{"/tollgate/", "/tollgate//v1/models", "/v1/models", 200},
		{"/tollgate", "/tollgate", "/", 200},
		{"/tollgate", "/v1/models", "", 404},
		{"/tollgate", "/tollgateway/v1", "", 404},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		CleanPath(tt.prefix, log)(echoPath()).ServeHTTP(w, httptest.NewRequest("GET", tt.in, nil))
		if w.Code != tt.status || (tt.status == 200 && w.Body.String() != tt.want) {
			t.Errorf("CleanPath(%q) %s = %d %q, want %d %q", tt.prefix, tt.in, w.Code, w.Body.String(), tt.status, tt.want)
		}
	}
}

func TestRecoverAnswersJSON(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), RequestID, Recover(log))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":500`) || strings.Contains(w.Body.String(), "boom") {
		t.Fatalf("panic answered %d %s", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), w.Header().Get("X-Request-ID")) {
		t.Fatalf("panic not logged with its request id: %s", logs.String())
	}
}

func TestRequestID(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = httpjson.RequestID(r.Context()) }))
	// The client's ID is echoed, never adopted: usage is recorded once per
	// request ID, so a chosen one could be replayed to go unbilled.
	tests := []struct{ sent, echo string }{
		{"abc-123", "abc-123"},
		{"", ""},
		{"bad id with spaces", ""},
		{strings.Repeat("a", 200), ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.sent != "" {
			r.Header.Set("X-Request-ID", tt.sent)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get("X-Request-ID")
		if got != seen || got == "" {
			t.Fatalf("header %q, context %q", got, seen)
		}
		if !strings.HasPrefix(got, "req_") || got == tt.sent {
			t.Errorf("sent %q, got %q; want a generated req_ id", tt.sent, got)
		}
		if echo := w.Header().Get("X-Client-Request-ID"); echo != tt.echo {
			t.Errorf("sent %q, echoed %q, want %q", tt.sent, echo, tt.echo)
		}
	}
}

func TestAccessLogNeverLogsCredentials(t *testing.T) {
	var logs bytes.Buffer
	h := AccessLog(slog.New(slog.NewTextHandler(&logs, nil)))(echoPath())
	r := httptest.NewRequest("POST", "/v1/key?x=1", strings.NewReader(`{"auth_token":"pplx-secretbody"}`))
	r.Header.Set("Authorization", "Bearer pplx-secretheader")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if strings.Contains(logs.String(), "secret") || !strings.Contains(logs.String(), "status=200") {
		t.Fatalf("access log: %s", logs.String())
	}
}

func TestClientIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.5:4321"
	// The client sent the first entry itself; the proxy appended the second.
	r.Header.Set("X-Forwarded-For", "198.51.100.9, 203.0.113.7")
	if got := ClientIP(r, false); got != "10.0.0.5" {
		t.Errorf("untrusted ClientIP = %s", got)
	}
	if got := ClientIP(r, true); got != "203.0.113.7" {
		t.Errorf("trusted ClientIP = %s, want the entry the proxy added", got)
	}
	// A proxy may add its own header line rather than extend the client's.
	r.Header.Set("X-Forwarded-For", "198.51.100.9")
	r.Header.Add("X-Forwarded-For", "203.0.113.8")
	if got := ClientIP(r, true); got != "203.0.113.8" {
		t.Errorf("trusted ClientIP with two header lines = %s", got)
	}
	r.Header.Set("X-Forwarded-For", "not-an-ip")
	if got := ClientIP(r, true); got != "10.0.0.5" {
		t.Errorf("garbage XFF ClientIP = %s", got)
	}
}
