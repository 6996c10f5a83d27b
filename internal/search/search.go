// Package search holds the shared language of search-grounded answering:
// a query with Perplexity's filters, the results providers return, the
// passages ranking works on, and the Provider interface that the local
// index and the web search adapters (SearXNG, Brave, Tavily) implement;
// and for images, the query, the image and the ImageSearcher interface
// the web adapters implement too.
package search

import (
	"context"
	"time"
)

// Filters are Perplexity's search filters, validated. A provider applies
// what it can natively; Tollgate applies the rest to the results (Apply).
type Filters struct {
	// Domains keeps only these hosts (and their subdomains); ExcludeDomains
	// drops them. Perplexity's search_domain_filter is one or the other.
	Domains        []string
	ExcludeDomains []string
	// PublishedAfter/Before and UpdatedAfter/Before bound the result's date
	// and last_updated (zero: unbounded). search_recency_filter becomes a
	// PublishedAfter.
	PublishedAfter, PublishedBefore time.Time
	UpdatedAfter, UpdatedBefore     time.Time
	// Mode is web, academic or sec.
	Mode string
	// Languages are ISO 639-1 codes; empty means any.
	Languages []string
}

// Query is one search.
type Query struct {
	Text    string
	Max     int // results wanted; 0 means the provider's default
	Filters Filters
	// Country is an ISO 3166 alpha-2 code from user_location, if any.
	Country string
}

// Result is one search hit, in the shape of Perplexity's search_results.
type Result struct {
	Title   string
	URL     string
	Snippet string
	// Content is the page's extracted text when the provider returned it
	// (Tavily's raw_content, the local index's document), else empty.
	Content     string
	Date        *time.Time // published
	LastUpdated *time.Time
	Language    string
	// Source names the provider ("local", "searxng", "brave", "tavily").
	Source string
	// Score is the provider's own relevance, comparable only within it.
	Score float64
}

// Provider searches one backend.
type Provider interface {
	Name() string
	Search(ctx context.Context, q Query) ([]Result, error)
}

// Passage is a piece of a document, the unit that ranking scores and an
// answer cites.
type Passage struct {
	DocID       string
	URL         string
	Title       string
	Text        string
	Date        *time.Time
	LastUpdated *time.Time
	Score       float64
}
