package upstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/upstream"
)

var updateAnthropicGolden = flag.Bool("update-anthropic", false, "rewrite testdata/anthropic/*.json from what the fake receives")

const anthropicTestKey = "sk-ant-api03-test"

// fakeAnthropic speaks Anthropic's Messages API: POST /v1/messages with the
// documented headers, a request validated as the API would (answering its
// 400 invalid_request_error when it is not), and replies written by the test.
type fakeAnthropic struct {
	t     *testing.T
	srv   *httptest.Server
	reply func(w http.ResponseWriter, r *http.Request, body map[string]any)

	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
}

func newFakeAnthropic(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, body map[string]any)) *fakeAnthropic {
	t.Helper()
	f := &fakeAnthropic{t: t, reply: reply}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAnthropic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		anthropicErrorReply(w, http.StatusNotFound, "not_found_error", "Not found")
		return
	}
	// API version 2026-10-21 takes the key as a bearer token as well as in x-api-key.
	if r.Header.Get("Authorization") != "Bearer "+anthropicTestKey && r.Header.Get("X-Api-Key") != anthropicTestKey {
		anthropicErrorReply(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	version := r.Header.Get("Anthropic-Version")
	if version != "2023-06-01" && version != "2026-10-21" {
		anthropicErrorReply(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: invalid version "+version)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		anthropicErrorReply(w, http.StatusBadRequest, "invalid_request_error", "content-type must be application/json")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		anthropicErrorReply(w, http.StatusBadRequest, "invalid_request_error", "request body is not valid JSON")
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, raw)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	if err := validateAnthropicRequest(body, version); err != nil {
		anthropicErrorReply(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	f.reply(w, r, body)
}

func (f *fakeAnthropic) provider(cfg upstream.AnthropicConfig) *upstream.Anthropic {
	cfg.Name = "claude-primary"
	cfg.BaseURL = f.srv.URL
	cfg.APIKey = anthropicTestKey
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = f.srv.Client()
	}
	return upstream.NewAnthropic(cfg)
}

func (f *fakeAnthropic) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

// last returns the last request the fake received.
func (f *fakeAnthropic) last() (http.Header, []byte) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		f.t.Fatal("the fake received no request")
	}
	return f.headers[len(f.headers)-1], f.bodies[len(f.bodies)-1]
}

func (f *fakeAnthropic) lastBody() map[string]any {
	f.t.Helper()
	_, raw := f.last()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

var anthropicToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

// validateAnthropicRequest checks a Messages request as the API documents it.
// Messages with a system role are refused: the provider never sends them.
func validateAnthropicRequest(b map[string]any, version string) error {
	known := map[string]bool{"model": true, "max_tokens": true, "messages": true, "system": true,
		"stop_sequences": true, "stream": true, "tools": true, "tool_choice": true, "metadata": true,
		"thinking": true, "service_tier": true, "container": true, "output_config": true,
		"cache_control": true, "inference_geo": true, "speed": true, "diagnostics": true}
	for k := range b {
		switch {
		case (k == "temperature" || k == "top_p" || k == "top_k") && version == "2026-10-21":
			return fmt.Errorf("%s: this parameter is not supported in API version 2026-10-21", k)
		case k == "temperature" || k == "top_p" || k == "top_k":
		case !known[k]:
			return fmt.Errorf("%s: Extra inputs are not permitted", k)
		}
	}
	if m, _ := b["model"].(string); m == "" {
		return errors.New("model: Field required")
	}
	if n, ok := b["max_tokens"].(float64); !ok || n < 1 || n != float64(int64(n)) {
		return errors.New("max_tokens: Input should be a positive integer")
	}
	if s, ok := b["stream"]; ok {
		if _, ok := s.(bool); !ok {
			return errors.New("stream: Input should be a valid boolean")
		}
	}
	if s, ok := b["system"]; ok {
		if err := validateAnthropicText(s, "system"); err != nil {
			return err
		}
	}
	if s, ok := b["stop_sequences"]; ok {
		list, ok := s.([]any)
		if !ok {
			return errors.New("stop_sequences: Input should be a valid list")
		}
		for i, x := range list {
			if _, ok := x.(string); !ok {
				return fmt.Errorf("stop_sequences.%d: Input should be a valid string", i)
			}
		}
	}
	if err := validateAnthropicTools(b); err != nil {
		return err
	}
	msgs, _ := b["messages"].([]any)
	if len(msgs) == 0 {
		return errors.New("messages: at least one message is required")
	}
	var pending map[string]bool // tool_use ids awaiting their tool_result
	for i, x := range msgs {
		m, _ := x.(map[string]any)
		role, _ := m["role"].(string)
		if role != "user" && role != "assistant" {
			return fmt.Errorf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if i == 0 && role != "user" {
			return errors.New("messages: first message must use the \"user\" role")
		}
		var blocks []any
		switch c := m["content"].(type) {
		case string:
			if c == "" {
				return fmt.Errorf("messages.%d: user messages must have non-empty content", i)
			}
		case []any:
			if len(c) == 0 {
				return fmt.Errorf("messages.%d: all messages must have non-empty content", i)
			}
			blocks = c
		default:
			return fmt.Errorf("messages.%d.content: Input should be a valid list", i)
		}
		uses := map[string]bool{}
		seenOther := false
		for j, y := range blocks {
			blk, _ := y.(map[string]any)
			at := fmt.Sprintf("messages.%d.content.%d", i, j)
			switch typ, _ := blk["type"].(string); typ {
			case "text":
				if err := validateAnthropicText([]any{blk}, at); err != nil {
					return err
				}
				seenOther = true
			case "image":
				if err := validateAnthropicImage(blk, at); err != nil {
					return err
				}
				seenOther = true
			case "tool_use":
				if role != "assistant" {
					return fmt.Errorf("%s: tool_use blocks are only allowed in assistant messages", at)
				}
				id, _ := blk["id"].(string)
				name, _ := blk["name"].(string)
				if _, ok := blk["input"].(map[string]any); !ok || id == "" || !anthropicToolName.MatchString(name) {
					return fmt.Errorf("%s: tool_use needs an id, a valid name and an object input", at)
				}
				uses[id] = true
			case "tool_result":
				if role != "user" {
					return fmt.Errorf("%s: tool_result blocks are only allowed in user messages", at)
				}
				if seenOther {
					return fmt.Errorf("messages.%d: tool_result blocks must come before any other content", i)
				}
				id, _ := blk["tool_use_id"].(string)
				if !pending[id] {
					return fmt.Errorf("%s: unexpected tool_use_id found in tool_result blocks: %s", at, id)
				}
				delete(pending, id)
				if c, ok := blk["content"]; ok {
					if s, ok := c.(string); !ok || s == "" {
						list, _ := c.([]any)
						for k, z := range list {
							inner, _ := z.(map[string]any)
							var err error
							if inner["type"] == "image" {
								err = validateAnthropicImage(inner, fmt.Sprintf("%s.content.%d", at, k))
							} else {
								err = validateAnthropicText([]any{inner}, fmt.Sprintf("%s.content.%d", at, k))
							}
							if err != nil {
								return err
							}
						}
					}
				}
			default:
				return fmt.Errorf("%s.type: unknown content block type %q", at, typ)
			}
		}
		if role == "user" {
			if len(pending) > 0 {
				return fmt.Errorf("messages.%d: tool_use ids were found without tool_result blocks immediately after: %v", i-1, pending)
			}
		} else {
			pending = uses
		}
	}
	return nil
}

// validateAnthropicText checks a string or a list of non-empty text blocks.
func validateAnthropicText(v any, at string) error {
	if s, ok := v.(string); ok {
		if s == "" {
			return fmt.Errorf("%s: text content blocks must be non-empty", at)
		}
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%s: Input should be a valid string or list", at)
	}
	for _, x := range list {
		blk, _ := x.(map[string]any)
		if blk["type"] != "text" {
			return fmt.Errorf("%s.type: Input should be 'text'", at)
		}
		if s, _ := blk["text"].(string); s == "" {
			return fmt.Errorf("%s: text content blocks must be non-empty", at)
		}
	}
	return nil
}

func validateAnthropicImage(blk map[string]any, at string) error {
	src, _ := blk["source"].(map[string]any)
	switch src["type"] {
	case "base64":
		switch src["media_type"] {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
		default:
			return fmt.Errorf("%s.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", at)
		}
		if d, _ := src["data"].(string); d == "" {
			return fmt.Errorf("%s.source.data: Field required", at)
		}
	case "url":
		if u, _ := src["url"].(string); !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("%s.source.url: Input should be a valid URL", at)
		}
	default:
		return fmt.Errorf("%s.source.type: Input tag does not match any of the expected tags", at)
	}
	return nil
}

func validateAnthropicTools(b map[string]any) error {
	names := map[string]bool{}
	if t, ok := b["tools"]; ok {
		list, ok := t.([]any)
		if !ok {
			return errors.New("tools: Input should be a valid list")
		}
		for i, x := range list {
			tool, _ := x.(map[string]any)
			name, _ := tool["name"].(string)
			if !anthropicToolName.MatchString(name) {
				return fmt.Errorf("tools.%d.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'", i)
			}
			schema, _ := tool["input_schema"].(map[string]any)
			if schema["type"] != "object" {
				return fmt.Errorf("tools.%d.input_schema.type: Input should be 'object'", i)
			}
			names[name] = true
		}
	}
	tc, ok := b["tool_choice"].(map[string]any)
	if !ok {
		if b["tool_choice"] != nil {
			return errors.New("tool_choice: Input should be a valid dictionary")
		}
		return nil
	}
	if len(names) == 0 {
		return errors.New("tool_choice may only be specified while providing tools")
	}
	switch tc["type"] {
	case "auto", "any", "none":
	case "tool":
		if n, _ := tc["name"].(string); !names[n] {
			return fmt.Errorf("tool_choice.name: tool %q not found in tools", n)
		}
	default:
		return errors.New("tool_choice.type: Input tag does not match any of the expected tags")
	}
	return nil
}

func anthropicJSONReply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_011CSHoEeqs5C35K2UUqR7Fy")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func anthropicErrorReply(w http.ResponseWriter, status int, typ, msg string) {
	anthropicJSONReply(w, status, fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`, typ, msg))
}

// anthropicMessage is a Message object as the API returns it.
func anthropicMessage(content, stopReason, stopSequence, usage string) string {
	seq := "null"
	if stopSequence != "" {
		seq = fmt.Sprintf("%q", stopSequence)
	}
	return `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
		`"content":` + content + `,"stop_reason":"` + stopReason + `","stop_sequence":` + seq + `,"usage":` + usage + `}`
}

func anthropicOK(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
	anthropicJSONReply(w, http.StatusOK, anthropicMessage(`[{"type":"text","text":"ok"}]`, "end_turn", "",
		`{"input_tokens":10,"output_tokens":1}`))
}

// sse is one server-sent event as Anthropic streams it.
func anthropicEvent(event, data string) string { return "event: " + event + "\ndata: " + data + "\n\n" }

// anthropicSSE writes events one at a time, flushing each.
func anthropicSSE(w http.ResponseWriter, events ...string) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Request-Id", "req_011CSHoEeqs5C35K2UUqR7Fy")
		w.WriteHeader(http.StatusOK)
	}
	for _, e := range events {
		io.WriteString(w, e)
		w.(http.Flusher).Flush()
	}
}

func anthropicMessageStart(usage string) string {
	return anthropicEvent("message_start", `{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":`+usage+`}}`)
}

func anthropicTextDelta(index int, text string) string {
	return anthropicEvent("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%q}}`, index, text))
}

func anthropicPing() string { return anthropicEvent("ping", `{"type": "ping"}`) }

func anthropicUser(content string) upstream.Message {
	return upstream.Message{Role: "user", Content: anthropicString(content)}
}

func anthropicString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func anthropicOptions(t *testing.T, kv map[string]string) map[string]json.RawMessage {
	t.Helper()
	out := make(map[string]json.RawMessage, len(kv))
	for k, v := range kv {
		if !json.Valid([]byte(v)) {
			t.Fatalf("option %s: invalid JSON %s", k, v)
		}
		out[k] = json.RawMessage(v)
	}
	return out
}

// assertAnthropicGolden compares the JSON the fake received with
// testdata/anthropic/<name>.json.
func assertAnthropicGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	norm, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	norm = append(norm, '\n')
	path := filepath.Join("testdata", "anthropic", name+".json")
	if *updateAnthropicGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, norm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update-anthropic to create it)", err)
	}
	if !bytes.Equal(norm, want) {
		t.Errorf("request body differs from %s\ngot:\n%s\nwant:\n%s", path, norm, want)
	}
}

func TestAnthropicRequestTranslation(t *testing.T) {
	t.Parallel()
	weatherTool := `{"type":"function","function":{"name":"get_weather","description":"Current weather in a city.",
		"parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"$ref":"#/$defs/unit"}},
		"required":["city"],"additionalProperties":false,"$defs":{"unit":{"enum":["C","F"]}}},"strict":true}}`
	tests := []struct {
		name string
		req  upstream.Request
	}{
		{
			name: "conversation",
			req: upstream.Request{
				Model: "claude-sonnet-4-5",
				Messages: []upstream.Message{
					{Role: "system", Content: anthropicString("You are terse.")},
					anthropicUser("Hi."),
					{Role: "user", Content: json.RawMessage(`[{"type":"text","text":"Second thought:"},{"type":"text","text":"what is Go?"}]`)},
					{Role: "assistant", Content: anthropicString("A programming language.")},
					{Role: "developer", Content: json.RawMessage(`[{"type":"text","text":"Answer in French."}]`)},
					anthropicUser("Et Rust ?"),
				},
				// Sampling options have no place in API version 2026-10-21;
				// response_format is the caller's business; the rest is unknown.
				Options: anthropicOptions(t, map[string]string{
					"temperature": "0.2", "top_p": "0.9", "frequency_penalty": "0.5", "seed": "7",
					"response_format": `{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}`,
				}),
			},
		},
		{
			name: "images",
			req: upstream.Request{
				Model:     "claude-sonnet-4-5",
				MaxTokens: 200,
				Messages: []upstream.Message{{Role: "user", Content: json.RawMessage(`[
					{"type":"text","text":"Compare these."},
					{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}},
					{"type":"image_url","image_url":{"url":"https://upload.example.org/cat.jpg","detail":"high"}}
				]`)}},
			},
		},
		{
			name: "tools",
			req: upstream.Request{
				Model:    "claude-sonnet-4-5",
				Messages: []upstream.Message{anthropicUser("Weather in Paris?")},
				Options: anthropicOptions(t, map[string]string{
					"tools":               `[` + weatherTool + `,{"type":"function","function":{"name":"now"}}]`,
					"tool_choice":         `{"type":"function","function":{"name":"get_weather"}}`,
					"parallel_tool_calls": "false",
					"stop":                `"END"`,
				}),
			},
		},
		{
			name: "tool_results",
			req: upstream.Request{
				Model: "claude-sonnet-4-5",
				Messages: []upstream.Message{
					anthropicUser("Weather in Paris and Rome?"),
					{Role: "assistant", Content: anthropicString("Checking both."), ToolCalls: json.RawMessage(`[
						{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
						{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]`)},
					{Role: "tool", ToolCallID: "call_1", Content: anthropicString("18°C, cloudy")},
					{Role: "tool", ToolCallID: "call_2", Content: json.RawMessage(`[{"type":"text","text":"24°C, sunny"}]`)},
					anthropicUser("Which is warmer?"),
					{Role: "assistant", Content: json.RawMessage(`null`), ToolCalls: json.RawMessage(`[
						{"id":"call_3","type":"function","function":{"name":"now","arguments":""}}]`)},
					{Role: "tool", ToolCallID: "call_3", Content: anthropicString("")},
				},
				Options: anthropicOptions(t, map[string]string{
					"tools": `[` + weatherTool + `,{"type":"function","function":{"name":"now"}}]`,
					"stop":  `["\n\nObservation:", "END"]`,
				}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAnthropic(t, anthropicOK)
			if _, err := f.provider(upstream.AnthropicConfig{}).Complete(t.Context(), &tt.req); err != nil {
				t.Fatal(err)
			}
			_, body := f.last()
			assertAnthropicGolden(t, "request_"+tt.name, body)
		})
	}
}

func TestAnthropicMaxTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		config, request int
		want            float64
	}{
		{"default", 0, 0, 1024},
		{"configured", 300, 0, 300},
		{"requested", 300, 50, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAnthropic(t, anthropicOK)
			req := upstream.Request{Model: "claude-haiku-4-5", MaxTokens: tt.request, Messages: []upstream.Message{anthropicUser("Hi")}}
			if _, err := f.provider(upstream.AnthropicConfig{MaxTokens: tt.config}).Complete(t.Context(), &req); err != nil {
				t.Fatal(err)
			}
			if got := f.lastBody()["max_tokens"]; got != tt.want {
				t.Errorf("max_tokens = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnthropicToolChoice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts map[string]string
		want string // the tool_choice sent; "" for none
	}{
		{"absent", nil, ""},
		{"auto", map[string]string{"tool_choice": `"auto"`}, `{"type":"auto"}`},
		{"none", map[string]string{"tool_choice": `"none"`}, `{"type":"none"}`},
		{"required", map[string]string{"tool_choice": `"required"`}, `{"type":"any"}`},
		{"named", map[string]string{"tool_choice": `{"type":"function","function":{"name":"get_weather"}}`}, `{"type":"tool","name":"get_weather"}`},
		{"required serial", map[string]string{"tool_choice": `"required"`, "parallel_tool_calls": "false"}, `{"type":"any","disable_parallel_tool_use":true}`},
		{"serial only", map[string]string{"parallel_tool_calls": "false"}, `{"type":"auto","disable_parallel_tool_use":true}`},
		{"parallel", map[string]string{"parallel_tool_calls": "true"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAnthropic(t, anthropicOK)
			opts := map[string]string{"tools": `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{}}}}]`}
			for k, v := range tt.opts {
				opts[k] = v
			}
			req := upstream.Request{Model: "claude-haiku-4-5", Messages: []upstream.Message{anthropicUser("Hi")}, Options: anthropicOptions(t, opts)}
			if _, err := f.provider(upstream.AnthropicConfig{}).Complete(t.Context(), &req); err != nil {
				t.Fatal(err)
			}
			got, ok := f.lastBody()["tool_choice"]
			if tt.want == "" {
				if ok {
					t.Errorf("tool_choice = %v, want none", got)
				}
				return
			}
			var want any
			json.Unmarshal([]byte(tt.want), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("tool_choice = %v, want %v", got, want)
			}
		})
	}
}

func TestAnthropicHeaders(t *testing.T) {
	// Not parallel: the SDK must ignore these, and t.Setenv forbids it.
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-environment")
	t.Setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Team: red")
	f := newFakeAnthropic(t, anthropicOK)
	p := f.provider(upstream.AnthropicConfig{Headers: map[string]string{
		"anthropic-beta": "context-1m-2025-08-07",
		"X-Team":         "blue",
	}})
	req := upstream.Request{Model: "claude-haiku-4-5", Messages: []upstream.Message{anthropicUser("Hi")}}
	if _, err := p.Complete(t.Context(), &req); err != nil {
		t.Fatal(err)
	}
	h, _ := f.last()
	for k, want := range map[string]string{
		"Authorization":     "Bearer " + anthropicTestKey,
		"Anthropic-Version": "2026-10-21",
		"Anthropic-Beta":    "context-1m-2025-08-07",
		"X-Team":            "blue",
		"Content-Type":      "application/json",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestAnthropicInvalidRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  upstream.Request
	}{
		{"role", upstream.Request{Messages: []upstream.Message{{Role: "function", Content: anthropicString("x")}}}},
		{"content", upstream.Request{Messages: []upstream.Message{{Role: "user", Content: json.RawMessage(`{"text":"x"}`)}}}},
		{"part", upstream.Request{Messages: []upstream.Message{{Role: "user", Content: json.RawMessage(`[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]`)}}}},
		{"data uri", upstream.Request{Messages: []upstream.Message{{Role: "user", Content: json.RawMessage(`[{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]`)}}}},
		{"image scheme", upstream.Request{Messages: []upstream.Message{{Role: "user", Content: json.RawMessage(`[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]`)}}}},
		{"arguments", upstream.Request{Messages: []upstream.Message{anthropicUser("x"), {Role: "assistant",
			ToolCalls: json.RawMessage(`[{"id":"c","type":"function","function":{"name":"f","arguments":"{city: Paris"}}]`)}}}},
		{"tool call id", upstream.Request{Messages: []upstream.Message{anthropicUser("x"), {Role: "tool", Content: anthropicString("r")}}}},
		{"tool type", upstream.Request{Messages: []upstream.Message{anthropicUser("x")},
			Options: map[string]json.RawMessage{"tools": json.RawMessage(`[{"type":"custom","custom":{"name":"x"}}]`)}}},
		{"tool choice", upstream.Request{Messages: []upstream.Message{anthropicUser("x")},
			Options: map[string]json.RawMessage{"tool_choice": json.RawMessage(`"sometimes"`)}}},
		{"stop", upstream.Request{Messages: []upstream.Message{anthropicUser("x")},
			Options: map[string]json.RawMessage{"stop": json.RawMessage(`42`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAnthropic(t, anthropicOK)
			p := f.provider(upstream.AnthropicConfig{})
			tt.req.Model = "claude-haiku-4-5"
			_, err := p.Complete(t.Context(), &tt.req)
			ue, ok := upstream.AsError(err)
			if !ok {
				t.Fatalf("err = %v, want *upstream.Error", err)
			}
			if ue.Status != http.StatusBadRequest || ue.Retryable() || ue.Deployment != "claude-primary" {
				t.Errorf("got %+v, want a non-retryable 400 from claude-primary", ue)
			}
			if _, err := p.Stream(t.Context(), &tt.req); err == nil {
				t.Error("Stream accepted the request")
			}
			if n := f.count(); n != 0 {
				t.Errorf("the fake received %d requests, want none", n)
			}
		})
	}
}

func TestAnthropicComplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		message string
		want    upstream.Response
	}{
		{
			name: "text",
			message: anthropicMessage(`[{"type":"thinking","thinking":"Short answer.","signature":"EqQBCgIYAhIM"},
				{"type":"text","text":"Hello"},{"type":"text","text":", world."}]`, "end_turn", "",
				`{"input_tokens":12,"output_tokens":6,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"service_tier":"standard"}`),
			want: upstream.Response{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Content: "Hello, world.", FinishReason: "stop",
				Usage: &upstream.Usage{PromptTokens: 12, CompletionTokens: 6, TotalTokens: 18}},
		},
		{
			name:    "stop sequence",
			message: anthropicMessage(`[{"type":"text","text":"1, 2, 3"}]`, "stop_sequence", "END", `{"input_tokens":5,"output_tokens":7}`),
			want: upstream.Response{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Content: "1, 2, 3", FinishReason: "stop",
				Usage: &upstream.Usage{PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12}},
		},
		{
			name:    "max tokens",
			message: anthropicMessage(`[{"type":"text","text":"Once upon a"}]`, "max_tokens", "", `{"input_tokens":5,"output_tokens":3}`),
			want: upstream.Response{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Content: "Once upon a", FinishReason: "length",
				Usage: &upstream.Usage{PromptTokens: 5, CompletionTokens: 3, TotalTokens: 8}},
		},
		{
			name: "tool use",
			message: anthropicMessage(`[{"type":"text","text":"Let me check."},
				{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"city":"Paris"}},
				{"type":"tool_use","id":"toolu_01B","name":"now","input":{}}]`, "tool_use", "", `{"input_tokens":400,"output_tokens":90}`),
			want: upstream.Response{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Content: "Let me check.", FinishReason: "tool_calls",
				ToolCalls: json.RawMessage(`[{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
					`{"id":"toolu_01B","type":"function","function":{"name":"now","arguments":"{}"}}]`),
				Usage: &upstream.Usage{PromptTokens: 400, CompletionTokens: 90, TotalTokens: 490}},
		},
		{
			name:    "refusal",
			message: anthropicMessage(`[]`, "refusal", "", `{"input_tokens":9,"output_tokens":0}`),
			want: upstream.Response{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", FinishReason: "content_filter",
				Usage: &upstream.Usage{PromptTokens: 9, TotalTokens: 9}},
		},
		{
			name: "cache and thinking tokens",
			message: anthropicMessage(`[{"type":"text","text":"Done."}]`, "end_turn", "",
				`{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":50,"output_tokens_details":{"thinking_tokens":20}}`),
			want: upstream.Response{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Content: "Done.", FinishReason: "stop",
				Usage: &upstream.Usage{PromptTokens: 1110, CompletionTokens: 50, TotalTokens: 1160, ReasoningTokens: 20}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAnthropic(t, func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
				anthropicJSONReply(w, http.StatusOK, tt.message)
			})
			req := upstream.Request{Model: "claude-sonnet-4-5", Messages: []upstream.Message{anthropicUser("Hi")}}
			got, err := f.provider(upstream.AnthropicConfig{}).Complete(t.Context(), &req)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.want.ID || got.Content != tt.want.Content || got.FinishReason != tt.want.FinishReason {
				t.Errorf("got id %q content %q finish %q, want %q %q %q",
					got.ID, got.Content, got.FinishReason, tt.want.ID, tt.want.Content, tt.want.FinishReason)
			}
			if string(got.ToolCalls) != string(tt.want.ToolCalls) {
				t.Errorf("tool calls:\n got %s\nwant %s", got.ToolCalls, tt.want.ToolCalls)
			}
			if got.Usage == nil || !reflect.DeepEqual(*got.Usage, *tt.want.Usage) {
				t.Errorf("usage = %+v, want %+v", got.Usage, tt.want.Usage)
			}
		})
	}
}

// drainAnthropic reads a stream to its end.
func drainAnthropic(t *testing.T, s upstream.Stream) (chunks []upstream.Chunk, err error) {
	t.Helper()
	for {
		c, err := s.Recv()
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, c)
	}
}

func TestAnthropicStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		events     []string
		content    string
		toolDeltas []string // each chunk's tool_calls, in order
		finish     string
		usage      upstream.Usage
	}{
		{
			name: "text",
			events: []string{
				anthropicMessageStart(`{"input_tokens":25,"output_tokens":1}`),
				anthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
				anthropicPing(),
				anthropicTextDelta(0, "Hello"),
				anthropicTextDelta(0, ", "),
				anthropicTextDelta(0, "world."),
				anthropicEvent("content_block_stop", `{"type":"content_block_stop","index":0}`),
				anthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`),
				anthropicEvent("message_stop", `{"type":"message_stop"}`),
			},
			content: "Hello, world.",
			finish:  "stop",
			usage:   upstream.Usage{PromptTokens: 25, CompletionTokens: 15, TotalTokens: 40},
		},
		{
			name: "tool use",
			events: []string{
				anthropicMessageStart(`{"input_tokens":472,"output_tokens":2}`),
				anthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
				anthropicTextDelta(0, "Checking."),
				anthropicEvent("content_block_stop", `{"type":"content_block_stop","index":0}`),
				anthropicEvent("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}`),
				anthropicEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`),
				anthropicEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`),
				anthropicPing(),
				anthropicEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}`),
				anthropicEvent("content_block_stop", `{"type":"content_block_stop","index":1}`),
				anthropicEvent("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"now","input":{}}}`),
				anthropicEvent("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}`),
				anthropicEvent("content_block_stop", `{"type":"content_block_stop","index":2}`),
				anthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}`),
				anthropicEvent("message_stop", `{"type":"message_stop"}`),
			},
			content: "Checking.",
			toolDeltas: []string{
				`[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":""}}]`,
				`[{"index":0,"function":{"arguments":"{\"city\": \"Pa"}}]`,
				`[{"index":0,"function":{"arguments":"ris\"}"}}]`,
				`[{"index":1,"id":"toolu_02","type":"function","function":{"name":"now","arguments":""}}]`,
				`[{"index":1,"function":{"arguments":"{}"}}]`,
			},
			finish: "tool_calls",
			usage:  upstream.Usage{PromptTokens: 472, CompletionTokens: 89, TotalTokens: 561},
		},
		{
			name: "thinking and cache",
			events: []string{
				anthropicMessageStart(`{"input_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20,"output_tokens":1}`),
				anthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`),
				anthropicEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Two plus two..."}}`),
				anthropicEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}`),
				anthropicEvent("content_block_stop", `{"type":"content_block_stop","index":0}`),
				anthropicEvent("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`),
				anthropicTextDelta(1, "4"),
				anthropicEvent("content_block_stop", `{"type":"content_block_stop","index":1}`),
				anthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20,"output_tokens":30,"output_tokens_details":{"thinking_tokens":28}}}`),
				anthropicEvent("message_stop", `{"type":"message_stop"}`),
			},
			content: "4",
			finish:  "length",
			usage:   upstream.Usage{PromptTokens: 125, CompletionTokens: 30, TotalTokens: 155, ReasoningTokens: 28},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAnthropic(t, func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
				anthropicSSE(w, tt.events...)
			})
			req := upstream.Request{Model: "claude-sonnet-4-5", Stream: true, Messages: []upstream.Message{anthropicUser("Hi")}}
			s, err := f.provider(upstream.AnthropicConfig{}).Stream(t.Context(), &req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chunks, err := drainAnthropic(t, s)
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if _, err := s.Recv(); err != io.EOF {
				t.Errorf("Recv after the end = %v, want io.EOF", err)
			}
			if got := f.lastBody()["stream"]; got != true {
				t.Errorf("request stream = %v, want true", got)
			}
			var content string
			var deltas []string
			var last upstream.Chunk
			for i, c := range chunks {
				if c.Content == "" && c.ToolCalls == nil && c.FinishReason == "" && c.Usage == nil {
					t.Errorf("chunk %d is empty", i)
				}
				content += c.Content
				if c.ToolCalls != nil {
					deltas = append(deltas, string(c.ToolCalls))
				}
				last = c
			}
			if content != tt.content {
				t.Errorf("content = %q, want %q", content, tt.content)
			}
			if strings.Join(deltas, "\n") != strings.Join(tt.toolDeltas, "\n") {
				t.Errorf("tool call deltas:\n got %s\nwant %s", strings.Join(deltas, "\n"), strings.Join(tt.toolDeltas, "\n"))
			}
			if last.FinishReason != tt.finish {
				t.Errorf("finish reason = %q, want %q", last.FinishReason, tt.finish)
			}
			if last.Usage == nil || !reflect.DeepEqual(*last.Usage, tt.usage) {
				t.Errorf("usage = %+v, want %+v", last.Usage, tt.usage)
			}
		})
	}
}

func TestAnthropicErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		typ, msg   string
		retryAfter string
		wantAfter  time.Duration
		retryable  bool
	}{
		{"overloaded", 529, "overloaded_error", "Overloaded", "", 0, true},
		{"rate limited", 429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", "7", 7 * time.Second, true},
		{"invalid", 400, "invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum", "", 0, false},
		{"authentication", 401, "authentication_error", "invalid x-api-key", "", 0, false},
		{"api error", 500, "api_error", "Internal server error", "", 0, true},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s stream=%v", tt.name, stream), func(t *testing.T) {
				t.Parallel()
				f := newFakeAnthropic(t, func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					anthropicErrorReply(w, tt.status, tt.typ, tt.msg)
				})
				p := f.provider(upstream.AnthropicConfig{})
				req := upstream.Request{Model: "claude-sonnet-4-5", Stream: stream, Messages: []upstream.Message{anthropicUser("Hi")}}
				var err error
				if stream {
					_, err = p.Stream(t.Context(), &req)
				} else {
					_, err = p.Complete(t.Context(), &req)
				}
				ue, ok := upstream.AsError(err)
				if !ok {
					t.Fatalf("err = %v, want *upstream.Error", err)
				}
				if ue.Deployment != "claude-primary" || ue.Status != tt.status || ue.Message != tt.msg ||
					ue.RetryAfter != tt.wantAfter || ue.Retryable() != tt.retryable || ue.Timeout {
					t.Errorf("got %+v (retryable %v), want status %d message %q retry after %v retryable %v",
						ue, ue.Retryable(), tt.status, tt.msg, tt.wantAfter, tt.retryable)
				}
				if n := f.count(); n != 1 {
					t.Errorf("the fake received %d requests, want 1: the SDK must not retry", n)
				}
			})
		}
	}
}

func TestAnthropicStreamErrors(t *testing.T) {
	t.Parallel()
	start := []string{
		anthropicMessageStart(`{"input_tokens":25,"output_tokens":1}`),
		anthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		anthropicTextDelta(0, "Hel"),
	}
	tests := []struct {
		name      string
		tail      []string
		status    int
		message   string
		wantErrIs error
	}{
		{
			name:    "error event",
			tail:    []string{anthropicEvent("error", `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`)},
			status:  529,
			message: "Overloaded",
		},
		{name: "cut short", wantErrIs: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAnthropic(t, func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
				anthropicSSE(w, append(start, tt.tail...)...)
			})
			req := upstream.Request{Model: "claude-sonnet-4-5", Stream: true, Messages: []upstream.Message{anthropicUser("Hi")}}
			s, err := f.provider(upstream.AnthropicConfig{}).Stream(t.Context(), &req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chunks, err := drainAnthropic(t, s)
			if len(chunks) != 1 || chunks[0].Content != "Hel" {
				t.Errorf("chunks = %+v, want the one text delta", chunks)
			}
			ue, ok := upstream.AsError(err)
			if !ok {
				t.Fatalf("err = %v, want *upstream.Error", err)
			}
			if ue.Status != tt.status || !ue.Retryable() || (tt.message != "" && ue.Message != tt.message) {
				t.Errorf("got %+v, want a retryable error with status %d", ue, tt.status)
			}
			if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
				t.Errorf("err = %v, want one wrapping %v", err, tt.wantErrIs)
			}
		})
	}
}

func TestAnthropicTransportErrors(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter, r *http.Request, _ map[string]any) { <-r.Context().Done() }
	req := upstream.Request{Model: "claude-sonnet-4-5", Messages: []upstream.Message{anthropicUser("Hi")}}

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		p := upstream.NewAnthropic(upstream.AnthropicConfig{Name: "claude-primary", BaseURL: "http://" + addr, APIKey: anthropicTestKey})
		_, err = p.Complete(t.Context(), &req)
		ue, ok := upstream.AsError(err)
		if !ok || ue.Status != 0 || ue.Timeout || !ue.Retryable() {
			t.Errorf("err = %#v, want a retryable transport error with status 0", err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		f := newFakeAnthropic(t, hang)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := f.provider(upstream.AnthropicConfig{}).Complete(ctx, &req)
		ue, ok := upstream.AsError(err)
		if !ok || !ue.Timeout || ue.Status != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %#v, want a timeout wrapping context.DeadlineExceeded", err)
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		t.Parallel()
		f := newFakeAnthropic(t, hang)
		client := f.srv.Client()
		client.Timeout = 50 * time.Millisecond
		s, err := f.provider(upstream.AnthropicConfig{HTTPClient: client}).Stream(t.Context(), &req)
		if err == nil {
			s.Close()
		}
		ue, ok := upstream.AsError(err)
		if !ok || !ue.Timeout {
			t.Errorf("err = %#v, want a timeout", err)
		}
	})
}

func TestAnthropicStreamAbort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		abort func(cancel context.CancelFunc, s upstream.Stream)
	}{
		{"cancel", func(cancel context.CancelFunc, _ upstream.Stream) { cancel() }},
		{"close", func(_ context.CancelFunc, s upstream.Stream) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			done := make(chan time.Time, 1)
			f := newFakeAnthropic(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
				anthropicSSE(w,
					anthropicMessageStart(`{"input_tokens":25,"output_tokens":1}`),
					anthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
					anthropicTextDelta(0, "Once"))
				select {
				case <-r.Context().Done():
					done <- time.Now()
				case <-time.After(10 * time.Second):
				}
			})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req := upstream.Request{Model: "claude-sonnet-4-5", Stream: true, Messages: []upstream.Message{anthropicUser("Hi")}}
			s, err := f.provider(upstream.AnthropicConfig{}).Stream(ctx, &req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if c, err := s.Recv(); err != nil || c.Content != "Once" {
				t.Fatalf("Recv = %+v, %v", c, err)
			}
			aborted := time.Now()
			tt.abort(cancel, s)
			select {
			case at := <-done:
				if d := at.Sub(aborted); d > 100*time.Millisecond {
					t.Errorf("the server saw the request end %v after the abort, want within 100ms", d)
				}
			case <-time.After(100 * time.Millisecond):
				t.Fatal("the server did not see the request end within 100ms")
			}
			if tt.name == "cancel" {
				if _, err := s.Recv(); !errors.Is(err, context.Canceled) {
					t.Errorf("Recv after cancel = %v, want context.Canceled", err)
				}
			}
		})
	}
}

// TestFakeAnthropicValidates keeps the fake honest: requests the API refuses
// must be refused here too, or the translation tests prove nothing.
func TestFakeAnthropicValidates(t *testing.T) {
	t.Parallel()
	f := newFakeAnthropic(t, anthropicOK)
	tests := []struct {
		name string
		body string
	}{
		{"temperature", `{"model":"m","max_tokens":10,"temperature":0.5,"messages":[{"role":"user","content":"Hi"}]}`},
		{"no max_tokens", `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`},
		{"empty text", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`},
		{"system role", `{"model":"m","max_tokens":10,"messages":[{"role":"system","content":"x"},{"role":"user","content":"Hi"}]}`},
		{"missing tool result", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Hi"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":"and?"}]}`},
		{"late tool result", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Hi"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"text","text":"so"},{"type":"tool_result","tool_use_id":"t1"}]}]}`},
		{"image media type", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AA"}}]}]}`},
		{"unknown field", `{"model":"m","max_tokens":10,"frequency_penalty":1,"messages":[{"role":"user","content":"Hi"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/v1/messages", strings.NewReader(tt.body))
			req.Header.Set("X-Api-Key", anthropicTestKey)
			req.Header.Set("Anthropic-Version", "2026-10-21")
			req.Header.Set("Content-Type", "application/json")
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
		})
	}
}
