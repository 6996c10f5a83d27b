// Package webtest runs loopback fakes of the web search APIs Tollgate
// adapts: SearXNG's JSON API, Brave Web Search and Image Search, and
// Tavily. Each speaks its API's wire format as documented (request shape,
// response JSON, error bodies and statuses, rate-limit headers), serves a
// scripted list of documents and images, and records what it received so
// tests can check the parameters an adapter actually sent.
package webtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// Doc is one document a fake returns as a search hit, rendered in each
// API's own shape.
type Doc struct {
	Title     string
	URL       string
	Content   string
	Published time.Time // zero: the API's "no date"
	Language  string    // Brave reports it; others do not
	Score     float64
}

// Image is one image a fake returns from an image search, rendered in each
// API's own shape.
type Image struct {
	URL     string // the image file
	PageURL string // the page it appears on (Tavily does not report it)
	Title   string // SearXNG's and Brave's title, Tavily's description
	// Width and Height are the size the API reports; 0 renders as the
	// API's "unknown" (SearXNG: empty resolution; Brave: null).
	Width, Height int
	Format        string // SearXNG's img_format, e.g. "jpeg"
}

// Request is what a fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// server is the machinery every fake shares: recording, a delay, a
// rate limit and the documents to serve.
type server struct {
	srv *httptest.Server

	mu        sync.Mutex
	docs      []Doc
	images    []Image
	reqs      []Request
	delay     time.Duration
	limitOn   bool
	limit     int // requests allowed before 429
	served    int
	retryWait time.Duration
}

type cleaner interface{ Cleanup(func()) }

func (s *server) start(t cleaner, h http.HandlerFunc) {
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
}

// URL is the fake's base URL.
func (s *server) URL() string { return s.srv.URL }

// SetDocs replaces the documents served.
func (s *server) SetDocs(docs ...Doc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs = append([]Doc(nil), docs...)
}

// SetImages replaces the images served by image searches.
func (s *server) SetImages(images ...Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images = append([]Image(nil), images...)
}

// SetDelay makes every answer wait d (or until the client gives up).
func (s *server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// LimitAfter answers 429 once n requests have been served, asking the
// client to wait retry.
func (s *server) LimitAfter(n int, retry time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitOn, s.limit, s.retryWait = true, n, retry
}

// Requests returns the requests received so far.
func (s *server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// admission is what admit decided about one request.
type admission struct {
	docs      []Doc
	images    []Image
	body      []byte
	limited   bool
	remaining int // requests left in the window, or -1 without a limit
	limit     int
	served    int
	retry     time.Duration
}

// admit records r, waits out the delay (false if the client left first)
// and says whether the rate limit lets it through.
func (s *server) admit(r *http.Request) (admission, bool) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body})
	delay := s.delay
	a := admission{docs: append([]Doc(nil), s.docs...), images: append([]Image(nil), s.images...), body: body, remaining: -1, retry: s.retryWait}
	if s.limitOn {
		if s.served >= s.limit {
			a.limited = true
			a.remaining = 0
		} else {
			s.served++
			a.remaining = s.limit - s.served
		}
		a.limit, a.served = s.limit, s.served
	}
	s.mu.Unlock()
	if delay > 0 && !sleep(r.Context(), delay) {
		return a, false
	}
	return a, true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
