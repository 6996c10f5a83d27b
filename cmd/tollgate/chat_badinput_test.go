package main

import (
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

// TestChatBadInput is the committed table of malformed chat requests: each
// gets its status and a JSON error naming the problem, and none reaches the
// upstream.
func TestChatBadInput(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "never sent"})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	key := h.chatKey()
	user := `{"role":"user","content":"hi"}`
	big := `{"model":"sonar","messages":[{"role":"user","content":"` + strings.Repeat("a", 17<<20) + `"}]}`
	tests := []struct {
		name, body string
		want       int
		mention    string
	}{
		{"empty body", ``, 400, "empty"},
		{"not JSON", `model=sonar`, 400, "not valid JSON"},
		{"truncated JSON", `{"model":"sonar","messages":[`, 400, "JSON"},
		{"array body", `[{"model":"sonar"}]`, 400, "object"},
		{"trailing garbage", `{"model":"sonar","messages":[` + user + `]} x`, 400, "after the JSON"},
		{"missing model", `{"messages":[` + user + `]}`, 400, "model is required"},
		{"model not a string", `{"model":7,"messages":[` + user + `]}`, 400, "model must be a string"},
		{"unknown model", `{"model":"sonar-pro ","messages":[` + user + `]}`, 400, "Invalid model 'sonar-pro '"},
		{"missing messages", `{"model":"sonar"}`, 400, "messages is required"},
		{"messages not an array", `{"model":"sonar","messages":"hi"}`, 400, "array"},
		{"empty messages", `{"model":"sonar","messages":[]}`, 400, "must not be empty"},
		{"message not an object", `{"model":"sonar","messages":["hi"]}`, 400, "messages[0]"},
		{"unknown role", `{"model":"sonar","messages":[{"role":"wizard","content":"hi"}]}`, 400, "role"},
		{"missing content", `{"model":"sonar","messages":[{"role":"user"}]}`, 400, "content is required"},
		{"content a number", `{"model":"sonar","messages":[{"role":"user","content":5}]}`, 400, "content"},
		{"empty parts", `{"model":"sonar","messages":[{"role":"user","content":[]}]}`, 400, "content"},
		{"unknown part", `{"model":"sonar","messages":[{"role":"user","content":[{"type":"audio_blob"}]}]}`, 400, "content part type"},
		{"image part without url", `{"model":"sonar","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "image_url"},
		{"system after user", `{"model":"sonar","messages":[` + user + `,{"role":"system","content":"x"},` + user + `]}`, 400, "system messages must come before"},
		{"only system", `{"model":"sonar","messages":[{"role":"system","content":"x"}]}`, 400, "user"},
		{"ends with assistant", `{"model":"sonar","messages":[` + user + `,{"role":"assistant","content":"x"}]}`, 400, "last message"},
		{"tool without id", `{"model":"sonar","messages":[` + user + `,{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"r"}]}`, 400, "tool_call_id"},
		{"orphan tool result", `{"model":"sonar","messages":[{"role":"tool","content":"r","tool_call_id":"c1"}]}`, 400, "tool result"},
		{"temperature too high", `{"model":"sonar","messages":[` + user + `],"temperature":2.5}`, 400, "temperature"},
		{"temperature a string", `{"model":"sonar","messages":[` + user + `],"temperature":"hot"}`, 400, "temperature must be a number"},
		{"top_p zero", `{"model":"sonar","messages":[` + user + `],"top_p":0}`, 400, "top_p"},
		{"top_p above one", `{"model":"sonar","messages":[` + user + `],"top_p":1.5}`, 400, "top_p"},
		{"max_tokens zero", `{"model":"sonar","messages":[` + user + `],"max_tokens":0}`, 400, "max_tokens"},
		{"max_tokens fractional", `{"model":"sonar","messages":[` + user + `],"max_tokens":1.5}`, 400, "max_tokens must be an integer"},
		{"max_tokens over the model's limit", `{"model":"sonar","messages":[` + user + `],"max_tokens":100000}`, 400, "at most 8192"},
		{"stream not a boolean", `{"model":"sonar","messages":[` + user + `],"stream":"yes"}`, 400, "stream must be a boolean"},
		{"n above one", `{"model":"sonar","messages":[` + user + `],"n":3}`, 400, "n must be 1"},
		{"too many stops", `{"model":"sonar","messages":[` + user + `],"stop":["a","b","c","d","e"]}`, 400, "stop"},
		{"stop a number", `{"model":"sonar","messages":[` + user + `],"stop":5}`, 400, "stop"},
		{"penalty out of range", `{"model":"sonar","messages":[` + user + `],"presence_penalty":3}`, 400, "presence_penalty"},
		{"response_format unknown type", `{"model":"sonar","messages":[` + user + `],"response_format":{"type":"yaml"}}`, 400, "response_format.type"},
		{"json_schema without schema", `{"model":"sonar","messages":[` + user + `],"response_format":{"type":"json_schema","json_schema":{}}}`, 400, "schema"},
		{"json_schema invalid schema", `{"model":"sonar","messages":[` + user + `],"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"banana"}}}}`, 400, "not a valid JSON Schema"},
		{"json_schema remote ref", `{"model":"sonar","messages":[` + user + `],"response_format":{"type":"json_schema","json_schema":{"schema":{"$ref":"file:///etc/passwd"}}}}`, 400, "schema"},
		{"json_schema bad name", `{"model":"sonar","messages":[` + user + `],"response_format":{"type":"json_schema","json_schema":{"name":"has spaces","schema":{}}}}`, 400, "name"},
		{"regex that does not compile", `{"model":"sonar","messages":[` + user + `],"response_format":{"type":"regex","regex":{"regex":"(("}}}`, 400, "regex"},
		{"tools not an array", `{"model":"sonar","messages":[` + user + `],"tools":{"type":"function"}}`, 400, "tools"},
		{"tool of another type", `{"model":"sonar","messages":[` + user + `],"tools":[{"type":"retrieval"}]}`, 400, "tools[0]"},
		{"tool with a bad name", `{"model":"sonar","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"no spaces allowed"}}]}`, 400, "tool names"},
		{"tool_choice unknown tool", `{"model":"sonar","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, 400, "not among tools"},
		{"tool_choice required without tools", `{"model":"sonar","messages":[` + user + `],"tool_choice":"required"}`, 400, "no tools"},
		{"oversized body", big, 413, "larger than"},
	}
	if len(tests) < 30 {
		t.Fatalf("the table must hold at least 30 bad inputs, has %d", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := h.do("POST", "/chat/completions", key, tt.body)
			if code != tt.want {
				t.Fatalf("status %d %v, want %d", code, body, tt.want)
			}
			if msg := errorOf(t, code, body); !strings.Contains(msg, tt.mention) {
				t.Fatalf("message %q does not mention %q", msg, tt.mention)
			}
		})
	}
	if n := fake.Served(); n != 0 {
		t.Fatalf("%d bad requests reached the upstream", n)
	}
	// Unknown extra fields are accepted: SDKs pass them through.
	h.must(200, "POST", "/chat/completions", key, `{"model":"sonar","messages":[`+user+`],"x_custom":{"a":1},"search_recency_filter":"week"}`)
}
