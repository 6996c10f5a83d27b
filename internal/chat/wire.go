package chat

import (
	"encoding/json"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// The wire shapes follow the "Recommendations for a wire-compatible Go
// server" of the Perplexity API notes: message.role is always "assistant"
// and content always a string; every stream chunk has id, model, created,
// object and choices[{index, delta}]; absent optional fields are omitted,
// never null.

// UsageJSON is the usage object of responses and chunks.
type UsageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	ReasoningTokens  int `json:"reasoning_tokens,omitempty"`
	// Cost is what Tollgate billed, in Perplexity's shape.
	Cost *pricing.CostJSON `json:"cost,omitempty"`
	// Extra carries Perplexity's usage extras from a Perplexity upstream.
	Extra map[string]json.RawMessage `json:"-"`
}

// MarshalJSON merges Extra into the object.
func (u UsageJSON) MarshalJSON() ([]byte, error) {
	type plain UsageJSON
	return mergeExtra(plain(u), u.Extra)
}

// mergeExtra marshals v and adds the extra fields it does not have itself.
func mergeExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, x := range extra {
		if _, own := m[k]; !own {
			m[k] = x
		}
	}
	return json.Marshal(m)
}

// MessageJSON is an assistant message.
type MessageJSON struct {
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
}

// DeltaJSON is a streamed increment of an assistant message. The closing
// chunk's delta is empty ({}), as OpenAI sends it, which is what clients
// that wait for the end of content (openai-go's accumulator) look for.
type DeltaJSON struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
}

// ChoiceJSON is one choice of a response or chunk.
type ChoiceJSON struct {
	Index        int          `json:"index"`
	FinishReason *string      `json:"finish_reason,omitempty"`
	Message      *MessageJSON `json:"message,omitempty"`
	Delta        *DeltaJSON   `json:"delta,omitempty"`
}

// Completion is a chat.completion response, or a stream chunk
// (chat.completion.chunk / chat.completion.done).
type Completion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChoiceJSON `json:"choices"`
	Usage   *UsageJSON   `json:"usage,omitempty"`
	// Extra holds the fields an upstream added (Perplexity's citations,
	// search_results, images, related_questions); they are merged into the
	// top level.
	Extra map[string]json.RawMessage `json:"-"`
	// Headers are response headers (x-ratelimit-*), not part of the body.
	Headers http.Header `json:"-"`
}

// MarshalJSON merges Extra into the object.
func (c Completion) MarshalJSON() ([]byte, error) {
	type plain Completion
	return mergeExtra(plain(c), c.Extra)
}

// UnmarshalJSON keeps unknown top-level fields in Extra, so a stored
// completion (async jobs) reads back whole.
func (c *Completion) UnmarshalJSON(b []byte) error {
	type plain Completion
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, k := range []string{"id", "object", "created", "model", "choices", "usage"} {
		delete(m, k)
	}
	*c = Completion(p)
	if len(m) > 0 {
		c.Extra = m
	}
	return nil
}
