// Package upstream talks to the LLM servers behind Tollgate: OpenAI-compatible
// chat completion endpoints (vLLM, Ollama, llama.cpp, LM Studio, OpenAI,
// OpenRouter, Perplexity) and Anthropic's Messages API, each behind the
// Provider interface, and the Router that spreads a model's traffic over
// weighted deployments with retries, fallbacks and circuit breakers.
//
// Requests and responses here are in the OpenAI chat completions shape,
// which is Tollgate's wire format; providers that speak something else
// translate at their edge.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Message is one chat message. Content stays raw JSON (a string or an array
// of content parts) so multimodal parts pass through untouched.
type Message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// Text returns the message's text: the string content, or the text parts of
// a content array joined by newlines.
func (m Message) Text() string {
	if len(m.Content) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	out := ""
	for _, p := range parts {
		if p.Type == "text" && p.Text != "" {
			if out != "" {
				out += "\n"
			}
			out += p.Text
		}
	}
	return out
}

// Request is a chat completion request after validation. Options holds the
// OpenAI parameters forwarded as they came (temperature, tools,
// response_format, …); providers decide which they can honour.
type Request struct {
	Model     string // the upstream's own model name, set by the router
	Messages  []Message
	MaxTokens int // 0: the upstream's default
	Stream    bool
	Options   map[string]json.RawMessage
}

// Usage counts tokens. Estimated is set when Tollgate counted them itself
// because the upstream reported none.
type Usage struct {
	PromptTokens     int  `json:"prompt_tokens"`
	CompletionTokens int  `json:"completion_tokens"`
	TotalTokens      int  `json:"total_tokens"`
	ReasoningTokens  int  `json:"reasoning_tokens,omitempty"`
	Estimated        bool `json:"-"`
	// Extra holds Perplexity's usage extras (citation_tokens,
	// num_search_queries, search_context_size) when an upstream sent them.
	Extra map[string]json.RawMessage `json:"-"`
}

// Response is a finished, non-streamed completion.
type Response struct {
	ID           string
	Content      string
	ToolCalls    json.RawMessage
	FinishReason string
	Usage        *Usage // nil when the upstream reported none
	// Extra holds top-level fields an upstream returned beside the OpenAI
	// ones (Perplexity's citations and search_results), passed through.
	Extra map[string]json.RawMessage
}

// Chunk is one streamed increment.
type Chunk struct {
	Content      string
	ToolCalls    json.RawMessage
	FinishReason string
	Usage        *Usage // cumulative, when the upstream sends it
	Extra        map[string]json.RawMessage
}

// Stream yields chunks until Recv returns io.EOF. Close releases the
// upstream connection and must always be called.
type Stream interface {
	Recv() (Chunk, error)
	Close() error
}

// Provider is one upstream deployment's API.
type Provider interface {
	Complete(ctx context.Context, r *Request) (*Response, error)
	Stream(ctx context.Context, r *Request) (Stream, error)
}

// Error is a failed upstream call, classified for retries and for the
// status Tollgate answers with.
type Error struct {
	Deployment string
	Status     int           // the upstream's HTTP status; 0 for transport failures
	RetryAfter time.Duration // from the upstream's Retry-After, if any
	Message    string        // the upstream's error message, for logs
	Timeout    bool
	Err        error
}

func (e *Error) Error() string {
	switch {
	case e.Timeout:
		return fmt.Sprintf("upstream %s: timed out: %s", e.Deployment, e.Message)
	case e.Status == 0:
		return fmt.Sprintf("upstream %s: %s", e.Deployment, e.Message)
	}
	return fmt.Sprintf("upstream %s: HTTP %d: %s", e.Deployment, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another attempt (here or on another
// deployment) may succeed: rate limits, server errors, timeouts and
// connection failures. A 4xx other than 408/409/429 is the request's fault.
func (e *Error) Retryable() bool {
	switch {
	case e.Timeout, e.Status == 0:
		return true
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout,
		e.Status == http.StatusConflict, e.Status >= 500:
		return true
	}
	return false
}

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ErrNoRoute is returned for a model with no usable deployment.
var ErrNoRoute = errors.New("no upstream deployment is configured for this model")
