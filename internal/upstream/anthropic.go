package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
)

// AnthropicConfig configures one deployment on Anthropic's Messages API.
type AnthropicConfig struct {
	Name    string // deployment name, for errors
	BaseURL string // API root without /v1; https://api.anthropic.com when empty
	APIKey  string
	// Headers are sent with every request (anthropic-beta, a proxy's own
	// authentication, …).
	Headers map[string]string
	// HTTPClient carries the timeouts and connection pooling;
	// http.DefaultClient when nil.
	HTTPClient *http.Client
	// MaxTokens is sent when a request sets none, since Anthropic requires
	// max_tokens; 1024 when zero.
	MaxTokens int
}

// Anthropic is a provider for Anthropic's Messages API, through the official
// SDK. It translates Tollgate's OpenAI-shaped requests and responses at its
// edge.
//
// The SDK (v2) speaks API version 2026-10-21, which rejects temperature,
// top_p and top_k with a 400 even at their defaults, so those options are
// dropped rather than forwarded. It also sends the key as
// "Authorization: Bearer"; a proxy that wants x-api-key can get it through
// Headers.
type Anthropic struct {
	name      string
	maxTokens int
	client    anthropic.Client
}

var _ Provider = (*Anthropic)(nil)

// anthropicCompleteTimeout is the per-request timeout handed to the SDK for
// non-streamed calls. Without one the SDK refuses, before sending anything,
// any max_tokens it guesses would take over ten minutes; the caller's context
// and the HTTP client are the real limits, so this is only a ceiling.
const anthropicCompleteTimeout = time.Hour

// NewAnthropic returns a provider for cfg. Nothing is read from the
// environment: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and the SDK's profiles
// would otherwise override the deployment's configuration.
func NewAnthropic(cfg AnthropicConfig) *Anthropic {
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.anthropic.com"
	}
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithoutOpenTelemetry(),
		option.WithBaseURL(base),
		// Tollgate's router retries, on this deployment or another.
		option.WithMaxRetries(0),
	}
	if cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Headers)) {
		opts = append(opts, option.WithHeader(k, cfg.Headers[k]))
	}
	maxTokens := cfg.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 1024
	}
	return &Anthropic{name: cfg.Name, maxTokens: maxTokens, client: anthropic.NewClient(opts...)}
}

// Complete sends r and waits for the whole message.
func (a *Anthropic) Complete(ctx context.Context, r *Request) (*Response, error) {
	params, err := a.params(r)
	if err != nil {
		return nil, err
	}
	msg, err := a.client.Messages.New(ctx, params, option.WithRequestTimeout(anthropicCompleteTimeout))
	if err != nil {
		return nil, a.error(ctx, err)
	}
	out := &Response{ID: msg.ID, FinishReason: anthropicFinishReason(msg.StopReason)}
	var calls []anthropicToolCall
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			out.Content += b.Text
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			c := anthropicToolCall{ID: b.ID, Type: "function"}
			c.Function.Name, c.Function.Arguments = b.Name, args
			calls = append(calls, c)
		}
	}
	if len(calls) > 0 {
		if out.ToolCalls, err = json.Marshal(calls); err != nil {
			return nil, fmt.Errorf("upstream %s: encode tool calls: %w", a.name, err)
		}
	}
	u := msg.Usage
	out.Usage = anthropicUsage(u.InputTokens+u.CacheCreationInputTokens+u.CacheReadInputTokens,
		u.OutputTokens, u.OutputTokensDetails.ThinkingTokens)
	return out, nil
}

// Stream sends r and returns its events as chunks. An error status is
// returned here, before any chunk.
func (a *Anthropic) Stream(ctx context.Context, r *Request) (Stream, error) {
	params, err := a.params(r)
	if err != nil {
		return nil, err
	}
	s := a.client.Messages.NewStreaming(ctx, params)
	if err := s.Err(); err != nil {
		s.Close()
		return nil, a.error(ctx, err)
	}
	return &anthropicStream{a: a, ctx: ctx, sdk: s, tools: map[int64]int{}}, nil
}

// anthropicToolCall is an OpenAI tool call; Index is set only in stream
// deltas.
type anthropicToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// anthropicStream adapts the SDK's event stream to Chunks.
type anthropicStream struct {
	a     *Anthropic
	ctx   context.Context
	sdk   *ssestream.Stream[anthropic.MessageStreamEventUnion]
	tools map[int64]int // content block index → OpenAI tool call index
	usage Usage
	done  bool
}

func (s *anthropicStream) Recv() (Chunk, error) {
	for !s.done {
		if !s.sdk.Next() {
			err := s.sdk.Err()
			if err == nil {
				// The body ended without message_stop: a cut connection,
				// not a finished answer.
				err = fmt.Errorf("stream ended before message_stop: %w", io.ErrUnexpectedEOF)
			}
			return Chunk{}, s.a.error(s.ctx, err)
		}
		if c, ok, err := s.chunk(s.sdk.Current()); err != nil || ok {
			return c, err
		}
	}
	return Chunk{}, io.EOF
}

// chunk translates one event; ok is false for events that carry nothing for
// the client (message_start, content_block_stop, pings, thinking).
func (s *anthropicStream) chunk(ev anthropic.MessageStreamEventUnion) (c Chunk, ok bool, err error) {
	switch ev.Type {
	case "message_start":
		u := ev.Message.Usage
		s.usage.PromptTokens = int(u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens)
		s.usage.CompletionTokens = int(u.OutputTokens)
	case "content_block_start":
		b := ev.ContentBlock
		switch b.Type {
		case "text":
			return Chunk{Content: b.Text}, b.Text != "", nil
		case "tool_use":
			i := len(s.tools)
			s.tools[ev.Index] = i
			d := anthropicToolCall{Index: &i, ID: b.ID, Type: "function"}
			d.Function.Name = b.Name
			return s.toolDelta(d)
		}
	case "content_block_delta":
		switch ev.Delta.Type {
		case "text_delta":
			return Chunk{Content: ev.Delta.Text}, ev.Delta.Text != "", nil
		case "input_json_delta":
			i, known := s.tools[ev.Index]
			if !known || ev.Delta.PartialJSON == "" {
				return Chunk{}, false, nil
			}
			d := anthropicToolCall{Index: &i}
			d.Function.Arguments = ev.Delta.PartialJSON
			return s.toolDelta(d)
		}
	case "message_delta":
		u := ev.Usage
		if in := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens; in > 0 {
			s.usage.PromptTokens = int(in)
		}
		s.usage.CompletionTokens = int(u.OutputTokens)
		s.usage.ReasoningTokens = int(u.OutputTokensDetails.ThinkingTokens)
		s.usage.TotalTokens = s.usage.PromptTokens + s.usage.CompletionTokens
		usage := s.usage
		return Chunk{FinishReason: anthropicFinishReason(ev.Delta.StopReason), Usage: &usage}, true, nil
	case "message_stop":
		s.done = true
	}
	return Chunk{}, false, nil
}

func (s *anthropicStream) toolDelta(d anthropicToolCall) (Chunk, bool, error) {
	b, err := json.Marshal([]anthropicToolCall{d})
	if err != nil {
		return Chunk{}, false, fmt.Errorf("upstream %s: encode tool call delta: %w", s.a.name, err)
	}
	return Chunk{ToolCalls: b}, true, nil
}

// Close closes the SDK stream and with it the HTTP response.
func (s *anthropicStream) Close() error { return s.sdk.Close() }

func anthropicUsage(prompt, completion, reasoning int64) *Usage {
	return &Usage{
		PromptTokens:     int(prompt),
		CompletionTokens: int(completion),
		TotalTokens:      int(prompt + completion),
		ReasoningTokens:  int(reasoning),
	}
}

func anthropicFinishReason(r anthropic.StopReason) string {
	switch r {
	case "":
		return ""
	case anthropic.StopReasonMaxTokens, anthropic.StopReasonModelContextWindowExceeded:
		return "length"
	case anthropic.StopReasonToolUse:
		return "tool_calls"
	case anthropic.StopReasonRefusal:
		return "content_filter"
	}
	return "stop" // end_turn, stop_sequence, pause_turn
}

// error classifies an SDK error. An error event in a stream arrives after a
// 200, so its status comes from the error type.
func (a *Anthropic) error(ctx context.Context, err error) *Error {
	e := &Error{Deployment: a.name, Err: err}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		e.Err = fmt.Errorf("%w: %w", ctxErr, err)
	}
	var aerr *anthropic.Error
	var timeout interface{ Timeout() bool }
	switch {
	case errors.As(err, &aerr):
		e.Status = aerr.StatusCode
		if e.Status < 400 {
			e.Status = anthropicErrorStatus(aerr.Type())
		}
		e.Message = aerr.Message
		if e.Message == "" {
			e.Message = http.StatusText(e.Status)
		}
		if aerr.Response != nil {
			e.RetryAfter = anthropicRetryAfter(aerr.Response.Header.Get("Retry-After"))
		}
	case errors.Is(e.Err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		e.Timeout = true
		e.Message = err.Error()
	default:
		e.Message = err.Error()
	}
	return e
}

// anthropicErrorStatus is the HTTP status Anthropic documents for each error
// type.
func anthropicErrorStatus(t anthropic.ErrorType) int {
	switch t {
	case anthropic.ErrorTypeInvalidRequestError:
		return http.StatusBadRequest
	case anthropic.ErrorTypeAuthenticationError:
		return http.StatusUnauthorized
	case anthropic.ErrorTypeBillingError:
		return http.StatusPaymentRequired
	case anthropic.ErrorTypePermissionError:
		return http.StatusForbidden
	case anthropic.ErrorTypeNotFoundError:
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case anthropic.ErrorTypeRateLimitError:
		return http.StatusTooManyRequests
	case anthropic.ErrorTypeTimeoutError:
		return http.StatusGatewayTimeout
	case anthropic.ErrorTypeOverloadedError:
		return 529
	}
	return http.StatusInternalServerError // api_error and anything new
}

// anthropicRetryAfter reads a Retry-After of seconds or an HTTP date.
func anthropicRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return max(time.Duration(s*float64(time.Second)), 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func anthropicBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// invalid refuses a request Anthropic cannot express, as Anthropic's own 400
// would, without a round trip.
func (a *Anthropic) invalid(format string, args ...any) *Error {
	return &Error{Deployment: a.name, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// params translates an OpenAI-shaped request.
func (a *Anthropic) params(r *Request) (anthropic.MessageNewParams, error) {
	p := anthropic.MessageNewParams{Model: anthropic.Model(r.Model), MaxTokens: int64(a.maxTokens)}
	if r.MaxTokens > 0 {
		p.MaxTokens = int64(r.MaxTokens)
	}
	var system []string
	type turn struct {
		role   string
		blocks []anthropic.ContentBlockParamUnion
	}
	var turns []turn
	add := func(role string, blocks []anthropic.ContentBlockParamUnion) {
		if len(blocks) == 0 {
			return
		}
		// Anthropic wants user and assistant to alternate.
		if n := len(turns); n > 0 && turns[n-1].role == role {
			turns[n-1].blocks = append(turns[n-1].blocks, blocks...)
			return
		}
		turns = append(turns, turn{role, blocks})
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer":
			if t := m.Text(); t != "" {
				system = append(system, t)
			}
		case "user":
			blocks, err := a.content(i, m.Content)
			if err != nil {
				return p, err
			}
			add("user", blocks)
		case "assistant":
			blocks, err := a.content(i, m.Content)
			if err != nil {
				return p, err
			}
			calls, err := a.toolUses(i, m.ToolCalls)
			if err != nil {
				return p, err
			}
			add("assistant", append(blocks, calls...))
		case "tool":
			res, err := a.toolResult(i, m)
			if err != nil {
				return p, err
			}
			add("user", []anthropic.ContentBlockParamUnion{res})
		default:
			return p, a.invalid("messages[%d]: role %q is not supported", i, m.Role)
		}
	}
	if instr := jsonInstruction(r.Options["response_format"]); instr != "" {
		system = append(system, instr)
	}
	if len(system) > 0 {
		p.System = []anthropic.TextBlockParam{{Text: strings.Join(system, "\n\n")}}
	}
	for _, t := range turns {
		if t.role == "user" {
			// Tool results must open the user turn that follows the calls.
			slices.SortStableFunc(t.blocks, func(x, y anthropic.ContentBlockParamUnion) int {
				return anthropicBool(y.OfToolResult != nil) - anthropicBool(x.OfToolResult != nil)
			})
			p.Messages = append(p.Messages, anthropic.NewUserMessage(t.blocks...))
		} else {
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(t.blocks...))
		}
	}
	return p, a.options(&p, r.Options)
}

// content translates a message's content: a string, or OpenAI content parts.
// Empty text is left out, as Anthropic refuses empty text blocks.
func (a *Anthropic) content(i int, raw json.RawMessage) ([]anthropic.ContentBlockParamUnion, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil, nil
		}
		return []anthropic.ContentBlockParamUnion{anthropic.NewTextBlock(s)}, nil
	}
	var parts []struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		Refusal  string          `json:"refusal"`
		ImageURL json.RawMessage `json:"image_url"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, a.invalid("messages[%d].content: not a string or an array of content parts", i)
	}
	var out []anthropic.ContentBlockParamUnion
	for j, part := range parts {
		switch part.Type {
		case "text":
			if part.Text != "" {
				out = append(out, anthropic.NewTextBlock(part.Text))
			}
		case "refusal": // an assistant's earlier refusal, replayed
			if part.Refusal != "" {
				out = append(out, anthropic.NewTextBlock(part.Refusal))
			}
		case "image_url":
			var u struct {
				URL string `json:"url"`
			}
			if json.Unmarshal(part.ImageURL, &u.URL) != nil {
				_ = json.Unmarshal(part.ImageURL, &u)
			}
			b, err := a.image(u.URL)
			if err != nil {
				return nil, a.invalid("messages[%d].content[%d]: %s", i, j, err)
			}
			out = append(out, b)
		default:
			return nil, a.invalid("messages[%d].content[%d]: content part type %q is not supported", i, j, part.Type)
		}
	}
	return out, nil
}

// image turns an OpenAI image URL into an Anthropic image source: base64 for
// a data: URI, a URL source for http(s).
func (a *Anthropic) image(u string) (anthropic.ContentBlockParamUnion, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || mediaType == "" || data == "" {
			return anthropic.ContentBlockParamUnion{}, errors.New("image data URI must be data:<media type>;base64,<data>")
		}
		return anthropic.NewImageBlockBase64(mediaType, data), nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return anthropic.NewImageBlock(anthropic.URLImageSourceParam{URL: u}), nil
	}
	return anthropic.ContentBlockParamUnion{}, errors.New("image_url must be a data: URI or an http(s) URL")
}

// toolUses translates an assistant's OpenAI tool_calls to tool_use blocks.
func (a *Anthropic) toolUses(i int, raw json.RawMessage) ([]anthropic.ContentBlockParamUnion, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var calls []anthropicToolCall
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, a.invalid("messages[%d].tool_calls: %s", i, err)
	}
	out := make([]anthropic.ContentBlockParamUnion, 0, len(calls))
	for j, c := range calls {
		args := strings.TrimSpace(c.Function.Arguments)
		if args == "" || args == "null" {
			args = "{}"
		}
		if !json.Valid([]byte(args)) {
			return nil, a.invalid("messages[%d].tool_calls[%d].function.arguments is not JSON", i, j)
		}
		out = append(out, anthropic.NewToolUseBlock(c.ID, json.RawMessage(args), c.Function.Name))
	}
	return out, nil
}

// toolResult translates a tool message to a tool_result block.
func (a *Anthropic) toolResult(i int, m Message) (anthropic.ContentBlockParamUnion, error) {
	if m.ToolCallID == "" {
		return anthropic.ContentBlockParamUnion{}, a.invalid("messages[%d]: a tool message needs tool_call_id", i)
	}
	blocks, err := a.content(i, m.Content)
	if err != nil {
		return anthropic.ContentBlockParamUnion{}, err
	}
	res := anthropic.ToolResultBlockParam{ToolUseID: m.ToolCallID}
	for _, b := range blocks {
		switch {
		case b.OfText != nil:
			res.Content = append(res.Content, anthropic.ToolResultBlockParamContentUnion{OfText: b.OfText})
		case b.OfImage != nil:
			res.Content = append(res.Content, anthropic.ToolResultBlockParamContentUnion{OfImage: b.OfImage})
		}
	}
	return anthropic.ContentBlockParamUnion{OfToolResult: &res}, nil
}

// options translates the OpenAI parameters Anthropic has a counterpart for.
// temperature and top_p have none in API version 2026-10-21, response_format
// is left to the caller's validation, and the rest is ignored.
func (a *Anthropic) options(p *anthropic.MessageNewParams, opts map[string]json.RawMessage) error {
	if raw, ok := opts["stop"]; ok && string(raw) != "null" {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			p.StopSequences = []string{one}
		} else if err := json.Unmarshal(raw, &p.StopSequences); err != nil {
			return a.invalid("stop: must be a string or an array of strings")
		}
	}
	if raw, ok := opts["tools"]; ok && string(raw) != "null" {
		var tools []struct {
			Type     string `json:"type"`
			Function struct {
				Name        string                     `json:"name"`
				Description string                     `json:"description"`
				Parameters  map[string]json.RawMessage `json:"parameters"`
				Strict      *bool                      `json:"strict"`
			} `json:"function"`
		}
		if err := json.Unmarshal(raw, &tools); err != nil {
			return a.invalid("tools: %s", err)
		}
		for j, t := range tools {
			if t.Type != "function" {
				return a.invalid("tools[%d]: tool type %q is not supported", j, t.Type)
			}
			f := t.Function
			schema := anthropic.ToolInputSchemaParam{Properties: json.RawMessage(`{}`)}
			for k, v := range f.Parameters {
				switch k {
				case "type":
				case "properties":
					schema.Properties = v
				case "required":
					if err := json.Unmarshal(v, &schema.Required); err != nil {
						return a.invalid("tools[%d].function.parameters.required: %s", j, err)
					}
				default:
					if schema.ExtraFields == nil {
						schema.ExtraFields = map[string]any{}
					}
					schema.ExtraFields[k] = v
				}
			}
			tool := anthropic.ToolParam{Name: f.Name, InputSchema: schema}
			if f.Description != "" {
				tool.Description = anthropic.String(f.Description)
			}
			if f.Strict != nil {
				tool.Strict = anthropic.Bool(*f.Strict)
			}
			p.Tools = append(p.Tools, anthropic.ToolUnionParam{OfTool: &tool})
		}
	}
	if raw, ok := opts["tool_choice"]; ok && string(raw) != "null" {
		var mode string
		var named struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		switch {
		case json.Unmarshal(raw, &mode) == nil:
			switch mode {
			case "auto":
				p.ToolChoice.OfAuto = &anthropic.ToolChoiceAutoParam{}
			case "none":
				p.ToolChoice.OfNone = &anthropic.ToolChoiceNoneParam{}
			case "required":
				p.ToolChoice.OfAny = &anthropic.ToolChoiceAnyParam{}
			default:
				return a.invalid("tool_choice: %q is not supported", mode)
			}
		case json.Unmarshal(raw, &named) == nil && named.Type == "function" && named.Function.Name != "":
			p.ToolChoice.OfTool = &anthropic.ToolChoiceToolParam{Name: named.Function.Name}
		default:
			return a.invalid("tool_choice: must be auto, none, required or a named function")
		}
	}
	var parallel bool
	if raw, ok := opts["parallel_tool_calls"]; ok && len(p.Tools) > 0 && json.Unmarshal(raw, &parallel) == nil && !parallel {
		tc := &p.ToolChoice
		switch {
		case tc.OfAny != nil:
			tc.OfAny.DisableParallelToolUse = anthropic.Bool(true)
		case tc.OfTool != nil:
			tc.OfTool.DisableParallelToolUse = anthropic.Bool(true)
		case tc.OfNone != nil:
		default:
			if tc.OfAuto == nil {
				tc.OfAuto = &anthropic.ToolChoiceAutoParam{}
			}
			tc.OfAuto.DisableParallelToolUse = anthropic.Bool(true)
		}
	}
	return nil
}

// jsonInstruction turns an OpenAI response_format into a system instruction,
// since the Messages API has no structured-output parameter; Tollgate then
// validates the answer against the schema itself.
func jsonInstruction(rf json.RawMessage) string {
	if len(rf) == 0 {
		return ""
	}
	var f struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if json.Unmarshal(rf, &f) != nil {
		return ""
	}
	switch f.Type {
	case "json_object":
		return "Answer with a single JSON object and nothing else: no prose, no Markdown fence."
	case "json_schema":
		return "Answer with a single JSON value that validates against this JSON Schema, and nothing else " +
			"(no prose, no Markdown fence):\n" + string(f.JSONSchema.Schema)
	}
	return ""
}
