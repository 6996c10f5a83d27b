package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/web"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

func TestTavilyRequest(t *testing.T) {
	tests := []struct {
		name string
		q    search.Query
		want map[string]any // JSON body fields; nil means absent
	}{
		{"plain", search.Query{Text: "borrow checker"}, map[string]any{
			"query": "borrow checker", "search_depth": "basic", "topic": "general", "max_results": nil,
			"include_domains": nil, "exclude_domains": nil, "time_range": nil, "start_date": nil,
			"end_date": nil, "country": nil}},
		{"max results capped at 20", search.Query{Text: "x", Max: 40}, map[string]any{"max_results": 20.0}},
		{"domains", search.Query{Text: "x", Filters: search.Filters{Domains: []string{"example.org", "rust-lang.org"}}},
			map[string]any{"include_domains": []any{"example.org", "rust-lang.org"}, "exclude_domains": nil}},
		{"excluded domains", search.Query{Text: "x", Filters: search.Filters{ExcludeDomains: []string{"pinterest.com"}}},
			map[string]any{"exclude_domains": []any{"pinterest.com"}}},
		{"recency", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(0, 0, -7)}},
			map[string]any{"time_range": "week", "start_date": nil}},
		{"dates", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: date(2025, 1, 1), PublishedBefore: date(2025, 3, 1)}},
			map[string]any{"time_range": nil, "start_date": "2025-01-01", "end_date": "2025-03-01"}},
		{"country by name", search.Query{Text: "x", Country: "gb"}, map[string]any{"country": "united kingdom"}},
		{"unknown country not sent", search.Query{Text: "x", Country: "XX"}, map[string]any{"country": nil}},
		{"sec mode uses the finance topic", search.Query{Text: "x", Country: "US", Filters: search.Filters{Mode: "sec"}},
			map[string]any{"topic": "finance", "country": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webtest.NewTavily(t, "tvly-good")
			tv := web.NewTavily("tvly-good", web.WithBaseURL(fake.URL()), web.WithNow(clock))
			if _, err := tv.Search(context.Background(), tt.q); err != nil {
				t.Fatal(err)
			}
			r := fake.Requests()[0]
			if r.Method != http.MethodPost || r.Path != "/search" {
				t.Errorf("got %s %s, want POST /search", r.Method, r.Path)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer tvly-good" {
				t.Errorf("Authorization = %q", got)
			}
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("body %s: %v", r.Body, err)
			}
			if _, ok := body["api_key"]; ok {
				t.Error("the key was sent in the body too")
			}
			for k, want := range tt.want {
				if got := body[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

func TestTavilyResults(t *testing.T) {
	fake := webtest.NewTavily(t, "k")
	fake.SetDocs(docs...)
	tv := web.NewTavily("k", web.WithBaseURL(fake.URL()))
	got, err := tv.Search(context.Background(), search.Query{Text: "x", Filters: search.Filters{ExcludeDomains: []string{"example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].URL != docs[0].URL || got[1].URL != docs[2].URL {
		t.Fatalf("got %+v, want docs 0 and 2 (docs.example.com excluded by Tavily)", got)
	}
	if got[0].Source != "tavily" || got[0].Snippet != docs[0].Content || got[0].Score <= 0 {
		t.Errorf("got %+v", got[0])
	}
	if got[0].Date == nil || !got[0].Date.Equal(docs[0].Published) {
		t.Errorf("Date = %v, want %v (from published_date)", got[0].Date, docs[0].Published)
	}
}

func TestTavilyErrors(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		fail     int
		q        string
		want     error
		contains string
	}{
		{"bad key", "tvly-bad", 0, "x", web.ErrBadKey, "Tavily API key"},
		{"missing key", "", 0, "x", web.ErrBadKey, "HTTP 401"},
		{"plan limit", "tvly-good", 432, "x", web.ErrQuotaExceeded, "upgrade the plan"},
		{"pay-as-you-go limit", "tvly-good", 433, "x", web.ErrQuotaExceeded, "pay-as-you-go spending limit"},
		{"forbidden", "tvly-good", 403, "x", web.ErrForbidden, "HTTP 403"},
		{"server error", "tvly-good", 500, "x", web.ErrUnavailable, "try again later"},
		{"bad request", "tvly-good", 0, "", web.ErrBadRequest, "Query is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webtest.NewTavily(t, "tvly-good")
			fake.Fail(tt.fail)
			_, err := web.NewTavily(tt.key, web.WithBaseURL(fake.URL())).Search(context.Background(), search.Query{Text: tt.q})
			checkErr(t, err, tt.want, "tavily", tt.contains)
		})
	}
}

func TestTavilyRateLimited(t *testing.T) {
	fake := webtest.NewTavily(t, "k")
	fake.LimitAfter(0, 7*time.Second)
	_, err := web.NewTavily("k", web.WithBaseURL(fake.URL())).Search(context.Background(), search.Query{Text: "x"})
	checkErr(t, err, web.ErrRateLimited, "tavily", "excessive requests")
	var we *web.Error
	if errors.As(err, &we); we.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %v, want 7s", we.RetryAfter)
	}
}
