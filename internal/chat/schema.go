package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// noLoader refuses every external reference: a request's schema must be
// self-contained, and must never make Tollgate read a file or a URL.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not allowed (%s)", url)
}

// compileSchema checks a response_format's JSON Schema and returns it
// compiled, so the answer can be validated against it.
func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, platform.Invalid("response_format.json_schema.schema", "the schema is not valid JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const url = "tollgate://request/schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, platform.Invalid("response_format.json_schema.schema", "the schema is not usable: %v", err)
	}
	s, err := c.Compile(url)
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "\n"); i > 0 {
			msg = msg[:i]
		}
		return nil, platform.Invalid("response_format.json_schema.schema", "the schema is not a valid JSON Schema: %s", msg)
	}
	return s, nil
}

// responseSchema returns the compiled schema of a json_schema response
// format, or nil when the request asks for none.
func responseSchema(opts map[string]json.RawMessage) (*jsonschema.Schema, error) {
	v, ok := opts["response_format"]
	if !ok {
		return nil, nil
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if json.Unmarshal(v, &rf) != nil || rf.Type != "json_schema" {
		return nil, nil
	}
	return compileSchema(rf.JSONSchema.Schema)
}

// errSchemaMismatch is returned when the model's answer does not follow the
// requested schema (an upstream without structured-output support may
// ignore it).
var errSchemaMismatch = errors.New("output does not match the requested JSON schema")

// checkOutput validates a completion's content against the schema.
func checkOutput(s *jsonschema.Schema, content string) error {
	if s == nil {
		return nil
	}
	// Models often wrap JSON in a Markdown fence; accept the JSON inside.
	text := strings.TrimSpace(content)
	if strings.HasPrefix(text, "```") {
		text = strings.TrimPrefix(strings.TrimPrefix(text, "```json"), "```")
		text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), "```"))
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return &platform.Error{Kind: platform.KindUpstream, Err: errSchemaMismatch,
			Message: "The model's answer is not JSON, but response_format asked for a JSON schema; retry, or use a model whose upstream supports structured output."}
	}
	if err := s.Validate(doc); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "\n"); i > 0 {
			msg = strings.TrimSpace(msg[i:])
		}
		return &platform.Error{Kind: platform.KindUpstream, Err: fmt.Errorf("%w: %v", errSchemaMismatch, err),
			Message: "The model's answer does not match the requested JSON schema (" + firstLine(msg) + "); retry, or use a model whose upstream supports structured output."}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
