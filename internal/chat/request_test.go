package chat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/catalog"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/tokens"
	"github.com/tollgate-dev/tollgate/internal/upstream"
)

func testCatalog() *catalog.Catalog {
	return catalog.New([]catalog.Model{
		{ID: "sonar", Aliases: []string{"perplexity/sonar"}, Kind: catalog.KindSearch, MaxOutputTokens: 8192, DefaultMaxTokens: 512},
	})
}

func parse(t testing.TB, body string) (*Request, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("test body is not JSON: %v", err)
	}
	return Parse(m, testCatalog())
}

func TestParseAccepts(t *testing.T) {
	r, err := parse(t, `{"model":"perplexity/sonar","messages":[{"role":"developer","content":"x"},
		{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],
		"temperature":0,"top_p":1,"stop":"END","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
		"tool_choice":{"type":"function","function":{"name":"f"}},"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}},
		"search_mode":"academic","stream":null}`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.ID != "sonar" || r.MaxTokens != 512 || r.Stream || r.Messages[0].Role != "system" || r.Schema == nil {
		t.Fatalf("parsed %+v", r)
	}
	if _, ok := r.Options["search_mode"]; !ok {
		t.Fatal("unknown option dropped")
	}
	if _, ok := r.Options["stream"]; ok {
		t.Fatal("own field kept as an option")
	}
}

func TestCheckOutput(t *testing.T) {
	r, err := parse(t, `{"model":"sonar","messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema",
		"json_schema":{"schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		out string
		ok  bool
	}{
		{`{"city":"Paris"}`, true},
		{"```json\n{\"city\":\"Paris\"}\n```", true},
		{`{"town":"Paris"}`, false},
		{`Paris`, false},
	}
	for _, tt := range tests {
		err := checkOutput(r.Schema, tt.out)
		if (err == nil) != tt.ok {
			t.Errorf("checkOutput(%q) = %v, want ok=%v", tt.out, err, tt.ok)
		}
		if err != nil && platform.ErrorKind(err) != platform.KindUpstream {
			t.Errorf("kind %s", platform.ErrorKind(err))
		}
	}
}

// FuzzParse feeds arbitrary JSON objects to the request parser: it must
// never panic, and every refusal must be a client error with a message.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"model":"sonar","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"sonar","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"max_tokens":5,"stream":true}`,
		`{"model":"sonar","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},{"role":"tool","tool_call_id":"1","content":"r"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}`,
		`{"model":"sonar","messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"schema":{"$ref":"#/$defs/a","$defs":{"a":{"type":"string"}}}}}}`,
		`{"model":"x","messages":[]}`, `{}`, `{"messages":null,"model":null}`,
		`{"model":"sonar","messages":[{"role":"user","content":"q"}],"stop":["a"],"n":1,"temperature":1e309}`,
	} {
		f.Add(s)
	}
	cat := testCatalog()
	f.Fuzz(func(t *testing.T, body string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		r, err := Parse(m, cat)
		if err != nil {
			if platform.ErrorKind(err) != platform.KindInvalid || platform.ErrorMessage(err) == "" {
				t.Fatalf("Parse(%s) = %v: not a client error", body, err)
			}
			return
		}
		if r.Model == nil || len(r.Messages) == 0 {
			t.Fatalf("Parse(%s) accepted a request without model or messages", body)
		}
	})
}

func TestContextWindow(t *testing.T) {
	cat := catalog.New([]catalog.Model{{ID: "tiny", Kind: catalog.KindChat, ContextWindow: 50}})
	s := NewService(nil, cat, tokens.New(), nil, nil)
	mk := func(text string, maxTokens int) *Request {
		m, _ := cat.Resolve("tiny")
		content, _ := json.Marshal(text)
		return &Request{Model: m, MaxTokens: maxTokens, Messages: []upstream.Message{{Role: "user", Content: content}}}
	}
	if err := s.checkContext(mk("hello", 10)); err != nil {
		t.Fatalf("small request refused: %v", err)
	}
	// 60 short words: more bytes than the window but few enough tokens.
	if err := s.checkContext(mk(strings.Repeat("a ", 20), 5)); err != nil {
		t.Fatalf("request within the window refused: %v", err)
	}
	err := s.checkContext(mk(strings.Repeat("word ", 60), 10))
	if platform.ErrorKind(err) != platform.KindInvalid || !strings.Contains(platform.ErrorMessage(err), "context window is 50") {
		t.Fatalf("oversized request = %v", err)
	}
}
