// Package grounding is Tollgate's answer engine: it turns a chat question
// into numbered sources (search, fetch and extract, chunk, rank), then
// either answers from them without an LLM (Extractive) or builds the
// prompt an LLM answers from (BuildPrompt) and cleans up the citations it
// wrote (Cite, Citer), returning the fields of Perplexity's response:
// citations, search_results, images and related_questions.
package grounding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/internal/extract"
	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/rank"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/local"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
)

// Retrieval knobs.
const (
	// fetchTop is how many web results without content have their page
	// fetched and extracted; the rest make do with their snippet.
	fetchTop = 3
	// fetchDeadline bounds all fetching for one question: an answer should
	// not wait on a slow site.
	fetchDeadline = 4 * time.Second
	// searchResults is how many results are asked of the provider.
	searchResults = 10
	// candidatesPer is how many local passages are read per passage of the
	// context budget, so that MMR has something to choose from.
	candidatesPer = 4
	// mmrLambda trades relevance for novelty among the context's passages.
	mmrLambda = 0.7
	// snippetChars caps a search_results snippet made from a passage.
	snippetChars = 300
	// imagesGrace is how long an answer whose sources are ready waits for
	// its images: images are searched beside the text and should not hold
	// the answer back. What is ready by then is kept.
	imagesGrace = time.Second
)

// PassageSource yields passages straight from an index; the local index
// implements it.
type PassageSource interface {
	Passages(ctx context.Context, q search.Query, k int) ([]search.Passage, error)
}

// Engine retrieves sources for questions. It is safe for concurrent use.
type Engine struct {
	provider search.Provider
	passages PassageSource
	fetcher  *fetch.Fetcher
	log      *slog.Logger
	// skipProvider: provider is the passage source itself, so searching it
	// too would only repeat the same documents.
	skipProvider bool
	fetchTimeout time.Duration
	imagesGrace  time.Duration
}

// New returns an Engine. provider (web search, possibly fanned out) and
// passages (the local index) may each be nil, not both. fetcher may be nil:
// web results then supply only their content or snippet.
func New(provider search.Provider, passages PassageSource, fetcher *fetch.Fetcher, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{provider: provider, passages: passages, fetcher: fetcher, log: log, fetchTimeout: fetchDeadline,
		imagesGrace: imagesGrace}
	if p, ok := provider.(PassageSource); ok && passages != nil && reflect.TypeOf(p).Comparable() && p == passages {
		e.skipProvider = true
	}
	return e
}

// SearchResult is one entry of Perplexity's search_results. Dates are
// "YYYY-MM-DD" and omitted when unknown, never null.
type SearchResult struct {
	Title       string `json:"title"`
	URL         string `json:"url"`
	Date        string `json:"date,omitempty"`
	LastUpdated string `json:"last_updated,omitempty"`
	Snippet     string `json:"snippet"`
	Source      string `json:"source"`
}

// Image is one entry of Perplexity's images[]. Every field is always
// present: the Vercel AI SDK rejects an image without image_url,
// origin_url, width and height, so an image whose size is unknown is never
// made into one.
type Image struct {
	ImageURL  string `json:"image_url"`
	OriginURL string `json:"origin_url"`
	Title     string `json:"title"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
}

// Sources are what an answer is grounded on.
type Sources struct {
	// Passages are the context, numbered 1..n in this order: [n] in an
	// answer or prompt refers to Passages[n-1].
	Passages []search.Passage
	// Results are the pages the passages come from, one per URL, in order
	// of their first passage.
	Results []SearchResult
	// RelatedQuestions are follow-up questions, set when they were asked
	// for and there are passages.
	RelatedQuestions []string
	// Images are images of the question, set when they were asked for and
	// a web provider that searches images found some; the local index has
	// none.
	Images []Image
	// Queries is usage.num_search_queries; Searched reports whether a
	// search ran at all (not when disabled or classified as unneeded).
	Queries  int
	Searched bool
	// ContextSize is the search_context_size the context was cut to (low
	// when the request gave none), for usage.search_context_size.
	ContextSize string
}

// Retrieve searches for question (unless o disables search or the
// classifier finds it needs none), turns the hits into passages, ranks
// them (BM25, dedupe, MMR) and keeps the context budget of o.ContextSize.
// It fails only when every source failed.
func (e *Engine) Retrieve(ctx context.Context, question string, o Options) (*Sources, error) {
	s := &Sources{ContextSize: o.ContextSize}
	if s.ContextSize == "" {
		s.ContextSize = rank.ContextLow
	}
	if o.DisableSearch || (o.EnableClassifier && !NeedsSearch(question)) {
		return s, nil
	}
	if e.provider == nil && e.passages == nil {
		return s, nil
	}
	s.Searched, s.Queries = true, 1
	budget, tokens := rank.ContextBudget(s.ContextSize)
	q := search.Query{Text: question, Max: searchResults, Filters: o.Filters, Country: o.Country}

	// Images are searched beside the text, so they add at most imagesGrace
	// to the answer's time; they are not a search query of the bill
	// (Perplexity charges nothing extra for return_images).
	imagesDone := make(chan struct{})
	stopImages := func() {}
	if is, ok := e.provider.(search.ImageSearcher); ok && o.ReturnImages && !e.skipProvider {
		ictx, cancel := context.WithCancel(ctx)
		stopImages = cancel
		go func() {
			defer close(imagesDone)
			s.Images = e.images(ictx, is, question, o)
		}()
	} else {
		close(imagesDone)
	}

	var (
		cands   []search.Passage
		results = map[string]search.Result{} // by URL, for snippets
		errs    []error
		tried   int
	)
	if e.passages != nil {
		tried++
		ps, err := e.passages.Passages(ctx, q, budget*candidatesPer)
		if err != nil {
			errs = append(errs, fmt.Errorf("local passages: %w", err))
		}
		cands = append(cands, ps...)
	}
	if e.provider != nil && !e.skipProvider {
		tried++
		rs, err := e.provider.Search(ctx, q)
		if err != nil {
			errs = append(errs, fmt.Errorf("search %s: %w", e.provider.Name(), err))
		}
		// Providers apply what filters they can; this applies the rest.
		rs = multi.Apply(rs, o.Filters)
		if e.passages != nil {
			rs = withoutLocal(rs)
		}
		for _, r := range rs {
			if _, ok := results[r.URL]; !ok {
				results[r.URL] = r
			}
		}
		cands = append(cands, e.webPassages(ctx, rs)...)
	}
	// Past the grace, the image search is cancelled and keeps what it has.
	grace := time.NewTimer(e.imagesGrace)
	select {
	case <-imagesDone:
	case <-grace.C:
		stopImages()
		<-imagesDone
	}
	grace.Stop()
	stopImages()
	if len(errs) == tried {
		err := errors.Join(errs...)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("grounding: %w", ctx.Err())
		}
		return nil, &platform.Error{Kind: platform.KindUnavailable, Message: "search is unavailable", Err: err}
	}
	for _, err := range errs {
		e.log.WarnContext(ctx, "search source failed; answering from the others", "err", err)
	}

	s.Passages = selectContext(question, cands, budget, tokens)
	s.Results = resultsFor(s.Passages, results)
	if o.ReturnRelatedQuestions {
		s.RelatedQuestions = related(question, s.Passages)
	}
	return s, nil
}

// images searches for images of question. A failure leaves the answer
// without images, not without an answer.
func (e *Engine) images(ctx context.Context, is search.ImageSearcher, question string, o Options) []Image {
	n := o.NumImages
	if n <= 0 {
		n = DefaultImages
	}
	found, err := is.Images(ctx, search.ImageQuery{Text: question, Max: n, Filters: o.Images,
		Country: o.Country, Languages: o.Filters.Languages})
	if err != nil {
		if ctx.Err() != nil {
			e.log.DebugContext(ctx, "image search cut short; answering without images", "err", err)
		} else {
			e.log.WarnContext(ctx, "image search failed; answering without images", "err", err)
		}
		return nil
	}
	var out []Image
	for _, im := range found {
		if im.Width <= 0 || im.Height <= 0 || im.URL == "" || len(out) == n {
			continue
		}
		origin := im.OriginURL
		if origin == "" {
			origin = im.URL
		}
		out = append(out, Image{ImageURL: im.URL, OriginURL: origin, Title: im.Title, Width: im.Width, Height: im.Height})
	}
	return out
}

// withoutLocal drops results of the local index, whose passages come
// straight from the PassageSource.
func withoutLocal(rs []search.Result) []search.Result {
	out := rs[:0:0]
	for _, r := range rs {
		if r.Source != "local" {
			out = append(out, r)
		}
	}
	return out
}

// webPassages chunks web results into passages: a result's own content,
// else its page fetched and extracted (the first fetchTop such results,
// within fetchTimeout), else its snippet.
func (e *Engine) webPassages(ctx context.Context, rs []search.Result) []search.Passage {
	texts := make([]string, len(rs))
	var toFetch []int
	for i, r := range rs {
		switch {
		case strings.TrimSpace(r.Content) != "":
			texts[i] = r.Content
		case e.fetcher != nil && len(toFetch) < fetchTop:
			toFetch = append(toFetch, i)
		}
	}
	if len(toFetch) > 0 {
		fctx, cancel := context.WithTimeout(ctx, e.fetchTimeout)
		var wg sync.WaitGroup
		for _, i := range toFetch {
			wg.Go(func() {
				text, err := e.fetchText(fctx, rs[i].URL)
				if err != nil {
					// The snippet stands in; a page that cannot be fetched is
					// normal on the web, not a failure of the answer.
					e.log.DebugContext(ctx, "fetching a result failed; using its snippet", "url", rs[i].URL, "err", err)
					return
				}
				texts[i] = text
			})
		}
		wg.Wait()
		cancel()
	}
	var out []search.Passage
	for i, r := range rs {
		text := texts[i]
		if strings.TrimSpace(text) == "" {
			text = r.Snippet
		}
		for _, c := range local.Chunk(text) {
			out = append(out, search.Passage{DocID: r.URL, URL: r.URL, Title: r.Title, Text: c,
				Date: r.Date, LastUpdated: r.LastUpdated, Score: r.Score})
		}
	}
	return out
}

func (e *Engine) fetchText(ctx context.Context, rawURL string) (string, error) {
	page, err := e.fetcher.Fetch(ctx, rawURL)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(page.URL)
	if err != nil {
		u = nil
	}
	ct := page.ContentType
	if page.Charset != "" {
		ct += "; charset=" + page.Charset
	}
	doc, err := extract.Any(ct, page.Body, u)
	if err != nil {
		return "", err
	}
	return doc.Text, nil
}

// selectContext ranks candidates against question and keeps at most
// budget passages and about tokens tokens of text.
func selectContext(question string, cands []search.Passage, budget, tokens int) []search.Passage {
	if len(cands) == 0 {
		return nil
	}
	for i := range cands {
		cands[i].Text = stripFootnotes(cands[i].Text)
	}
	scored := rank.BM25(question, cands, rank.DefaultK1, rank.DefaultB)
	// Passages sharing no term with the question are noise once any
	// passage matches; when none matches, the providers' order stands.
	if scored[0].Score > 0 {
		n := 0
		for n < len(scored) && scored[n].Score > 0 {
			n++
		}
		scored = scored[:n]
	} else {
		scored = cands
	}
	picked := rank.MMR(rank.Dedupe(scored), budget, mmrLambda)
	out := make([]search.Passage, 0, len(picked))
	used := 0
	for _, p := range picked {
		n := approxTokens(p.Text)
		if len(out) > 0 && used+n > tokens {
			break
		}
		used += n
		out = append(out, p)
	}
	return out
}

// approxTokens estimates the tokens of English text: about 4 for every 3
// words.
func approxTokens(s string) int { return (len(strings.Fields(s))*4 + 2) / 3 }

// resultsFor lists the pages of ps, one per URL, in order of first
// passage, with the provider's snippet when there was one.
func resultsFor(ps []search.Passage, from map[string]search.Result) []SearchResult {
	var out []SearchResult
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.URL] {
			continue
		}
		seen[p.URL] = true
		r := resultOf(p)
		if hit, ok := from[p.URL]; ok && strings.TrimSpace(hit.Snippet) != "" {
			r.Snippet = hit.Snippet
		}
		out = append(out, r)
	}
	return out
}

// resultOf makes the search_results entry of a passage's page.
func resultOf(p search.Passage) SearchResult {
	title := p.Title
	if title == "" {
		title = p.URL
	}
	return SearchResult{Title: title, URL: p.URL, Date: day(p.Date), LastUpdated: day(p.LastUpdated),
		Snippet: clip(p.Text, snippetChars), Source: "web"}
}

func day(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// clip shortens s to at most n bytes at a word boundary, adding "…".
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut <= 0 {
		cut = n
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,;:") + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
