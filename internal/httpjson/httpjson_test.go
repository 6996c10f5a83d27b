package httpjson

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

type body struct {
	Name  string     `json:"name"`
	Count int        `json:"count"`
	At    *time.Time `json:"at"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		opts     DecodeOptions
		kind     platform.Kind // "" = success
		param    string
	}{
		{"ok", `{"name":"a","count":2}`, DecodeOptions{}, "", ""},
		{"unknown field lenient", `{"name":"a","extra":1}`, DecodeOptions{}, "", ""},
		{"unknown field strict", `{"name":"a","extra":1}`, DecodeOptions{Strict: true}, platform.KindInvalid, "extra"},
		{"syntax", `{"name":`, DecodeOptions{}, platform.KindInvalid, ""},
		{"garbage", `hello`, DecodeOptions{}, platform.KindInvalid, ""},
		{"wrong type", `{"count":"two"}`, DecodeOptions{}, platform.KindInvalid, "count"},
		{"array", `[1]`, DecodeOptions{}, platform.KindInvalid, ""},
		{"trailing", `{} {}`, DecodeOptions{}, platform.KindInvalid, ""},
		{"bad time", `{"at":"tomorrow"}`, DecodeOptions{}, platform.KindInvalid, ""},
		{"empty refused", ``, DecodeOptions{}, platform.KindInvalid, ""},
		{"empty allowed", `  `, DecodeOptions{AllowEmpty: true}, "", ""},
		{"too large", `{"name":"` + strings.Repeat("x", 2000) + `"}`, DecodeOptions{MaxBytes: 1024}, platform.KindTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
			var v body
			err := Decode(httptest.NewRecorder(), r, &v, tt.opts)
			if tt.kind == "" {
				if err != nil {
					t.Fatalf("Decode = %v, want nil", err)
				}
				return
			}
			if got := platform.ErrorKind(err); got != tt.kind {
				t.Fatalf("Decode = %v (kind %s), want kind %s", err, got, tt.kind)
			}
			if got := platform.ErrorParam(err); got != tt.param {
				t.Fatalf("param = %q, want %q", got, tt.param)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err    error
		status int
		typ    string
		leaks  string
	}{
		{platform.Invalid("name", "bad name"), 400, "invalid_request_error", ""},
		{platform.Errorf(platform.KindUnauthenticated, "no"), 401, "authentication_error", ""},
		{platform.Errorf(platform.KindForbidden, "no"), 403, "permission_error", ""},
		{platform.ErrNotFound, 404, "not_found_error", ""},
		{platform.ErrConflict, 409, "conflict_error", ""},
		{platform.Errorf(platform.KindTooLarge, "big"), 413, "invalid_request_error", ""},
		{platform.Errorf(platform.KindRateLimited, "slow down"), 429, "rate_limit_error", ""},
		{platform.Errorf(platform.KindPaymentRequired, "pay"), 402, "insufficient_quota", ""},
		{errors.New("pq: password authentication failed for user secret"), 500, "api_error", "secret"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		Error(w, r, slog.New(slog.DiscardHandler), tt.err)
		if w.Code != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, w.Code, tt.status)
		}
		var got struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    int    `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%v: body %q is not JSON", tt.err, w.Body.String())
		}
		if got.Error.Type != tt.typ || got.Error.Code != tt.status || got.Error.Message == "" {
			t.Errorf("%v: body %+v", tt.err, got.Error)
		}
		if tt.leaks != "" && strings.Contains(w.Body.String(), tt.leaks) {
			t.Errorf("internal error detail reached the client: %s", w.Body.String())
		}
		if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
}

func TestEncodeSetsHeadersBeforeBody(t *testing.T) {
	w := httptest.NewRecorder()
	Encode(w, http.StatusCreated, map[string]int{"a": 1})
	if w.Code != 201 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != "{\"a\":1}\n" {
		t.Fatalf("Encode wrote %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}
