package upstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OpenAIConfig configures an OpenAI-compatible upstream.
type OpenAIConfig struct {
	Name    string // deployment name, for errors and metrics
	BaseURL string // e.g. http://127.0.0.1:8000/v1; /chat/completions is appended
	APIKey  string
	Headers map[string]string
	// Passthrough forwards every request option, including ones OpenAI does
	// not know (for Perplexity upstreams, which take search options).
	Passthrough bool
	HTTPClient  *http.Client
}

// OpenAI is a client of an OpenAI-compatible chat completions endpoint.
type OpenAI struct {
	cfg OpenAIConfig
	url string
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns a provider for cfg.
func NewOpenAI(cfg OpenAIConfig) *OpenAI {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &OpenAI{cfg: cfg, url: strings.TrimRight(cfg.BaseURL, "/") + "/chat/completions"}
}

// openAIOptions are the request fields forwarded to OpenAI-compatible
// servers. Others (Perplexity's search options) would make OpenAI itself
// answer 400, so they are dropped unless the upstream is a passthrough.
var openAIOptions = map[string]bool{
	"temperature": true, "top_p": true, "stop": true, "n": true, "presence_penalty": true,
	"frequency_penalty": true, "logit_bias": true, "logprobs": true, "top_logprobs": true,
	"response_format": true, "seed": true, "tools": true, "tool_choice": true,
	"parallel_tool_calls": true, "user": true, "reasoning_effort": true,
	"max_completion_tokens": true, "top_k": true, "min_p": true, "repetition_penalty": true,
}

func (o *OpenAI) body(r *Request) ([]byte, error) {
	m := make(map[string]any, len(r.Options)+5)
	for k, v := range r.Options {
		if o.cfg.Passthrough || openAIOptions[k] {
			m[k] = v
		}
	}
	m["model"] = r.Model
	m["messages"] = r.Messages
	if r.MaxTokens > 0 {
		m["max_tokens"] = r.MaxTokens
	}
	m["stream"] = r.Stream
	if r.Stream {
		m["stream_options"] = map[string]bool{"include_usage": true}
	}
	return json.Marshal(m)
}

func (o *OpenAI) do(ctx context.Context, r *Request) (*http.Response, error) {
	b, err := o.body(r)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: encode request: %w", o.cfg.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(b))
	if err != nil {
		return nil, &Error{Deployment: o.cfg.Name, Message: err.Error(), Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if o.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.cfg.APIKey)
	}
	for k, v := range o.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, o.transportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, o.statusError(resp)
	}
	return resp, nil
}

func (o *OpenAI) transportError(ctx context.Context, err error) *Error {
	e := &Error{Deployment: o.cfg.Name, Message: err.Error(), Err: err}
	var ne interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		e.Timeout = true
	}
	if ctx.Err() != nil {
		e.Err = ctx.Err()
	}
	return e
}

func (o *OpenAI) statusError(resp *http.Response) *Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Deployment: o.cfg.Name, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && len(body.Error) > 0 {
		var detail struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body.Error, &detail) == nil && detail.Message != "" {
			e.Message = detail.Message
		} else {
			var s string
			if json.Unmarshal(body.Error, &s) == nil {
				e.Message = s
			}
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date) and OpenAI's
// retry-after-ms.
func retryAfter(h http.Header) time.Duration {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if f, err := strconv.ParseFloat(ms, 64); err == nil && f > 0 {
			return time.Duration(f * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// wireChoice and wireResponse are the OpenAI response shapes we read.
type wireChoice struct {
	Message *struct {
		Content   *string         `json:"content"`
		ToolCalls json.RawMessage `json:"tool_calls"`
	} `json:"message"`
	Delta *struct {
		Content   *string         `json:"content"`
		ToolCalls json.RawMessage `json:"tool_calls"`
	} `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

type wireUsage struct {
	PromptTokens            int `json:"prompt_tokens"`
	CompletionTokens        int `json:"completion_tokens"`
	TotalTokens             int `json:"total_tokens"`
	ReasoningTokens         int `json:"reasoning_tokens"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *wireUsage) usage() *Usage {
	if u == nil {
		return nil
	}
	out := &Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
		ReasoningTokens: u.ReasoningTokens}
	if out.ReasoningTokens == 0 && u.CompletionTokensDetails != nil {
		out.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	return out
}

// usageExtras keeps the Perplexity usage fields clients read; cost is left
// out because Tollgate prices requests itself.
func usageExtras(u *Usage, all map[string]json.RawMessage) *Usage {
	if u == nil || all["usage"] == nil {
		return u
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(all["usage"], &m) != nil {
		return u
	}
	for _, k := range []string{"citation_tokens", "num_search_queries", "search_context_size"} {
		v, ok := m[k]
		if !ok || string(v) == "null" {
			continue
		}
		if k == "search_context_size" {
			// The AI SDK rejects any other value.
			var s string
			if json.Unmarshal(v, &s) != nil || (s != "low" && s != "medium" && s != "high") {
				continue
			}
		}
		if u.Extra == nil {
			u.Extra = map[string]json.RawMessage{}
		}
		u.Extra[k] = v
	}
	return u
}

// knownTop are the top-level response fields Tollgate writes itself; the
// rest (citations, search_results, …) pass through as Extra.
var knownTop = map[string]bool{"id": true, "object": true, "created": true, "model": true, "choices": true,
	"usage": true, "system_fingerprint": true, "service_tier": true}

func extras(raw map[string]json.RawMessage) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for k, v := range raw {
		if knownTop[k] || string(v) == "null" {
			continue
		}
		if out == nil {
			out = map[string]json.RawMessage{}
		}
		out[k] = v
	}
	return out
}

type wireResponse struct {
	ID      string
	Choices []wireChoice
	Usage   *wireUsage
}

// decodeFields reads the fields Tollgate uses from an already split
// response or chunk, so a body is scanned once rather than once for these
// and once more for the extras.
func decodeFields(all map[string]json.RawMessage) (w wireResponse, err error) {
	if v := all["id"]; v != nil {
		if err = json.Unmarshal(v, &w.ID); err != nil {
			return w, err
		}
	}
	if v := all["choices"]; v != nil {
		if err = json.Unmarshal(v, &w.Choices); err != nil {
			return w, err
		}
	}
	if v := all["usage"]; v != nil && string(v) != "null" {
		w.Usage = new(wireUsage)
		err = json.Unmarshal(v, w.Usage)
	}
	return w, err
}

// Complete sends a non-streaming request.
func (o *OpenAI) Complete(ctx context.Context, r *Request) (*Response, error) {
	rr := *r
	rr.Stream = false
	resp, err := o.do(ctx, &rr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, o.transportError(ctx, err)
	}
	var all map[string]json.RawMessage
	err = json.Unmarshal(raw, &all)
	var w wireResponse
	if err == nil {
		w, err = decodeFields(all)
	}
	if err != nil || len(w.Choices) == 0 {
		return nil, &Error{Deployment: o.cfg.Name, Status: http.StatusBadGateway,
			Message: "upstream answered 2xx without a chat completion body"}
	}
	c := w.Choices[0]
	out := &Response{ID: w.ID, Usage: usageExtras(w.Usage.usage(), all), Extra: extras(all)}
	if c.Message != nil {
		if c.Message.Content != nil {
			out.Content = *c.Message.Content
		}
		if len(c.Message.ToolCalls) > 0 && string(c.Message.ToolCalls) != "null" {
			out.ToolCalls = c.Message.ToolCalls
		}
	}
	if c.FinishReason != nil {
		out.FinishReason = *c.FinishReason
	}
	return out, nil
}

// Stream sends a streaming request and returns its chunks.
func (o *OpenAI) Stream(ctx context.Context, r *Request) (Stream, error) {
	rr := *r
	rr.Stream = true
	resp, err := o.do(ctx, &rr)
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		return nil, &Error{Deployment: o.cfg.Name, Status: http.StatusBadGateway,
			Message: fmt.Sprintf("upstream answered a stream request with content type %q", ct)}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	return &sseStream{ctx: ctx, o: o, body: resp.Body, sc: sc}, nil
}

// sseStream parses an OpenAI-style server-sent event stream.
type sseStream struct {
	ctx  context.Context
	o    *OpenAI
	body io.ReadCloser
	sc   *bufio.Scanner
	done bool
}

func (s *sseStream) Recv() (Chunk, error) {
	event := ""
	for !s.done && s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, ":"):
			event = ""
			continue
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
			continue
		case !strings.HasPrefix(line, "data:"):
			continue
		}
		data := strings.TrimSpace(line[len("data:"):])
		if data == "[DONE]" {
			s.done = true
			break
		}
		var all map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &all); err != nil {
			return Chunk{}, &Error{Deployment: s.o.cfg.Name, Status: http.StatusBadGateway,
				Message: "upstream sent a stream event that is not JSON"}
		}
		if e, ok := all["error"]; ok && (event == "error" || string(e) != "null") {
			var detail struct {
				Message string `json:"message"`
				Code    any    `json:"code"`
			}
			_ = json.Unmarshal(e, &detail)
			return Chunk{}, &Error{Deployment: s.o.cfg.Name, Status: http.StatusBadGateway,
				Message: "upstream failed mid-stream: " + detail.Message}
		}
		w, err := decodeFields(all)
		if err != nil {
			return Chunk{}, &Error{Deployment: s.o.cfg.Name, Status: http.StatusBadGateway, Message: err.Error()}
		}
		c := Chunk{Usage: usageExtras(w.Usage.usage(), all), Extra: extras(all)}
		if len(w.Choices) > 0 {
			ch := w.Choices[0]
			if ch.Delta != nil {
				if ch.Delta.Content != nil {
					c.Content = *ch.Delta.Content
				}
				if len(ch.Delta.ToolCalls) > 0 && string(ch.Delta.ToolCalls) != "null" {
					c.ToolCalls = ch.Delta.ToolCalls
				}
			}
			if ch.FinishReason != nil {
				c.FinishReason = *ch.FinishReason
			}
		}
		return c, nil
	}
	if err := s.sc.Err(); err != nil && !s.done {
		return Chunk{}, s.o.transportError(s.ctx, err)
	}
	return Chunk{}, io.EOF
}

func (s *sseStream) Close() error { return s.body.Close() }
