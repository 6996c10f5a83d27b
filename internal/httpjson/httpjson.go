// Package httpjson is the one encode/decode pair of Tollgate's HTTP APIs and
// the one table that maps domain error kinds to status codes and to the
// OpenAI/Perplexity error body {"error":{"message","type","code"}}.
package httpjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Encode writes v as JSON with the given status.
func Encode(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"message":"internal error","type":"api_error","code":500}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// DecodeOptions says how strictly to read a body.
type DecodeOptions struct {
	// MaxBytes bounds the body; 0 means 1 MiB.
	MaxBytes int64
	// Strict refuses unknown fields (the management API); the inference API
	// accepts them because SDKs pass extra fields through.
	Strict bool
	// AllowEmpty accepts an empty body and leaves v untouched.
	AllowEmpty bool
}

// Decode reads a JSON object from r's body into v and turns every way a
// body can be wrong into an invalid (400) or too_large (413) error that
// names the problem.
func Decode(w http.ResponseWriter, r *http.Request, v any, o DecodeOptions) error {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.MaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return platform.Errorf(platform.KindTooLarge, "request body is larger than %d bytes", o.MaxBytes)
		}
		return platform.Errorf(platform.KindInvalid, "could not read request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if o.AllowEmpty {
			return nil
		}
		return platform.Errorf(platform.KindInvalid, "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if o.Strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return platform.Errorf(platform.KindInvalid, "request body has data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		tpe *time.ParseError
	)
	switch {
	case errors.As(err, &tpe):
		return platform.Errorf(platform.KindInvalid, "%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", tpe.Value)
	case errors.As(err, &syn):
		return platform.Errorf(platform.KindInvalid, "request body is not valid JSON (at byte %d): %v", syn.Offset, err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return platform.Errorf(platform.KindInvalid, "request body must be a JSON object, not %s", typ.Value)
		}
		return platform.Invalid(typ.Field, "field %q must be %s, not %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return platform.Errorf(platform.KindInvalid, "request body is truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return platform.Invalid(field, "unknown field %q", field)
	}
	return platform.Errorf(platform.KindInvalid, "invalid request body: %v", err)
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}

// errorBody is the wire shape both Perplexity and OpenAI clients parse.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
	Param   string `json:"param,omitempty"`
}

// statusOf is the one table from error kind to HTTP status and error type.
var statusOf = map[platform.Kind]struct {
	status int
	typ    string
}{
	platform.KindInvalid:         {http.StatusBadRequest, "invalid_request_error"},
	platform.KindUnauthenticated: {http.StatusUnauthorized, "authentication_error"},
	platform.KindForbidden:       {http.StatusForbidden, "permission_error"},
	platform.KindNotFound:        {http.StatusNotFound, "not_found_error"},
	platform.KindConflict:        {http.StatusConflict, "conflict_error"},
	platform.KindTooLarge:        {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	platform.KindRateLimited:     {http.StatusTooManyRequests, "rate_limit_error"},
	platform.KindPaymentRequired: {http.StatusPaymentRequired, "insufficient_quota"},
	platform.KindUnavailable:     {http.StatusServiceUnavailable, "service_unavailable"},
	platform.KindUpstream:        {http.StatusBadGateway, "upstream_error"},
	platform.KindInternal:        {http.StatusInternalServerError, "api_error"},
}

// Status returns the HTTP status for err.
func Status(err error) int { return statusOf[platform.ErrorKind(err)].status }

// Error writes err as a JSON error. Internal errors are logged with the
// request ID and described to the client only generically.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	kind := platform.ErrorKind(err)
	m, ok := statusOf[kind]
	if !ok {
		m = statusOf[platform.KindInternal]
	}
	if m.status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", RequestID(r.Context()), "err", err)
	}
	var he interface{ ResponseHeaders() http.Header }
	if errors.As(err, &he) {
		for k, v := range he.ResponseHeaders() {
			w.Header()[k] = v
		}
	}
	if kind == platform.KindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tollgate"`)
	}
	if ra := platform.ErrorRetryAfter(err); ra > 0 {
		// Whole seconds for every client, milliseconds for the SDKs that read them.
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
		w.Header().Set("Retry-After-Ms", strconv.FormatInt(ra.Milliseconds(), 10))
	}
	Encode(w, m.status, errorBody{Error: errorDetail{
		Message: platform.ErrorMessage(err), Type: m.typ, Code: m.status, Param: platform.ErrorParam(err),
	}})
}

// NotFound answers unknown routes in the API's error shape.
func NotFound(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, log, platform.Errorf(platform.KindNotFound, "no route for %s %s; the API reference is at /api/v1/openapi.json", r.Method, r.URL.Path))
	})
}

type requestIDKey struct{}

// WithRequestID stores the request ID in ctx.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request ID stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
