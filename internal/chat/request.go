// Package chat runs chat completions: it validates a request against the
// model catalog, sends it through the upstream router, and shapes the
// answer exactly as Perplexity's and OpenAI's clients expect, streamed or
// not. Every request yields one usage record, whatever its end.
package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tollgate-dev/tollgate/internal/catalog"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/upstream"
)

// Request is a validated chat completion request.
type Request struct {
	Model     *catalog.Model
	Messages  []upstream.Message
	MaxTokens int // 0: the model's default, else the upstream's
	Stream    bool
	// Options are the remaining parameters, forwarded to upstreams that
	// understand them (unknown ones included: SDKs pass extras through).
	Options map[string]json.RawMessage
	// Schema is the compiled json_schema response format, if any: a
	// non-streamed answer is validated against it.
	Schema *jsonschema.Schema
	// promptTokens caches the prompt's token count; 0 until counted (a
	// chat prompt always costs a few tokens of framing).
	promptTokens int
}

// InvalidModel is the error Perplexity gives for an unknown model.
func invalidModel(name string, cat *catalog.Catalog) error {
	return &platform.Error{Kind: platform.KindInvalid, Param: "model", Message: fmt.Sprintf(
		"Invalid model '%s'. Permitted models: %s (GET /v1/models lists them).", name, strings.Join(cat.IDs(), ", "))}
}

// fields Tollgate reads itself; everything else is an option.
var ownFields = map[string]bool{"model": true, "messages": true, "max_tokens": true, "stream": true}

// Parse validates a request body already decoded into its top-level fields.
func Parse(body map[string]json.RawMessage, cat *catalog.Catalog) (*Request, error) {
	r := &Request{Options: map[string]json.RawMessage{}}
	var name string
	if err := field(body, "model", &name, true); err != nil {
		return nil, err
	}
	m, ok := cat.Resolve(name)
	if !ok {
		return nil, invalidModel(name, cat)
	}
	r.Model = m
	if err := parseMessages(body, r); err != nil {
		return nil, err
	}
	var maxTokens *int
	if err := field(body, "max_tokens", &maxTokens, false); err != nil {
		return nil, err
	}
	if maxTokens != nil {
		switch {
		case *maxTokens < 1:
			return nil, platform.Invalid("max_tokens", "max_tokens must be at least 1")
		case m.MaxOutputTokens > 0 && *maxTokens > m.MaxOutputTokens:
			return nil, platform.Invalid("max_tokens", "max_tokens is %d but model %s produces at most %d tokens",
				*maxTokens, m.ID, m.MaxOutputTokens)
		}
		r.MaxTokens = *maxTokens
	} else {
		r.MaxTokens = m.DefaultMaxTokens
	}
	if err := field(body, "stream", &r.Stream, false); err != nil {
		return nil, err
	}
	for k, v := range body {
		if !ownFields[k] && !isNull(v) {
			r.Options[k] = v
		}
	}
	if err := validateOptions(r.Options); err != nil {
		return nil, err
	}
	schema, err := responseSchema(r.Options)
	if err != nil {
		return nil, err
	}
	r.Schema = schema
	return r, nil
}

// openAIStyleUsage reports whether the client asked for usage the OpenAI
// way (stream_options), and so sums the usage objects it receives.
func (r *Request) openAIStyleUsage() bool {
	_, ok := r.Options["stream_options"]
	return ok
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(bytes.TrimSpace(v)) == "null" }

// field decodes body[name] into dst with an error that names the field.
func field(body map[string]json.RawMessage, name string, dst any, required bool) error {
	v, ok := body[name]
	if !ok || isNull(v) {
		if required {
			return platform.Invalid(name, "%s is required", name)
		}
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return platform.Invalid(name, "%s must be %s", name, describe(dst))
	}
	return nil
}

func describe(dst any) string {
	switch dst.(type) {
	case *string, **string:
		return "a string"
	case *bool, **bool:
		return "a boolean"
	case *int, **int:
		return "an integer"
	case *float64, **float64:
		return "a number"
	}
	return "of the documented type"
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

func parseMessages(body map[string]json.RawMessage, r *Request) error {
	raw, ok := body["messages"]
	if !ok || isNull(raw) {
		return platform.Invalid("messages", "messages is required: a non-empty array of {role, content}")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return platform.Invalid("messages", "messages must be an array of {role, content} objects")
	}
	if len(msgs) == 0 {
		return platform.Invalid("messages", "messages must not be empty")
	}
	seenOther := false
	for i, mr := range msgs {
		p := fmt.Sprintf("messages[%d]", i)
		var m upstream.Message
		if err := json.Unmarshal(mr, &m); err != nil {
			return platform.Invalid(p, "%s must be an object with a string role and string or array content", p)
		}
		if !roles[m.Role] {
			return platform.Invalid(p+".role", "%s.role %q is not one of system, user, assistant, tool", p, m.Role)
		}
		if m.Role == "developer" {
			m.Role = "system"
		}
		if err := checkContent(p, m); err != nil {
			return err
		}
		switch m.Role {
		case "system":
			if seenOther {
				return platform.Invalid(p+".role", "system messages must come before the conversation (%s is a system message after a user or assistant message)", p)
			}
		case "tool":
			if m.ToolCallID == "" {
				return platform.Invalid(p+".tool_call_id", "%s is a tool result without tool_call_id", p)
			}
			if i == 0 || r.Messages[len(r.Messages)-1].Role != "assistant" && r.Messages[len(r.Messages)-1].Role != "tool" {
				return platform.Invalid(p+".role", "%s is a tool result that does not follow an assistant message with tool_calls", p)
			}
			seenOther = true
		default:
			seenOther = true
		}
		r.Messages = append(r.Messages, m)
	}
	last := r.Messages[len(r.Messages)-1].Role
	if last != "user" && last != "tool" {
		return platform.Invalid("messages", "the last message must have role user (or tool), not %s", last)
	}
	if !seenOther {
		return platform.Invalid("messages", "messages holds only system messages; add a user message")
	}
	return nil
}

var partTypes = map[string]string{"text": "text", "image_url": "image_url", "file_url": "file_url",
	"pdf_url": "pdf_url", "video_url": "video_url", "input_audio": "input_audio"}

func checkContent(p string, m upstream.Message) error {
	c := bytes.TrimSpace(m.Content)
	if len(c) == 0 || string(c) == "null" {
		if m.Role == "assistant" && len(m.ToolCalls) > 0 {
			return nil
		}
		return platform.Invalid(p+".content", "%s.content is required", p)
	}
	switch c[0] {
	case '"':
		return nil
	case '[':
		var parts []map[string]json.RawMessage
		if err := json.Unmarshal(c, &parts); err != nil || len(parts) == 0 {
			return platform.Invalid(p+".content", "%s.content must be a string or a non-empty array of content parts", p)
		}
		for j, part := range parts {
			var t string
			_ = json.Unmarshal(part["type"], &t)
			key, ok := partTypes[t]
			if !ok {
				return platform.Invalid(fmt.Sprintf("%s.content[%d].type", p, j), "content part type %q is not one of text, image_url, file_url, pdf_url, video_url", t)
			}
			if isNull(part[key]) {
				return platform.Invalid(fmt.Sprintf("%s.content[%d].%s", p, j, key), "a %s part needs a %q field", t, key)
			}
		}
		return nil
	}
	return platform.Invalid(p+".content", "%s.content must be a string or an array of content parts", p)
}

var toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// validateOptions checks the OpenAI parameters Tollgate knows; unknown
// ones pass through untouched.
func validateOptions(o map[string]json.RawMessage) error {
	num := func(name string, lo, hi float64, loOpen bool) error {
		v, ok := o[name]
		if !ok {
			return nil
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return platform.Invalid(name, "%s must be a number", name)
		}
		if f < lo || f > hi || (loOpen && f == lo) {
			op := "from"
			if loOpen {
				op = "above"
			}
			return platform.Invalid(name, "%s must be %s %g to %g, not %g", name, op, lo, hi, f)
		}
		return nil
	}
	for _, c := range []struct {
		name   string
		lo, hi float64
		open   bool
	}{
		{"temperature", 0, 2, false}, {"top_p", 0, 1, true}, {"presence_penalty", -2, 2, false},
		{"frequency_penalty", -2, 2, false}, {"top_k", 0, 2048, false},
	} {
		if err := num(c.name, c.lo, c.hi, c.open); err != nil {
			return err
		}
	}
	if v, ok := o["n"]; ok {
		var n int
		if json.Unmarshal(v, &n) != nil || n != 1 {
			return platform.Invalid("n", "n must be 1: one choice per request is supported")
		}
	}
	if v, ok := o["stop"]; ok {
		var one string
		var many []string
		if json.Unmarshal(v, &one) != nil {
			if json.Unmarshal(v, &many) != nil || len(many) > 4 {
				return platform.Invalid("stop", "stop must be a string or an array of at most 4 strings")
			}
		}
	}
	if err := validateResponseFormat(o["response_format"]); err != nil {
		return err
	}
	return validateTools(o["tools"], o["tool_choice"])
}

var schemaNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func validateResponseFormat(v json.RawMessage) error {
	if v == nil {
		return nil
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   *string         `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
		Regex *struct {
			Regex string `json:"regex"`
		} `json:"regex"`
	}
	if err := json.Unmarshal(v, &rf); err != nil {
		return platform.Invalid("response_format", "response_format must be an object such as {\"type\":\"json_schema\",\"json_schema\":{\"schema\":{…}}}")
	}
	switch rf.Type {
	case "text", "json_object":
	case "json_schema":
		if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 || rf.JSONSchema.Schema[0] != '{' {
			return platform.Invalid("response_format.json_schema.schema", "a json_schema response format needs json_schema.schema, a JSON Schema object")
		}
		if n := rf.JSONSchema.Name; n != nil && !schemaNameRE.MatchString(*n) {
			return platform.Invalid("response_format.json_schema.name", "json_schema.name must be 1 to 64 letters, digits, _ or -")
		}
	case "regex":
		if rf.Regex == nil || rf.Regex.Regex == "" {
			return platform.Invalid("response_format.regex", "a regex response format needs regex.regex")
		}
		if _, err := regexp.Compile(rf.Regex.Regex); err != nil {
			return platform.Invalid("response_format.regex.regex", "regex does not compile: %v", err)
		}
	default:
		return platform.Invalid("response_format.type", "response_format.type %q is not text, json_object, json_schema or regex", rf.Type)
	}
	return nil
}

func validateTools(tv, cv json.RawMessage) error {
	names := map[string]bool{}
	if tv != nil {
		var tools []struct {
			Type     string `json:"type"`
			Function *struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
		}
		if err := json.Unmarshal(tv, &tools); err != nil {
			return platform.Invalid("tools", "tools must be an array of {type:\"function\", function:{name, parameters}}")
		}
		for i, t := range tools {
			p := fmt.Sprintf("tools[%d]", i)
			if t.Type != "function" || t.Function == nil {
				return platform.Invalid(p, "%s must be {type:\"function\", function:{…}}", p)
			}
			if !toolNameRE.MatchString(t.Function.Name) {
				return platform.Invalid(p+".function.name", "tool names are 1 to 64 letters, digits, _ or -")
			}
			if len(t.Function.Parameters) > 0 && !isNull(t.Function.Parameters) && t.Function.Parameters[0] != '{' {
				return platform.Invalid(p+".function.parameters", "parameters must be a JSON Schema object")
			}
			names[t.Function.Name] = true
		}
	}
	if cv == nil {
		return nil
	}
	var mode string
	if json.Unmarshal(cv, &mode) == nil {
		switch mode {
		case "none", "auto":
			return nil
		case "required":
			if len(names) == 0 {
				return platform.Invalid("tool_choice", "tool_choice is required but no tools are given")
			}
			return nil
		}
		return platform.Invalid("tool_choice", "tool_choice %q is not none, auto or required", mode)
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(cv, &named) != nil || named.Type != "function" {
		return platform.Invalid("tool_choice", "tool_choice must be none, auto, required or {type:\"function\", function:{name}}")
	}
	if !names[named.Function.Name] {
		return platform.Invalid("tool_choice", "tool_choice names %q, which is not among tools", named.Function.Name)
	}
	return nil
}
