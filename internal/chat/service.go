package chat

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/internal/catalog"
	"github.com/tollgate-dev/tollgate/internal/gate"
	"github.com/tollgate-dev/tollgate/internal/grounding"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/tokens"
	"github.com/tollgate-dev/tollgate/internal/upstream"
)

// Router is what the service needs of the upstream router.
type Router interface {
	Complete(ctx context.Context, model string, r *upstream.Request) (*upstream.Response, upstream.Attempt, error)
	Stream(ctx context.Context, model string, r *upstream.Request) (upstream.Stream, upstream.Attempt, error)
}

// Caller identifies who a request is for, for metering.
type Caller struct {
	RequestID string
	OrgID     string
	GroupID   string
	KeyID     string
}

// Service runs chat completions.
type Service struct {
	router  Router
	catalog *catalog.Catalog
	tokens  *tokens.Counter
	sink    metering.Sink
	gate    *gate.Gate
	now     func() time.Time
	// grounder answers search models from a search; hasRoute tells
	// whether an LLM writes the answer or the extractive engine does.
	grounder *grounding.Engine
	hasRoute func(model string) bool
}

// SetGate makes every request pass the gate: limits, caps and credits
// before the call, a durable priced usage record after. Without a gate
// requests are only logged (the package's tests, tollgate bench's bare
// runs).
func (s *Service) SetGate(g *gate.Gate) { s.gate = g }

// NewService returns a chat service.
func NewService(r Router, cat *catalog.Catalog, tc *tokens.Counter, sink metering.Sink, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{router: r, catalog: cat, tokens: tc, sink: sink, now: now}
}

// Catalog returns the model catalog requests are validated against.
func (s *Service) Catalog() *catalog.Catalog { return s.catalog }

func newCompletionID() string { return "chatcmpl-" + strings.ToLower(rand.Text()) }

func (s *Service) upstreamRequest(r *Request) *upstream.Request {
	return &upstream.Request{Messages: r.Messages, MaxTokens: r.MaxTokens, Stream: r.Stream, Options: r.Options}
}

// promptTokens counts the prompt once per request (the count is kept on
// the request): only when the context-window check, an upstream without
// usage or an interim stream chunk needs it.
func (s *Service) promptTokens(r *Request) int {
	if r.promptTokens > 0 {
		return r.promptTokens
	}
	msgs := make([]tokens.Message, len(r.Messages))
	for i, m := range r.Messages {
		msgs[i] = tokens.Message{Role: m.Role, Name: m.Name, Text: m.Text()}
	}
	r.promptTokens = s.tokens.CountChat(msgs)
	return r.promptTokens
}

func (s *Service) record(base metering.Record, u upstream.Usage) metering.Record {
	base.PromptTokens, base.CompletionTokens = u.PromptTokens, u.CompletionTokens
	base.ReasoningTokens, base.TotalTokens, base.TokensEstimated = u.ReasoningTokens, u.TotalTokens, u.Estimated
	base.CitationTokens, base.SearchQueries = extraInt(u.Extra, "citation_tokens"), extraInt(u.Extra, "num_search_queries")
	return base
}

// checkContext refuses a request that cannot fit the model's context
// window. A token is at least one byte, so the exact count is only needed
// when the byte length says it might not fit.
func (s *Service) checkContext(r *Request) error {
	limit := r.Model.ContextWindow
	if limit <= 0 {
		return nil
	}
	size := r.MaxTokens
	for _, m := range r.Messages {
		size += len(m.Content) + len(m.Role) + 8
	}
	if size <= limit {
		return nil
	}
	if p := s.promptTokens(r); p+r.MaxTokens > limit {
		return platform.Invalid("messages", "This model's context window is %d tokens; the messages take about %d and max_tokens asks for %d more. Shorten the conversation or lower max_tokens.",
			limit, p, r.MaxTokens)
	}
	return nil
}

// unboundedOutputHold is the output a model with no declared bound is
// held for.
const unboundedOutputHold = 32_768

// admit passes the request through the gate; the ticket is nil when
// there is no gate.
func (s *Service) admit(ctx context.Context, c Caller, r *Request) (*gate.Ticket, error) {
	if s.gate == nil {
		return nil, nil
	}
	size, err := contextSize(r)
	if err != nil {
		return nil, err
	}
	// The hold must bound the cost, so the output must be bounded: by the
	// request, else by the model's declared maximum (then sent upstream,
	// so what was held is what may be produced), else by what is left of
	// the context window (held only: upstreams refuse a max_tokens beyond
	// their own limit), else by a generous default.
	maxOut := r.MaxTokens
	if maxOut <= 0 && r.Model.MaxOutputTokens > 0 {
		maxOut = r.Model.MaxOutputTokens
		r.MaxTokens = maxOut
	}
	if maxOut <= 0 && r.Model.ContextWindow > 0 {
		maxOut = r.Model.ContextWindow - s.promptTokens(r)
	}
	if maxOut <= 0 {
		maxOut = unboundedOutputHold
	}
	return s.gate.Admit(ctx, gate.Admission{RequestID: c.RequestID, OrgID: c.OrgID, GroupID: c.GroupID, KeyID: c.KeyID,
		Model: r.Model.ID, PromptTokens: int64(s.promptTokens(r)), MaxOutputTokens: int64(max(maxOut, 0)), ContextSize: size})
}

// contextSize reads web_search_options.search_context_size.
func contextSize(r *Request) (pricing.ContextSize, error) {
	raw, ok := r.Options["web_search_options"]
	if !ok {
		return pricing.ContextLow, nil
	}
	var o struct {
		Size *string `json:"search_context_size"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", platform.Invalid("web_search_options", "web_search_options must be an object")
	}
	if o.Size == nil {
		return pricing.ContextLow, nil
	}
	return pricing.ParseContextSize(*o.Size)
}

// finish settles the ticket (making the record durable and priced) and
// logs the record. An error means the usage could not be recorded.
func (s *Service) finish(ctx context.Context, t *gate.Ticket, rec *metering.Record) error {
	var err error
	if t != nil {
		err = t.Settle(context.WithoutCancel(ctx), rec)
	}
	s.sink.Record(context.WithoutCancel(ctx), *rec)
	return err
}

// withHeaders keeps the x-ratelimit-* headers of an admitted request on
// the error it ended with.
func withHeaders(err error, t *gate.Ticket) error {
	if t == nil {
		return err
	}
	return &gate.HeaderError{Err: err, Headers: t.Headers()}
}

// extraInt reads an integer usage extra (citation_tokens, …).
func extraInt(extra map[string]json.RawMessage, k string) int {
	var n int
	if v, ok := extra[k]; ok {
		_ = json.Unmarshal(v, &n)
	}
	return max(n, 0)
}

// Complete runs a non-streaming completion and records its usage.
func (s *Service) Complete(ctx context.Context, c Caller, endpoint string, r *Request) (*Completion, error) {
	if err := s.checkContext(r); err != nil {
		return nil, err
	}
	o, err := s.groundOptions(r)
	if err != nil {
		return nil, err
	}
	t, err := s.admit(ctx, c, r)
	if err != nil {
		return nil, err
	}
	start := s.now()
	rec := metering.Record{RequestID: c.RequestID, OrgID: c.OrgID, GroupID: c.GroupID, KeyID: c.KeyID,
		Endpoint: endpoint, Model: r.Model.ID, StartedAt: start.UTC()}
	var src *grounding.Sources
	if o != nil {
		if src, err = s.retrieve(ctx, r, o); err != nil {
			rec.Status, rec.Outcome, rec.Error = statusOf(err), metering.OutcomeError, platform.ErrorMessage(err)
			rec.Latency = s.now().Sub(start)
			if ferr := s.finish(ctx, t, &rec); ferr != nil {
				return nil, ferr
			}
			return nil, withHeaders(err, t)
		}
		if !s.hasRoute(r.Model.ID) {
			out, rec := s.completeExtractive(ctx, c, endpoint, r, o, src, rec)
			if err := s.finish(ctx, t, &rec); err != nil {
				return nil, err
			}
			if t != nil {
				out.Usage.Cost = rec.Cost.JSON()
				out.Headers = t.Headers()
			}
			return out, nil
		}
		withSources(r, src)
	}
	resp, at, err := s.router.Complete(ctx, r.Model.ID, s.upstreamRequest(r))
	rec.ServedBy, rec.Deployment, rec.Attempts = at.Model, at.Deployment, at.Attempts
	if err != nil {
		perr := toPlatform(err, r.Model.ID)
		rec.Status, rec.Outcome, rec.Error = statusOf(perr), metering.OutcomeError, platform.ErrorMessage(perr)
		if ctx.Err() != nil {
			rec.Status, rec.Outcome, rec.Error = 499, metering.OutcomeAborted, "cancelled before it finished (client gone or shutdown)"
		}
		rec.PromptTokens = s.promptTokens(r)
		rec.TotalTokens, rec.TokensEstimated = rec.PromptTokens, true
		rec.Latency = s.now().Sub(start)
		if err := s.finish(ctx, t, &rec); err != nil {
			return nil, err
		}
		return nil, withHeaders(perr, t)
	}
	u := s.usage(r, resp.Usage, resp.Content)
	if err := checkOutput(r.Schema, resp.Content); err != nil {
		// The tokens were spent; the record says so, and the client learns why
		// it gets no answer.
		rec = s.record(rec, u)
		rec.Status, rec.Outcome, rec.Error = http.StatusBadGateway, metering.OutcomeError, platform.ErrorMessage(err)
		rec.Latency = s.now().Sub(start)
		if ferr := s.finish(ctx, t, &rec); ferr != nil {
			return nil, ferr
		}
		return nil, withHeaders(err, t)
	}
	finish := resp.FinishReason
	if finish == "" {
		finish = "stop"
	}
	content, extra := resp.Content, resp.Extra
	if src != nil {
		// Only the sources the answer cites, numbered in citation order.
		g := grounding.Cite(content, src)
		content, extra = g.Text, mergeExtra2(resp.Extra, groundedExtra(g, o))
		u.Extra = mergeExtra2(u.Extra, usageExtra(src))
	}
	out := &Completion{ID: newCompletionID(), Object: "chat.completion", Created: start.Unix(), Model: r.Model.ID,
		Choices: []ChoiceJSON{{Index: 0, FinishReason: &finish,
			Message: &MessageJSON{Role: "assistant", Content: content, ToolCalls: resp.ToolCalls}}},
		Usage: usageJSON(u), Extra: extra}
	rec = s.record(rec, u)
	rec.Status, rec.Outcome, rec.Latency = http.StatusOK, metering.OutcomeOK, s.now().Sub(start)
	if err := s.finish(ctx, t, &rec); err != nil {
		return nil, err
	}
	if t != nil {
		out.Usage.Cost = rec.Cost.JSON()
		out.Headers = t.Headers()
	}
	return out, nil
}

// usage returns the upstream's usage, or Tollgate's own count when it sent
// none.
func (s *Service) usage(r *Request, reported *upstream.Usage, completion string) upstream.Usage {
	if reported != nil && (reported.PromptTokens > 0 || reported.CompletionTokens > 0) {
		u := *reported
		if u.TotalTokens == 0 {
			u.TotalTokens = u.PromptTokens + u.CompletionTokens
		}
		return u
	}
	u := upstream.Usage{PromptTokens: s.promptTokens(r), CompletionTokens: s.tokens.Count(completion), Estimated: true}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func usageJSON(u upstream.Usage) *UsageJSON {
	return &UsageJSON{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens: u.TotalTokens, ReasoningTokens: u.ReasoningTokens, Extra: u.Extra}
}

func statusOf(err error) int {
	switch platform.ErrorKind(err) {
	case platform.KindInvalid:
		return http.StatusBadRequest
	case platform.KindRateLimited:
		return http.StatusTooManyRequests
	case platform.KindUnavailable:
		return http.StatusServiceUnavailable
	case platform.KindUpstream:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// toPlatform maps an upstream failure to what the client is told. Upstream
// details (addresses, deployment names) stay in the logs.
func toPlatform(err error, model string) error {
	if errors.Is(err, upstream.ErrNoRoute) {
		return &platform.Error{Kind: platform.KindUnavailable, Err: err, Message: fmt.Sprintf(
			"Model %s has no upstream configured. An operator must add a route for it (see docs/upstreams.md).", model)}
	}
	if errors.Is(err, context.Canceled) {
		return &platform.Error{Kind: platform.KindUnavailable, Err: err, Message: "request cancelled"}
	}
	ue, ok := upstream.AsError(err)
	if !ok {
		return err
	}
	switch {
	case ue.Status == http.StatusTooManyRequests:
		ra := ue.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		return &platform.Error{Kind: platform.KindRateLimited, Err: err, RetryAfter: ra,
			Message: fmt.Sprintf("The upstream serving %s is rate limited; retry after %s.", model, ra.Round(time.Second))}
	case ue.Status == http.StatusServiceUnavailable && ue.Deployment == "all":
		return &platform.Error{Kind: platform.KindUnavailable, Err: err, RetryAfter: 5 * time.Second, Message: ue.Message}
	case ue.Status == http.StatusBadRequest || ue.Status == http.StatusUnprocessableEntity || ue.Status == http.StatusRequestEntityTooLarge:
		return &platform.Error{Kind: platform.KindInvalid, Err: err, Message: "The upstream rejected the request: " + ue.Message}
	case ue.Timeout:
		return &platform.Error{Kind: platform.KindUpstream, Err: err, Message: fmt.Sprintf(
			"The upstream serving %s timed out after every retry.", model)}
	case ue.Status == http.StatusUnauthorized || ue.Status == http.StatusForbidden:
		return &platform.Error{Kind: platform.KindUpstream, Err: err, Message: fmt.Sprintf(
			"The upstream serving %s refused Tollgate's credentials; an operator must check its API key.", model)}
	}
	return &platform.Error{Kind: platform.KindUpstream, Err: err, Message: fmt.Sprintf(
		"The upstream serving %s failed after every retry; try again later.", model)}
}

// midStream describes a failure after output reached the client, which is
// never retried.
func midStream(err error, model string) error {
	perr := toPlatform(err, model)
	if platform.ErrorKind(perr) == platform.KindUpstream {
		return &platform.Error{Kind: platform.KindUpstream, Err: err, Message: fmt.Sprintf(
			"The upstream serving %s failed mid-stream; the answer above is incomplete. Retry the request.", model)}
	}
	return perr
}

// StreamSession is one streamed completion. Next yields chunks; Final is the
// closing chat.completion.done chunk; End records the usage exactly once.
type StreamSession struct {
	s       *Service
	r       *Request
	st      upstream.Stream
	rec     metering.Record
	id      string
	created int64
	start   time.Time

	text     strings.Builder
	counted  int // completion tokens counted so far, for interim usage
	reported *upstream.Usage
	finish   string
	extra    map[string]json.RawMessage
	ttft     time.Duration
	ticket   *gate.Ticket
	cost     *pricing.CostJSON
	// Grounded streams: the sources, the request's search options, the
	// extractive answer (no LLM) or the citer renumbering the LLM's [n].
	src     *grounding.Sources
	opts    *grounding.Options
	answer  *grounding.Grounded
	citer   *grounding.Citer
	flushed bool
	ended   sync.Once
	endErr  error
}

// Headers are the x-ratelimit-* headers to send with the stream.
func (ss *StreamSession) Headers() http.Header {
	if ss.ticket == nil {
		return nil
	}
	return ss.ticket.Headers()
}

// Stream starts a streamed completion. It returns once the upstream has
// produced its first chunk (or every deployment failed), so a failure
// before any output can still be answered with a proper status.
func (s *Service) Stream(ctx context.Context, c Caller, endpoint string, r *Request) (*StreamSession, error) {
	if err := s.checkContext(r); err != nil {
		return nil, err
	}
	o, err := s.groundOptions(r)
	if err != nil {
		return nil, err
	}
	t, err := s.admit(ctx, c, r)
	if err != nil {
		return nil, err
	}
	start := s.now()
	rec := metering.Record{RequestID: c.RequestID, OrgID: c.OrgID, GroupID: c.GroupID, KeyID: c.KeyID,
		Endpoint: endpoint, Model: r.Model.ID, Stream: true, StartedAt: start.UTC()}
	ss := &StreamSession{s: s, r: r, rec: rec, id: newCompletionID(), created: start.Unix(), start: start, ticket: t, opts: o}
	var (
		st upstream.Stream
		at upstream.Attempt
	)
	if o != nil {
		src, rerr := s.retrieve(ctx, r, o)
		if rerr != nil {
			if ferr := ss.End(ctx, metering.OutcomeError, statusOf(rerr), platform.ErrorMessage(rerr)); ferr != nil {
				return nil, ferr
			}
			return nil, withHeaders(rerr, t)
		}
		ss.src = src
		if !s.hasRoute(r.Model.ID) {
			g := s.grounder.Extractive(question(r), src)
			ss.answer = g
			u := &upstream.Usage{PromptTokens: s.promptTokens(r), CompletionTokens: s.tokens.Count(g.Text), Estimated: true,
				Extra: usageExtra(src)}
			u.TotalTokens = u.PromptTokens + u.CompletionTokens
			ss.rec.ServedBy, ss.rec.Deployment, ss.rec.Attempts = r.Model.ID, "extractive", 1
			ss.st = &textStream{chunks: extractiveChunks(g.Text), usage: u}
			return ss, nil
		}
		withSources(r, src)
		ss.citer = grounding.NewCiter(src)
	}
	ur := s.upstreamRequest(r)
	ur.Stream = true
	st, at, err = s.router.Stream(ctx, r.Model.ID, ur)
	ss.rec.ServedBy, ss.rec.Deployment, ss.rec.Attempts = at.Model, at.Deployment, at.Attempts
	if err != nil {
		perr := toPlatform(err, r.Model.ID)
		outcome, status := metering.OutcomeError, statusOf(perr)
		if ctx.Err() != nil {
			outcome, status = metering.OutcomeAborted, 499
		}
		if ferr := ss.End(ctx, outcome, status, platform.ErrorMessage(perr)); ferr != nil {
			return nil, ferr
		}
		return nil, withHeaders(perr, t)
	}
	ss.st = st
	return ss, nil
}

// ID is the completion's ID.
func (ss *StreamSession) ID() string { return ss.id }

func (ss *StreamSession) chunk(object string) *Completion {
	return &Completion{ID: ss.id, Object: object, Created: ss.created, Model: ss.r.Model.ID}
}

// Next returns the next chunk to send, or io.EOF after the upstream's last.
// A mid-stream failure returns an error to send as an error event.
func (ss *StreamSession) Next() (*Completion, error) {
	for {
		c, err := ss.st.Recv()
		if err == io.EOF && ss.citer != nil && !ss.flushed {
			// Text the citer held back (a marker cut between chunks).
			ss.flushed = true
			if rest := ss.citer.Flush(); rest != "" {
				c, err = upstream.Chunk{Content: rest}, nil
			}
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, midStream(err, ss.r.Model.ID)
		}
		if ss.citer != nil && !ss.flushed && c.Content != "" {
			c.Content = ss.citer.Write(c.Content)
		}
		if c.Usage != nil {
			ss.reported = c.Usage
		}
		if c.FinishReason != "" {
			ss.finish = c.FinishReason
		}
		for k, v := range c.Extra {
			if ss.extra == nil {
				ss.extra = map[string]json.RawMessage{}
			}
			ss.extra[k] = v
		}
		if c.Content == "" && len(c.ToolCalls) == 0 {
			continue // usage-only or empty chunks are folded into the next
		}
		if ss.ttft == 0 {
			ss.ttft = ss.s.now().Sub(ss.start)
		}
		ss.text.WriteString(c.Content)
		ss.counted += ss.s.tokens.Count(c.Content)
		out := ss.chunk("chat.completion.chunk")
		content := c.Content
		out.Choices = []ChoiceJSON{{Index: 0, Delta: &DeltaJSON{Role: "assistant", Content: &content, ToolCalls: c.ToolCalls}}}
		if !ss.r.openAIStyleUsage() {
			// Perplexity's clients take the last cumulative usage seen; OpenAI's
			// (which ask with stream_options) add up every usage they get, so
			// they get it once, at the end.
			out.Usage = ss.interimUsage()
		}
		out.Extra = ss.extraJSON()
		return out, nil
	}
}

func (ss *StreamSession) interimUsage() *UsageJSON {
	if ss.reported != nil && ss.reported.CompletionTokens > 0 {
		return usageJSON(*ss.reported)
	}
	prompt := ss.s.promptTokens(ss.r)
	return &UsageJSON{PromptTokens: prompt, CompletionTokens: ss.counted, TotalTokens: prompt + ss.counted}
}

func (ss *StreamSession) extraJSON() map[string]json.RawMessage {
	if len(ss.extra) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(ss.extra))
	for k, v := range ss.extra {
		out[k] = v
	}
	return out
}

// Final returns the closing chunk: chat.completion.done with the finish
// reason, the final usage and the upstream's extra fields.
func (ss *StreamSession) Final() *Completion {
	finish := ss.finish
	if finish == "" {
		finish = "stop"
	}
	out := ss.chunk("chat.completion.done")
	out.Choices = []ChoiceJSON{{Index: 0, FinishReason: &finish, Delta: &DeltaJSON{}}}
	out.Usage = usageJSON(ss.finalUsage())
	out.Usage.Cost = ss.cost
	out.Extra = ss.extraJSON()
	if g := ss.grounded(); g != nil {
		out.Extra = mergeExtra2(out.Extra, groundedExtra(g, ss.opts))
		out.Usage.Extra = mergeExtra2(out.Usage.Extra, usageExtra(ss.src))
	}
	return out
}

// grounded is the citation fields of a grounded stream, nil otherwise.
func (ss *StreamSession) grounded() *grounding.Grounded {
	switch {
	case ss.answer != nil:
		return ss.answer
	case ss.citer != nil:
		return ss.citer.Grounded(ss.text.String())
	}
	return nil
}

func (ss *StreamSession) finalUsage() upstream.Usage {
	return ss.s.usage(ss.r, ss.reported, ss.text.String())
}

// Cancel closes the upstream connection, which makes a Recv blocked in
// another goroutine return. It records nothing; End must still be called.
func (ss *StreamSession) Cancel() {
	if ss.st != nil {
		_ = ss.st.Close()
	}
}

// End closes the upstream stream and records the usage, once: the tokens
// actually streamed, with how the request ended. Call it before sending
// Final: it prices the request, and the record is durable when it returns.
// An error means the usage could not be recorded.
func (ss *StreamSession) End(ctx context.Context, outcome metering.Outcome, status int, reason string) error {
	ss.ended.Do(func() {
		if ss.st != nil {
			_ = ss.st.Close()
		}
		rec := ss.s.record(ss.rec, ss.finalUsage())
		if ss.src != nil {
			rec.SearchQueries = ss.src.Queries
		}
		rec.Status, rec.Outcome, rec.Error = status, outcome, reason
		rec.Latency, rec.TTFT = ss.s.now().Sub(ss.start), ss.ttft
		ss.endErr = ss.s.finish(ctx, ss.ticket, &rec)
		if ss.ticket != nil {
			ss.cost = rec.Cost.JSON()
		}
	})
	return ss.endErr
}
