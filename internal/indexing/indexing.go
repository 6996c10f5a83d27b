// Package indexing feeds Tollgate's local search index: it reads files
// (Markdown, plain text, HTML), fetches URLs, crawls sites, extracts their
// main text and puts the documents into the index, reporting for each
// whether it was added, updated, left unchanged or failed.
//
// The CLI (tollgate index …) and the management API (/api/v1/index/…) both
// go through a Service, so a document added either way is the same document.
package indexing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/extract"
	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/local"
)

// Statuses of one document. The first three are the index's own.
const (
	StatusAdded     = local.StatusAdded
	StatusUpdated   = local.StatusUpdated
	StatusUnchanged = local.StatusUnchanged
	StatusFailed    = "failed"
)

// Result is what happened to one source: a file, a URL or a crawled page.
type Result struct {
	// Source is the path or URL as given (for a crawl, the page's URL).
	Source string `json:"source"`
	ID     string `json:"id,omitempty"`
	URL    string `json:"url,omitempty"`
	Title  string `json:"title,omitempty"`
	Status string `json:"status"`
	// Error says why the source failed; empty otherwise.
	Error string `json:"error,omitempty"`
}

// Progress is called once per source as soon as its Result is known.
type Progress func(Result)

// Options configure a Service. Zero values get the defaults noted.
type Options struct {
	// Fetcher fetches URLs and crawled pages (default fetch.New with its
	// production options, which refuse private and loopback addresses).
	Fetcher *fetch.Fetcher
}

// Service adds documents to one local index and reads it back.
type Service struct {
	ix      *local.Index
	fetcher *fetch.Fetcher
}

// New returns a Service over ix.
func New(ix *local.Index, o Options) *Service {
	if o.Fetcher == nil {
		o.Fetcher = fetch.New(fetch.Options{})
	}
	return &Service{ix: ix, fetcher: o.Fetcher}
}

// IsURL reports whether source names a web page rather than a file.
func IsURL(source string) bool {
	s := strings.ToLower(strings.TrimSpace(source))
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// Add adds every source in order: an http(s) URL is fetched, a file is
// read, a directory is walked for the files Files accepts. A failed source
// does not stop the others; a cancelled ctx does. progress may be nil.
func (s *Service) Add(ctx context.Context, sources []string, progress Progress) []Result {
	var out []Result
	report := func(r Result) {
		out = append(out, r)
		if progress != nil {
			progress(r)
		}
	}
	for _, src := range sources {
		if ctx.Err() != nil {
			break
		}
		if IsURL(src) {
			r, _ := s.AddURL(ctx, src)
			report(r)
			continue
		}
		files, err := Files(src)
		if err != nil {
			report(failed(src, "", err))
			continue
		}
		for _, f := range files {
			if ctx.Err() != nil {
				break
			}
			r, _ := s.AddFile(ctx, f)
			report(r)
		}
	}
	return out
}

// AddFile reads one file and puts it into the index.
func (s *Service) AddFile(ctx context.Context, path string) (Result, error) {
	d, err := ReadFile(path)
	if err != nil {
		return failed(path, "", err), err
	}
	return s.put(ctx, path, d)
}

// AddURL fetches one page, extracts its main text and puts it into the
// index under its final URL (after redirects). A page that cannot be
// fetched or extracted is an invalid-input error naming the reason.
func (s *Service) AddURL(ctx context.Context, rawURL string) (Result, error) {
	rawURL = strings.TrimSpace(rawURL)
	page, err := s.fetcher.Fetch(ctx, rawURL)
	if err != nil {
		if ctx.Err() != nil {
			return failed(rawURL, rawURL, err), err
		}
		err = &platform.Error{Kind: platform.KindInvalid, Param: "url",
			Message: fmt.Sprintf("could not fetch %s: %s", rawURL, fetchReason(err)), Err: err}
		return failed(rawURL, rawURL, err), err
	}
	final, err := url.Parse(page.URL)
	if err != nil {
		final, _ = url.Parse(rawURL)
	}
	ct := page.ContentType
	if page.Charset != "" {
		ct += "; charset=" + page.Charset
	}
	doc, err := extract.Any(ct, page.Body, final)
	if err != nil {
		err = &platform.Error{Kind: platform.KindInvalid, Param: "url",
			Message: fmt.Sprintf("could not extract text from %s (%s)", page.URL, page.ContentType), Err: err}
		return failed(rawURL, page.URL, err), err
	}
	return s.put(ctx, rawURL, fromExtract(page.URL, doc, page.LastModified))
}

// Text is a document given directly rather than read or fetched.
type Text struct {
	URL       string
	Title     string
	Text      string
	Published *time.Time
	Language  string
}

// AddText puts a document given as plain text into the index.
func (s *Service) AddText(ctx context.Context, t Text) (Result, error) {
	d := local.Document{URL: strings.TrimSpace(t.URL), Title: t.Title, Text: t.Text,
		Published: t.Published, Language: t.Language}
	return s.put(ctx, d.URL, d)
}

// put stores d and describes the outcome. Its hash leaves out the update
// date, so re-adding a page whose content is the same but whose file time or
// Last-Modified moved reports "unchanged" rather than rewriting it.
func (s *Service) put(ctx context.Context, source string, d local.Document) (Result, error) {
	d.Hash = contentHash(d)
	status, err := s.ix.Put(ctx, d)
	if err != nil {
		return failed(source, d.URL, err), err
	}
	return Result{Source: source, ID: local.DocID(strings.TrimSpace(d.URL)), URL: strings.TrimSpace(d.URL),
		Title: strings.Join(strings.Fields(d.Title), " "), Status: status}, nil
}

// List returns documents ordered by URL, without their text, and the total.
func (s *Service) List(ctx context.Context, offset, limit int) ([]local.Document, int, error) {
	return s.ix.List(ctx, offset, limit)
}

// Delete removes a document named by its ID or URL.
func (s *Service) Delete(ctx context.Context, idOrURL string) error {
	return s.ix.Delete(ctx, strings.TrimSpace(idOrURL))
}

// Stats describes the size of the index.
func (s *Service) Stats(ctx context.Context) (local.Stats, error) { return s.ix.Stats(ctx) }

// Search searches the index.
func (s *Service) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	return s.ix.Search(ctx, q)
}

func fromExtract(pageURL string, doc extract.Doc, updated *time.Time) local.Document {
	return local.Document{URL: pageURL, Title: doc.Title, Text: doc.Text, Published: doc.Published,
		Updated: updated, Language: doc.Language}
}

func failed(source, u string, err error) Result {
	return Result{Source: source, URL: u, Status: StatusFailed, Error: describe(err)}
}

// describe is the one-line reason a source failed: the client-safe message
// of a domain error, else the error itself (the CLI's user owns the data).
func describe(err error) string {
	var pe *platform.Error
	if errors.As(err, &pe) && pe.Kind != platform.KindInternal {
		return pe.Message
	}
	return err.Error()
}

// fetchReason shortens a fetch error to what the operator can act on.
func fetchReason(err error) string {
	var se *fetch.StatusError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("HTTP status %d", se.Code)
	case errors.Is(err, fetch.ErrDisallowed):
		return "robots.txt disallows it"
	case errors.Is(err, fetch.ErrPrivateAddress):
		return "it is a private or loopback address, which this server refuses to fetch"
	case errors.Is(err, fetch.ErrContentType):
		return "its content type is not HTML, Markdown or plain text"
	case errors.Is(err, fetch.ErrTooLarge):
		return "it is too large"
	case errors.Is(err, fetch.ErrTooManyRedirects):
		return "too many redirects"
	case errors.Is(err, fetch.ErrScheme), errors.Is(err, fetch.ErrInvalidURL):
		return "it is not an http(s) URL"
	}
	return err.Error()
}

// contentHash covers what a reader of the index sees change: URL, title,
// text, publication date and language.
func contentHash(d local.Document) string {
	h := sha256.New()
	pub := ""
	if d.Published != nil {
		pub = d.Published.UTC().Format(time.RFC3339)
	}
	for _, s := range []string{strings.TrimSpace(d.URL), d.Title, d.Text, pub, d.Language} {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
