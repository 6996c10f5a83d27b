package multi_test

import (
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
)

func day(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &t
}

func TestApply(t *testing.T) {
	rs := []search.Result{
		{URL: "https://example.org/a", Date: day(2025, 1, 10), Language: "en"},
		{URL: "https://docs.example.org/b", Date: day(2025, 3, 1), LastUpdated: day(2025, 6, 1), Language: "en-GB"},
		{URL: "https://notexample.org/c", Date: day(2024, 12, 31), Language: "de"},
		{URL: "http://WWW.Other.net:8080/d", Language: "fr"},
		{URL: "https://other.net/e", Date: day(2025, 2, 1)},
		{URL: "not a url"},
	}
	tests := []struct {
		name string
		f    search.Filters
		want []string // URLs kept
	}{
		{"no filters keeps all", search.Filters{},
			[]string{"https://example.org/a", "https://docs.example.org/b", "https://notexample.org/c", "http://WWW.Other.net:8080/d", "https://other.net/e", "not a url"}},
		{"allow with subdomains, not look-alikes", search.Filters{Domains: []string{"example.org"}},
			[]string{"https://example.org/a", "https://docs.example.org/b"}},
		{"allow normalizes what users paste", search.Filters{Domains: []string{"HTTPS://Other.NET/path", "*.nothing.test"}},
			[]string{"http://WWW.Other.net:8080/d", "https://other.net/e"}},
		{"deny with subdomains", search.Filters{ExcludeDomains: []string{"example.org", "other.net"}},
			[]string{"https://notexample.org/c", "not a url"}},
		{"deny a subdomain only", search.Filters{ExcludeDomains: []string{"docs.example.org"}},
			[]string{"https://example.org/a", "https://notexample.org/c", "http://WWW.Other.net:8080/d", "https://other.net/e", "not a url"}},
		{"published after, inclusive, undated dropped", search.Filters{PublishedAfter: *day(2025, 1, 10)},
			[]string{"https://example.org/a", "https://docs.example.org/b", "https://other.net/e"}},
		{"published before, inclusive", search.Filters{PublishedBefore: *day(2025, 1, 10)},
			[]string{"https://example.org/a", "https://notexample.org/c"}},
		{"published between", search.Filters{PublishedAfter: *day(2025, 1, 11), PublishedBefore: *day(2025, 2, 28)},
			[]string{"https://other.net/e"}},
		{"updated uses LastUpdated, else Date", search.Filters{UpdatedAfter: *day(2025, 2, 1)},
			[]string{"https://docs.example.org/b", "https://other.net/e"}},
		{"updated before excludes a later update", search.Filters{UpdatedBefore: *day(2025, 5, 1)},
			[]string{"https://example.org/a", "https://notexample.org/c", "https://other.net/e"}},
		{"language by primary subtag, unknown kept", search.Filters{Languages: []string{"EN"}},
			[]string{"https://example.org/a", "https://docs.example.org/b", "https://other.net/e", "not a url"}},
		{"several languages", search.Filters{Languages: []string{"de", "fr"}},
			[]string{"https://notexample.org/c", "http://WWW.Other.net:8080/d", "https://other.net/e", "not a url"}},
		{"filters combine", search.Filters{Domains: []string{"example.org"}, PublishedAfter: *day(2025, 2, 1)},
			[]string{"https://docs.example.org/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := multi.Apply(rs, tt.f)
			var urls []string
			for _, r := range got {
				urls = append(urls, r.URL)
			}
			if !slices.Equal(urls, tt.want) {
				t.Errorf("got %q\nwant %q", urls, tt.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTPS://Example.ORG/Path/", "https://example.org/Path"},
		{"https://example.org:443/a#frag", "https://example.org/a"},
		{"http://example.org:80/", "http://example.org"},
		{"https://example.org", "https://example.org"},
		{"https://example.org:8443/a", "https://example.org:8443/a"},
		{"https://example.org/a?b=2&a=1&utm_source=x&UTM_Medium=y&fbclid=z&gclid=q", "https://example.org/a?a=1&b=2"},
		{"https://example.org/a?utm_source=x", "https://example.org/a"},
		{"https://example.org/a?", "https://example.org/a"},
		{"https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"},
		{"  not a url  ", "not a url"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := multi.Canonical(tt.in); got != tt.want {
				t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
