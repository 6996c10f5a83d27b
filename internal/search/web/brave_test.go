package web_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/web"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

func TestBraveRequest(t *testing.T) {
	tests := []struct {
		name string
		q    search.Query
		want map[string]string // "" means absent
	}{
		{"plain", search.Query{Text: "borrow checker"}, map[string]string{
			"q": "borrow checker", "count": "", "country": "", "search_lang": "", "freshness": "",
			"text_decorations": "false"}},
		{"count", search.Query{Text: "x", Max: 7}, map[string]string{"count": "7"}},
		{"count capped at 20", search.Query{Text: "x", Max: 50}, map[string]string{"count": "20"}},
		{"country and language", search.Query{Text: "x", Country: "de", Filters: search.Filters{Languages: []string{"de"}}},
			map[string]string{"country": "DE", "search_lang": "de"}},
		{"past day", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.Add(-24 * time.Hour)}},
			map[string]string{"freshness": "pd"}},
		{"past week", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(0, 0, -7)}},
			map[string]string{"freshness": "pw"}},
		{"past month", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(0, -1, 0)}},
			map[string]string{"freshness": "pm"}},
		{"past year", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(-1, 0, 0)}},
			map[string]string{"freshness": "py"}},
		{"date range", search.Query{Text: "x", Filters: search.Filters{
			PublishedAfter: date(2025, 1, 1), PublishedBefore: date(2025, 6, 30)}},
			map[string]string{"freshness": "2025-01-01to2025-06-30"}},
		{"old lower bound runs to today", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: date(2020, 2, 3)}},
			map[string]string{"freshness": "2020-02-03to2026-03-10"}},
		{"upper bound alone left to Apply", search.Query{Text: "x", Filters: search.Filters{PublishedBefore: date(2020, 2, 3)}},
			map[string]string{"freshness": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webtest.NewBrave(t, "BSA-good")
			b := web.NewBrave("BSA-good", web.WithBaseURL(fake.URL()), web.WithNow(clock))
			if _, err := b.Search(context.Background(), tt.q); err != nil {
				t.Fatal(err)
			}
			r := fake.Requests()[0]
			if r.Method != http.MethodGet || r.Path != "/res/v1/web/search" {
				t.Errorf("got %s %s, want GET /res/v1/web/search", r.Method, r.Path)
			}
			for h, want := range map[string]string{"X-Subscription-Token": "BSA-good", "Accept": "application/json", "Accept-Encoding": "gzip"} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			for k, want := range tt.want {
				if got := r.Query.Get(k); got != want || (want == "" && r.Query.Has(k)) {
					t.Errorf("%s = %q (present %v), want %q", k, got, r.Query.Has(k), want)
				}
			}
		})
	}
}

func TestBraveResults(t *testing.T) {
	fake := webtest.NewBrave(t, "k")
	fake.SetDocs(docs...)
	got, err := web.NewBrave("k", web.WithBaseURL(fake.URL())).Search(context.Background(), search.Query{Text: "borrow", Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d results, want 2", len(got))
	}
	if got[0].URL != docs[0].URL || got[0].Snippet != docs[0].Content || got[0].Language != "en" || got[0].Source != "brave" {
		t.Errorf("got %+v", got[0])
	}
	if strings.Contains(got[0].Snippet, "<strong>") {
		t.Errorf("snippet %q kept text decorations", got[0].Snippet)
	}
	if got[0].Date == nil || !got[0].Date.Equal(docs[0].Published) {
		t.Errorf("Date = %v, want %v (from page_age)", got[0].Date, docs[0].Published)
	}
	if got[1].Date != nil {
		t.Errorf("missing page_age became %v", got[1].Date)
	}
}

func TestBraveErrors(t *testing.T) {
	t.Run("bad token is 422 authentication", func(t *testing.T) {
		fake := webtest.NewBrave(t, "good")
		_, err := web.NewBrave("bad", web.WithBaseURL(fake.URL())).Search(context.Background(), search.Query{Text: "x"})
		checkErr(t, err, web.ErrBadKey, "brave", "SUBSCRIPTION_TOKEN_INVALID")
		checkErr(t, err, web.ErrBadKey, "brave", "subscription token")
		var we *web.Error
		if errors.As(err, &we); we.Status != http.StatusUnprocessableEntity {
			t.Errorf("Status = %d, want 422", we.Status)
		}
	})
	t.Run("bad parameter is 422 but not a key problem", func(t *testing.T) {
		fake := webtest.NewBrave(t, "good")
		_, err := web.NewBrave("good", web.WithBaseURL(fake.URL())).Search(context.Background(), search.Query{Text: ""})
		checkErr(t, err, web.ErrBadRequest, "brave", "VALIDATION")
		if errors.Is(err, web.ErrBadKey) {
			t.Errorf("validation error %q classified as a bad key", err)
		}
	})
	t.Run("rate limited with reset", func(t *testing.T) {
		fake := webtest.NewBrave(t, "good")
		fake.LimitAfter(1, 3*time.Second)
		b := web.NewBrave("good", web.WithBaseURL(fake.URL()))
		if _, err := b.Search(context.Background(), search.Query{Text: "x"}); err != nil {
			t.Fatal(err)
		}
		_, err := b.Search(context.Background(), search.Query{Text: "x"})
		checkErr(t, err, web.ErrRateLimited, "brave", "RATE_LIMITED")
		var we *web.Error
		if errors.As(err, &we); we.RetryAfter != 3*time.Second {
			t.Errorf("RetryAfter = %v, want 3s (from X-RateLimit-Reset)", we.RetryAfter)
		}
		if !strings.Contains(err.Error(), "retry after 3s") {
			t.Errorf("error %q does not say when to retry", err)
		}
	})
}
