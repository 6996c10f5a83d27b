package client

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// seen is one request the billing fake saw, with its query and headers.
type seen struct {
	method, uri, body string
	header            http.Header
}

// answering returns a server that answers every request with status,
// content type and body, and the requests it saw.
func answering(t *testing.T, status int, contentType, body string) (*Client, *[]seen) {
	t.Helper()
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, seen{r.Method, r.URL.RequestURI(), string(b), r.Header.Clone()})
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL, "tgadm-x", nil), &got
}

func TestPostSendsMicrosAndIdempotencyKey(t *testing.T) {
	tests := []struct {
		kind, path string
	}{
		{KindTopUp, "/api/v1/billing/topups"}, {KindGrant, "/api/v1/billing/grants"},
		{KindRefund, "/api/v1/billing/refunds"}, {KindAdjustment, "/api/v1/billing/adjustments"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			c, got := answering(t, 201, "application/json", `{"id":"ltx_1","kind":"`+tt.kind+`","amount_micros":-1250000}`)
			tx, err := c.Post(t.Context(), tt.kind, PostRequest{AmountMicros: -1_250_000, Memo: "fix", IdempotencyKey: "k-1"})
			if err != nil {
				t.Fatal(err)
			}
			if tx.ID != "ltx_1" || tx.AmountMicros != -1_250_000 {
				t.Errorf("transaction = %+v", tx)
			}
			r := (*got)[0]
			if r.method != "POST" || r.uri != tt.path || r.body != `{"amount_micros":-1250000,"memo":"fix"}` {
				t.Errorf("request = %s %s %s", r.method, r.uri, r.body)
			}
			if k := r.header.Get("Idempotency-Key"); k != "k-1" {
				t.Errorf("Idempotency-Key = %q", k)
			}
			if a := r.header.Get("Authorization"); a != "Bearer tgadm-x" {
				t.Errorf("Authorization = %q", a)
			}
		})
	}
	c, got := answering(t, 201, "application/json", `{}`)
	if _, err := c.Post(t.Context(), "gift", PostRequest{AmountMicros: 1}); err == nil || !strings.Contains(err.Error(), "topup") {
		t.Errorf("Post of an unknown kind: %v, want an error listing the kinds", err)
	}
	if _, err := c.Post(t.Context(), KindGrant, PostRequest{AmountMicros: 1}); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 || (*got)[0].header.Get("Idempotency-Key") != "" {
		t.Errorf("requests = %+v, want one grant without an Idempotency-Key", *got)
	}
}

func TestQueriesAndPaths(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		call func(c *Client) error
		want string
	}{
		{"usage", func(c *Client) error {
			_, err := c.Usage(t.Context(), UsageQuery{Group: "my app", Granularity: "hour", From: from, By: []string{"model", " ", "key"}})
			return err
		}, "/api/v1/usage?by=model%2Ckey&from=2026-11-01T00%3A00%3A00Z&granularity=hour&group=my+app"},
		{"usage defaults", func(c *Client) error { _, err := c.Usage(t.Context(), UsageQuery{}); return err }, "/api/v1/usage"},
		{"ledger", func(c *Client) error {
			_, err := c.Ledger(t.Context(), LedgerQuery{Kind: "usage", Before: "ltx_9", Limit: 20})
			return err
		}, "/api/v1/billing/ledger?before=ltx_9&kind=usage&limit=20"},
		{"statement", func(c *Client) error { _, err := c.Statement(t.Context(), "2026-11", "my-app"); return err },
			"/api/v1/billing/statements/2026-11?group=my-app"},
		{"cap", func(c *Client) error { _, err := c.SetCap(t.Context(), ScopeGroup, "my app", 1); return err },
			"/api/v1/billing/caps/group/my%20app"},
		{"limits", func(c *Client) error { _, err := c.Limits(t.Context(), ScopeKey, "key_1"); return err },
			"/api/v1/limits?scope=key&scope_id=key_1"},
		{"record", func(c *Client) error { _, err := c.UsageRecord(t.Context(), "req/1"); return err },
			"/api/v1/usage/records/req%2F1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, got := answering(t, 200, "application/json", `{"object":"list","data":[]}`)
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			if len(*got) != 1 || (*got)[0].uri != tt.want {
				t.Errorf("requests = %+v, want one to %s", *got, tt.want)
			}
		})
	}
}

func TestCSV(t *testing.T) {
	c, got := answering(t, 200, "text/csv; charset=utf-8", "start,cost_micros\n2026-11-01T00:00:00Z,5\n")
	b, err := c.UsageCSV(t.Context(), UsageQuery{Model: "sonar"})
	if err != nil || !strings.HasPrefix(string(b), "start,cost_micros\n") {
		t.Fatalf("UsageCSV = %q, %v", b, err)
	}
	if r := (*got)[0]; r.uri != "/api/v1/usage?format=csv&model=sonar" || r.header.Get("Accept") != "text/csv" {
		t.Errorf("request = %s, Accept %q", r.uri, r.header.Get("Accept"))
	}
	// A proxy's HTML page is not a statement.
	c, _ = answering(t, 200, "text/html", "<html>login</html>")
	if _, err := c.StatementCSV(t.Context(), "2026-11", ""); err == nil || !strings.Contains(err.Error(), "not CSV") {
		t.Errorf("StatementCSV of HTML: %v, want a not-CSV error", err)
	}
	// Errors come back as *APIError.
	c, _ = answering(t, 404, "application/json", `{"error":{"message":"no statement","type":"not_found_error","code":404}}`)
	_, err = c.StatementCSV(t.Context(), "nope", "")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "no statement" {
		t.Errorf("StatementCSV 404: %v", err)
	}
}
