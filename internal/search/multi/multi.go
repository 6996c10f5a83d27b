// Package multi searches several providers at once: it fans a query out in
// parallel with a per-provider timeout, merges the answers by reciprocal
// rank fusion, deduplicates them by canonical URL, applies the filters no
// provider could (Apply), and caches the merged results for a while.
package multi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// rrfK is reciprocal rank fusion's constant: a result at rank r in one
// provider's list scores 1/(rrfK+r). 60 is the value from Cormack et al.
// that everyone uses; it keeps one provider's top hit from drowning out
// agreement between several.
const rrfK = 60

// Options configure a Multi. Zero values get the defaults noted.
type Options struct {
	// Timeout bounds each provider's search (default 5 s); a provider that
	// takes longer is skipped.
	Timeout time.Duration
	// CacheTTL is how long merged results are reused; 0 disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the cache's entries (default 1024), least recently
	// used first out.
	CacheSize int
	// Logger, if set, records providers that failed or timed out.
	Logger *slog.Logger
	// Now is the cache's clock (default time.Now).
	Now func() time.Time
}

// Multi is a search.Provider over several providers.
type Multi struct {
	providers []search.Provider
	opts      Options
	cache     *cache
}

var _ search.Provider = (*Multi)(nil)

// New returns a Multi over providers, searched in parallel.
func New(providers []search.Provider, opts Options) *Multi {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 1024
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Multi{providers: append([]search.Provider(nil), providers...), opts: opts}
	if opts.CacheTTL > 0 {
		m.cache = newCache(opts.CacheSize, opts.CacheTTL, opts.Now)
	}
	return m
}

// Name returns "multi".
func (m *Multi) Name() string { return "multi" }

// Stats counts cache use.
type Stats struct {
	Hits, Misses int64
	Entries      int
}

// Stats returns the cache's counters (all zero without a cache).
func (m *Multi) Stats() Stats {
	if m.cache == nil {
		return Stats{}
	}
	return m.cache.stats()
}

// Search asks every provider for q and returns the fused results, filtered
// by q.Filters and cut to q.Max (0: all). It fails only when every
// provider failed, with an error joining theirs.
func (m *Multi) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	if len(m.providers) == 0 {
		return nil, errors.New("multi: no search providers configured")
	}
	key := cacheKey(q)
	merged, ok := m.cache.get(key)
	if !ok {
		var err error
		merged, err = m.fanOut(ctx, q)
		if err != nil {
			return nil, err
		}
		m.cache.put(key, merged)
	}
	// The cache holds results before Apply, so a bound that moved since
	// (a recency filter is relative to now) is still applied exactly.
	out := Apply(merged, q.Filters)
	if q.Max > 0 && len(out) > q.Max {
		out = out[:q.Max]
	}
	return out, nil
}

// answer is one provider's outcome.
type answer struct {
	results []search.Result
	err     error
}

// fanOut queries every provider in parallel and fuses what came back.
func (m *Multi) fanOut(ctx context.Context, q search.Query) ([]search.Result, error) {
	answers := make([]answer, len(m.providers))
	var wg sync.WaitGroup
	for i, p := range m.providers {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
			defer cancel()
			rs, err := p.Search(pctx, q)
			if err != nil && ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("%s: timed out after %s: %w", p.Name(), m.opts.Timeout, err)
			}
			answers[i] = answer{rs, err}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("multi: %w", err)
	}

	var lists [][]search.Result
	var errs []error
	for i, a := range answers {
		if a.err != nil {
			errs = append(errs, a.err)
			if m.opts.Logger != nil {
				m.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "search provider skipped",
					slog.String("provider", m.providers[i].Name()), slog.String("error", a.err.Error()))
			}
			continue
		}
		lists = append(lists, a.results)
	}
	if len(lists) == 0 {
		return nil, fmt.Errorf("multi: every search provider failed: %w", errors.Join(errs...))
	}
	return Fuse(lists), nil
}

// Fuse merges ranked lists by reciprocal rank fusion: each result scores
// Σ 1/(60+rank) over the lists it appears in (rank from 1; only its best
// rank within one list counts), results with the same canonical URL are
// one. The kept copy is the best-ranked one, with dates, language, content
// and snippet filled from the others when it lacks them; Score becomes
// the fused score. Ties keep the earlier list's order.
func Fuse(lists [][]search.Result) []search.Result {
	type entry struct {
		r        search.Result
		score    float64
		bestRank int // best rank over the lists, then first list, for ties
		first    int
	}
	byURL := map[string]*entry{}
	var order []*entry
	for li, list := range lists {
		seen := map[string]bool{}
		rank := 0
		for _, r := range list {
			c := Canonical(r.URL)
			if c == "" || seen[c] {
				continue
			}
			seen[c] = true
			rank++
			e, ok := byURL[c]
			if !ok {
				e = &entry{r: r, bestRank: rank, first: li}
				byURL[c] = e
				order = append(order, e)
			} else {
				if rank < e.bestRank { // the better-ranked copy leads
					e.r = fill(r, e.r)
					e.bestRank = rank
				} else {
					e.r = fill(e.r, r)
				}
			}
			e.score += 1 / float64(rrfK+rank)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.bestRank != b.bestRank {
			return a.bestRank < b.bestRank
		}
		return a.first < b.first
	})
	out := make([]search.Result, len(order))
	for i, e := range order {
		out[i] = e.r
		out[i].Score = e.score
	}
	return out
}

// fill copies into r what other has and r lacks.
func fill(r, other search.Result) search.Result {
	if r.Date == nil {
		r.Date = other.Date
	}
	if r.LastUpdated == nil {
		r.LastUpdated = other.LastUpdated
	}
	if r.Language == "" {
		r.Language = other.Language
	}
	if r.Content == "" {
		r.Content = other.Content
	}
	if r.Snippet == "" {
		r.Snippet = other.Snippet
	}
	if r.Title == "" {
		r.Title = other.Title
	}
	return r
}
