package local

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/tollgate-dev/tollgate/internal/rank"
	"github.com/tollgate-dev/tollgate/internal/search"
)

// Search limits.
const (
	defaultResults = 10
	maxResults     = 50
	// contentPassages is how many of a document's best passages make up a
	// result's Content.
	contentPassages = 3
	// maxPassageHits bounds the passages one Search reads while looking for
	// enough distinct documents.
	maxPassageHits = 4096
	// rerankPool is the fewest candidates bleve proposes for exact BM25 to
	// re-rank. On SQuAD (871 passages, 2,828 questions) the gold passage is
	// among bleve's top 50 for 98% of questions.
	rerankPool = 50
)

// Search returns the documents best matching q, one result per document:
// the best passage is the snippet, the best few make up the content. Every
// filter of q is applied here; documents whose date or language is unknown
// do not pass a filter on it.
func (ix *Index) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	want := q.Max
	if want <= 0 {
		want = defaultResults
	}
	want = min(want, maxResults)

	// Hits are passages; several may belong to one document, so ask for more
	// than wanted and widen until enough documents are found or none remain.
	var groups []*docHits
	for size := want * 8; ; size *= 4 {
		hits, total, err := ix.searchPassages(ctx, q, size, false)
		if err != nil {
			return nil, err
		}
		groups = groupByDoc(hits)
		if len(groups) >= want || uint64(len(hits)) >= total || size >= maxPassageHits {
			break
		}
	}
	if len(groups) > want {
		groups = groups[:want]
	}

	docs, err := ix.records(groupIDs(groups))
	if err != nil {
		return nil, err
	}
	out := make([]search.Result, 0, len(groups))
	for _, g := range groups {
		d, ok := docs[g.docID]
		if !ok {
			continue // passages of a document being deleted
		}
		parts := make([]string, 0, contentPassages)
		for _, h := range g.hits[:min(len(g.hits), contentPassages)] {
			parts = append(parts, h.body)
		}
		out = append(out, search.Result{
			Title:       d.Title,
			URL:         d.URL,
			Snippet:     g.hits[0].body,
			Content:     strings.Join(parts, "\n\n"),
			Date:        d.Published,
			LastUpdated: d.Updated,
			Language:    d.Language,
			Source:      ix.Name(),
			Score:       g.hits[0].score,
		})
	}
	return out, nil
}

// Passages returns the k passages best matching q across all documents,
// with q's filters applied, for an answerer to rank and quote.
func (ix *Index) Passages(ctx context.Context, q search.Query, k int) ([]search.Passage, error) {
	if k <= 0 {
		return nil, nil
	}
	hits, _, err := ix.searchPassages(ctx, q, k, false)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(hits))
	for _, h := range hits {
		ids = append(ids, h.docID)
	}
	docs, err := ix.records(ids)
	if err != nil {
		return nil, err
	}
	out := make([]search.Passage, 0, len(hits))
	for _, h := range hits {
		d, ok := docs[h.docID]
		if !ok {
			continue
		}
		out = append(out, search.Passage{
			DocID:       d.ID,
			URL:         d.URL,
			Title:       d.Title,
			Text:        h.body,
			Date:        d.Published,
			LastUpdated: d.Updated,
			Score:       h.score,
		})
	}
	return out, nil
}

// hit is one scored passage.
type hit struct {
	id, docID, title, body string
	score                  float64
	explanation            string
}

// searchPassages runs q against the passage index and returns up to size
// passages, best first, and how many matched in all. bleve proposes the
// candidates and exact BM25 orders them (see rerank).
func (ix *Index) searchPassages(ctx context.Context, q search.Query, size int, explain bool) ([]hit, uint64, error) {
	text := strings.TrimSpace(q.Text)
	if text == "" {
		return nil, 0, nil
	}
	match := bleve.NewMatchQuery(text)
	match.SetField(fieldText)
	match.Analyzer = analyzerName

	bq := bleve.NewBooleanQuery()
	bq.AddMust(match)
	if f := filterQuery(q.Filters); f != nil {
		bq.AddFilter(f)
	}
	if len(q.Filters.ExcludeDomains) > 0 {
		bq.AddMustNot(domainsQuery(q.Filters.ExcludeDomains))
	}

	req := bleve.NewSearchRequestOptions(bq, max(size, rerankPool), 0, explain)
	req.Fields = []string{fieldDocID, fieldBody, fieldTitle}
	res, err := ix.passage.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("local index: search: %w", err)
	}
	hits := make([]hit, 0, len(res.Hits))
	for _, m := range res.Hits {
		docID, _ := m.Fields[fieldDocID].(string)
		body, _ := m.Fields[fieldBody].(string)
		title, _ := m.Fields[fieldTitle].(string)
		h := hit{id: m.ID, docID: docID, title: title, body: body, score: m.Score}
		if explain && m.Expl != nil {
			h.explanation = m.Expl.String()
		}
		hits = append(hits, h)
	}
	if !explain {
		if err := ix.rerank(ctx, text, hits); err != nil {
			return nil, 0, err
		}
	}
	return hits[:min(len(hits), size)], res.Total, nil
}

// rerank orders hits by textbook Okapi BM25 over the whole index: document
// frequencies from the index's own term dictionary, the exact average
// passage length, and each candidate's term counts. bleve's BM25 squares
// roots term frequencies and estimates the average length from the size of
// the dictionary, which ranks measurably worse (SQuAD recall@5 0.895 against
// 0.90), so it only proposes candidates.
func (ix *Index) rerank(ctx context.Context, text string, hits []hit) error {
	terms := uniqueTerms(rank.Tokenize(text))
	if len(terms) == 0 || len(hits) == 0 {
		return nil
	}
	adv, err := ix.passage.Advanced()
	if err != nil {
		return fmt.Errorf("local index: rerank: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return fmt.Errorf("local index: rerank: %w", err)
	}
	defer r.Close()
	n, err := r.DocCount()
	if err != nil || n == 0 {
		return err
	}
	idf := make(map[string]float64, len(terms))
	for _, t := range terms {
		tfr, err := r.TermFieldReader(ctx, []byte(t), fieldText, false, false, false)
		if err != nil {
			return fmt.Errorf("local index: rerank: term %q: %w", t, err)
		}
		idf[t] = rank.IDF(int(n), int(tfr.Count()))
		if err := tfr.Close(); err != nil {
			return fmt.Errorf("local index: rerank: %w", err)
		}
	}
	avgdl := float64(ix.tokens.Load()) / float64(n)
	tf := make(map[string]int, len(terms))
	for i := range hits {
		toks := rank.Tokenize(indexedText(hits[i].title, hits[i].body))
		clear(tf)
		for _, t := range toks {
			if _, ok := idf[t]; ok {
				tf[t]++
			}
		}
		score := 0.0
		for t, f := range tf {
			score += idf[t] * rank.TermWeight(f, len(toks), avgdl, rank.DefaultK1, rank.DefaultB)
		}
		hits[i].score = score
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	return nil
}

func uniqueTerms(ts []string) []string {
	seen := make(map[string]bool, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// filterQuery is the conjunction of q's domain allow-list, date bounds and
// languages, or nil when there are none. It only filters: it adds nothing to
// a passage's score.
func filterQuery(f search.Filters) query.Query {
	var parts []query.Query
	if len(f.Domains) > 0 {
		parts = append(parts, domainsQuery(f.Domains))
	}
	if q := dateQuery(fieldPublished, f.PublishedAfter, f.PublishedBefore); q != nil {
		parts = append(parts, q)
	}
	if q := dateQuery(fieldUpdated, f.UpdatedAfter, f.UpdatedBefore); q != nil {
		parts = append(parts, q)
	}
	if len(f.Languages) > 0 {
		var langs []query.Query
		for _, l := range f.Languages {
			t := bleve.NewTermQuery(normalizeLanguage(l))
			t.SetField(fieldLanguage)
			langs = append(langs, t)
		}
		parts = append(parts, bleve.NewDisjunctionQuery(langs...))
	}
	if len(parts) == 0 {
		return nil
	}
	return bleve.NewConjunctionQuery(parts...)
}

// domainsQuery matches passages of any of the domains or their subdomains.
func domainsQuery(domains []string) query.Query {
	var qs []query.Query
	for _, d := range domains {
		t := bleve.NewTermQuery(normalizeDomain(d))
		t.SetField(fieldDomains)
		qs = append(qs, t)
	}
	return bleve.NewDisjunctionQuery(qs...)
}

// dateQuery bounds a date field, both ends inclusive, or returns nil when
// both bounds are zero.
func dateQuery(field string, after, before time.Time) query.Query {
	if after.IsZero() && before.IsZero() {
		return nil
	}
	yes := true
	q := bleve.NewDateRangeInclusiveQuery(after, before, &yes, &yes)
	q.SetField(field)
	return q
}

// docHits are the hits of one document, best first.
type docHits struct {
	docID string
	hits  []hit
}

// groupByDoc groups hits by document, keeping the order of each document's
// best hit.
func groupByDoc(hits []hit) []*docHits {
	var out []*docHits
	byID := map[string]*docHits{}
	for _, h := range hits {
		g, ok := byID[h.docID]
		if !ok {
			g = &docHits{docID: h.docID}
			byID[h.docID] = g
			out = append(out, g)
		}
		g.hits = append(g.hits, h)
	}
	return out
}

func groupIDs(gs []*docHits) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.docID
	}
	return ids
}
