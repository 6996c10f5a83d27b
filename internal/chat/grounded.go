package chat

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/catalog"
	"github.com/tollgate-dev/tollgate/internal/grounding"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/upstream"
)

// SetGrounding makes search models answer from a search: with an LLM route
// the LLM gets the numbered sources and cites them; without one the
// built-in extractive engine answers, so a fresh install works offline.
// hasRoute tells the two apart.
func (s *Service) SetGrounding(g *grounding.Engine, hasRoute func(model string) bool) {
	s.grounder, s.hasRoute = g, hasRoute
}

// grounded reports whether r is answered from a search: a search model
// with no LLM route (the extractive engine answers), or one whose route is
// configured to ground.
func (s *Service) grounded(r *Request) bool {
	if s.grounder == nil {
		return false
	}
	switch r.Model.Kind {
	case catalog.KindSearch, catalog.KindReasoning, catalog.KindDeepResearch:
		return r.Model.Ground || !s.hasRoute(r.Model.ID)
	}
	return false
}

// groundOptions validates the request's search options (400 on bad ones)
// before anything is admitted or billed.
func (s *Service) groundOptions(r *Request) (*grounding.Options, error) {
	if !s.grounded(r) {
		return nil, nil
	}
	o, err := grounding.ParseOptions(r.Options, s.now())
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// question is what is searched: the last user message.
func question(r *Request) string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Text()
		}
	}
	return ""
}

// withSources puts the numbered sources into the system message the
// upstream receives.
func withSources(r *Request, src *grounding.Sources) {
	system := ""
	msgs := make([]upstream.Message, 0, len(r.Messages)+1)
	for _, m := range r.Messages {
		if m.Role == "system" && system == "" {
			system = m.Text()
			continue
		}
		msgs = append(msgs, m)
	}
	content, _ := json.Marshal(grounding.BuildPrompt(src, system))
	r.Messages = append([]upstream.Message{{Role: "system", Content: content}}, msgs...)
}

// groundedExtra is what a grounded answer adds to the response: citations,
// search_results and, when asked for, related_questions and images. images
// is left out when none were found (the local index has none), as
// Perplexity leaves out what it has not got; every image sent has a size.
func groundedExtra(g *grounding.Grounded, o *grounding.Options) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	put := func(k string, v any) {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	citations := g.Citations
	if citations == nil {
		citations = []string{}
	}
	results := g.SearchResults
	if results == nil {
		results = []grounding.SearchResult{}
	}
	put("citations", citations)
	put("search_results", results)
	if o != nil && o.ReturnRelatedQuestions {
		rq := g.RelatedQuestions
		if rq == nil {
			rq = []string{}
		}
		put("related_questions", rq)
	}
	if o != nil && o.ReturnImages && len(g.Images) > 0 {
		put("images", g.Images)
	}
	return out
}

func usageExtra(src *grounding.Sources) map[string]json.RawMessage {
	q, _ := json.Marshal(src.Queries)
	size := src.ContextSize
	if size == "" {
		size = "low"
	}
	sz, _ := json.Marshal(size)
	return map[string]json.RawMessage{"num_search_queries": q, "search_context_size": sz}
}

// completeExtractive answers r from src without an LLM.
func (s *Service) completeExtractive(ctx context.Context, c Caller, endpoint string, r *Request, o *grounding.Options,
	src *grounding.Sources, rec metering.Record) (*Completion, metering.Record) {
	g := s.grounder.Extractive(question(r), src)
	u := upstream.Usage{PromptTokens: s.promptTokens(r), CompletionTokens: s.tokens.Count(g.Text), Estimated: true,
		Extra: usageExtra(src)}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	finish := "stop"
	text := g.Text
	out := &Completion{ID: newCompletionID(), Object: "chat.completion", Created: rec.StartedAt.Unix(), Model: r.Model.ID,
		Choices: []ChoiceJSON{{Index: 0, FinishReason: &finish, Message: &MessageJSON{Role: "assistant", Content: text}}},
		Usage:   usageJSON(u), Extra: groundedExtra(g, o)}
	rec.ServedBy, rec.Deployment, rec.Attempts = r.Model.ID, "extractive", 1
	rec = s.record(rec, u)
	rec.Status, rec.Outcome, rec.Latency = http.StatusOK, metering.OutcomeOK, s.now().Sub(rec.StartedAt)
	return out, rec
}

// retrieve runs the search of a grounded request; a failure is the
// request's failure (503 when every source failed).
func (s *Service) retrieve(ctx context.Context, r *Request, o *grounding.Options) (*grounding.Sources, error) {
	src, err := s.grounder.Retrieve(ctx, question(r), *o)
	if err != nil {
		if platform.ErrorKind(err) == platform.KindInternal {
			return nil, &platform.Error{Kind: platform.KindUnavailable, Err: err,
				Message: "Search failed for every source; try again shortly."}
		}
		return nil, err
	}
	return src, nil
}

// extractiveChunks splits an extractive answer into stream deltas of a few
// words, so streaming clients see it arrive as they would from an LLM.
func extractiveChunks(text string) []string {
	words := strings.SplitAfter(text, " ")
	var out []string
	for i := 0; i < len(words); i += 4 {
		out = append(out, strings.Join(words[i:min(i+4, len(words))], ""))
	}
	return out
}

// textStream streams an answer Tollgate wrote itself (the extractive
// engine) as an upstream would.
type textStream struct {
	chunks []string
	usage  *upstream.Usage
	i      int
}

func (t *textStream) Recv() (upstream.Chunk, error) {
	if t.i < len(t.chunks) {
		t.i++
		return upstream.Chunk{Content: t.chunks[t.i-1]}, nil
	}
	if t.i == len(t.chunks) {
		t.i++
		return upstream.Chunk{FinishReason: "stop", Usage: t.usage}, nil
	}
	return upstream.Chunk{}, io.EOF
}

func (t *textStream) Close() error { return nil }

// mergeExtra2 is a copy of a with b's fields set over it.
func mergeExtra2(a, b map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
