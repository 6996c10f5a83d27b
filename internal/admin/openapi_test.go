package admin

// The OpenAPI document is hand-written, so these tests keep it honest: it
// must be well-formed, name exactly the routes Register serves, describe
// every operation completely, and agree with what the handlers really do —
// the contract test drives every operation through a real store and checks
// each status and body against the document, and that every documented
// status actually occurs.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/indexing"
	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search/local"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// oaSpec is the parsed OpenAPI document with a few accessors.
type oaSpec struct {
	doc map[string]any
}

func oaLoad(t *testing.T) *oaSpec {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not a JSON object: %v", err)
	}
	return &oaSpec{doc: doc}
}

// resolve follows a local reference such as "#/components/schemas/ApiKey".
func (s *oaSpec) resolve(ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("reference %q is not local to the document", ref)
	}
	var cur any = s.doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reference %q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("reference %q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// deref returns v, or what its $ref points at (transitively).
func (s *oaSpec) deref(t *testing.T, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("expected an object, got %T", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var err error
		if v, err = s.resolve(ref); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("reference loop at %v", v)
	return nil
}

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaOp is one operation of the document.
type oaOp struct {
	Method string // upper case, as in a ServeMux pattern
	Path   string
	ID     string
	raw    map[string]any
	item   map[string]any
}

func (o oaOp) pattern() string { return o.Method + " " + o.Path }

func (s *oaSpec) ops(t *testing.T) []oaOp {
	t.Helper()
	paths, ok := s.doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("document has no paths object")
	}
	var out []oaOp
	for p, item := range paths {
		im, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("path %s is not an object", p)
		}
		for k, v := range im {
			if !slices.Contains(oaMethods, k) {
				continue
			}
			raw, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s %s is not an object", k, p)
			}
			id, _ := raw["operationId"].(string)
			out = append(out, oaOp{Method: strings.ToUpper(k), Path: p, ID: id, raw: raw, item: im})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pattern() < out[j].pattern() })
	return out
}

func (s *oaSpec) op(t *testing.T, pattern string) oaOp {
	t.Helper()
	for _, o := range s.ops(t) {
		if o.pattern() == pattern {
			return o
		}
	}
	t.Fatalf("document has no operation %s", pattern)
	return oaOp{}
}

func (s *oaSpec) responses(t *testing.T, o oaOp) map[string]map[string]any {
	t.Helper()
	rs, _ := o.raw["responses"].(map[string]any)
	out := map[string]map[string]any{}
	for code, r := range rs {
		out[code] = s.deref(t, r)
	}
	return out
}

// params returns the path-item and operation parameters, dereferenced.
func (s *oaSpec) params(t *testing.T, o oaOp) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, src := range []map[string]any{o.item, o.raw} {
		ps, _ := src["parameters"].([]any)
		for _, p := range ps {
			out = append(out, s.deref(t, p))
		}
	}
	return out
}

// body returns the JSON schema of the request body, if the operation has one.
func (s *oaSpec) body(t *testing.T, o oaOp) (schema map[string]any, required, ok bool) {
	t.Helper()
	rb, ok := o.raw["requestBody"]
	if !ok {
		return nil, false, false
	}
	m := s.deref(t, rb)
	required, _ = m["required"].(bool)
	sch, ok := oaDig(m, "content", "application/json", "schema").(map[string]any)
	if !ok {
		t.Fatalf("%s: request body has no application/json schema", o.pattern())
	}
	return sch, required, true
}

// security returns the security requirements that apply to o.
func (s *oaSpec) security(o oaOp) []any {
	if sec, ok := o.raw["security"]; ok {
		l, _ := sec.([]any)
		return l
	}
	l, _ := s.doc["security"].([]any)
	return l
}

func oaDig(v any, names ...string) any {
	for _, k := range names {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

var oaPathParam = regexp.MustCompile(`\{([^}]+)\}`)

func oaPathParams(path string) []string {
	var names []string
	for _, m := range oaPathParam.FindAllStringSubmatch(path, -1) {
		names = append(names, m[1])
	}
	return names
}

// oaSourceRoutes reads every pattern that routes.go registers, so a route
// added there without documentation fails the test.
func oaSourceRoutes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pats []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(call.Args) == 0 {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("routes.go: %s with a pattern that is not a string literal; this test cannot see it", sel.Sel.Name)
			return true
		}
		p, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		pats = append(pats, p)
		return true
	})
	return pats
}

// oaCatchAll is Register's JSON 404 for unknown paths: not an operation.
const oaCatchAll = "/api/v1/"

func oaMux(d *Deps) *http.ServeMux {
	mux := http.NewServeMux()
	Register(mux, d)
	return mux
}

func oaFill(path, value string) string {
	return oaPathParam.ReplaceAllString(path, value)
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	s := oaLoad(t)
	if v := s.doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	if v := oaDig(s.doc, "info", "title"); v != "Tollgate management API" {
		t.Errorf("info.title = %v", v)
	}
	if v := oaDig(s.doc, "info", "version"); v != "1" {
		t.Errorf("info.version = %v", v)
	}
	scheme, _ := oaDig(s.doc, "components", "securitySchemes", "adminToken").(map[string]any)
	if scheme["type"] != "http" || scheme["scheme"] != "bearer" {
		t.Errorf("securitySchemes.adminToken = %v, want http bearer", scheme)
	}
	desc, _ := oaDig(s.doc, "info", "description").(string)
	for _, r := range platform.Roles {
		if !strings.Contains(desc, r.Description()) {
			t.Errorf("info.description does not give role %s's description %q", r, r.Description())
		}
	}

	// Every $ref resolves.
	refs := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if ref, ok := c.(string); ok && k == "$ref" {
					refs++
					if _, err := s.resolve(ref); err != nil {
						t.Errorf("%s: %v", at, err)
					}
					continue
				}
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range x {
				walk(at+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walk("#", s.doc)
	if refs == 0 {
		t.Error("no $ref at all: is this the real document?")
	}

	// The schemas that mirror Go enums list exactly their values.
	enums := map[string][]string{
		"RoleName":       nil,
		"ApiGroupStatus": {string(platform.GroupActive), string(platform.GroupDisabled)},
		"ApiKeyStatus":   {string(platform.KeyActive), string(platform.KeyRotating), string(platform.KeyExpired), string(platform.KeyRevoked)},
	}
	for _, r := range platform.Roles {
		enums["RoleName"] = append(enums["RoleName"], string(r))
	}
	for name, want := range enums {
		var got []string
		for _, v := range oaDig(s.doc, "components", "schemas", name, "enum").([]any) {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("schema %s enum = %v, want %v", name, got, want)
		}
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := oaLoad(t)
	mux := oaMux(&Deps{Log: slog.New(slog.DiscardHandler)})

	registered := map[string]bool{}
	for _, p := range oaSourceRoutes(t) {
		if p == oaCatchAll {
			continue
		}
		if !strings.Contains(p, " ") {
			t.Errorf("routes.go registers %q for every method; give it a method so it can be documented", p)
			continue
		}
		registered[p] = true
	}
	if len(registered) < 20 {
		t.Fatalf("found only %d routes in routes.go; is the parser still right?", len(registered))
	}

	documented := map[string]bool{}
	for _, o := range s.ops(t) {
		documented[o.pattern()] = true
	}
	for p := range registered {
		t.Run(p, func(t *testing.T) {
			if !documented[p] {
				t.Errorf("route %s is registered but not in openapi.json", p)
			}
		})
	}
	for _, o := range s.ops(t) {
		t.Run(o.pattern(), func(t *testing.T) {
			if !registered[o.pattern()] {
				t.Errorf("openapi.json documents %s, which routes.go does not register", o.pattern())
			}
			// The running mux must route a request for the operation to
			// exactly this pattern (same method, same {param} names).
			req := httptest.NewRequest(o.Method, oaFill(o.Path, "x1"), nil)
			if _, got := mux.Handler(req); got != o.pattern() {
				t.Errorf("mux routes %s %s to %q, want %q", o.Method, req.URL.Path, got, o.pattern())
			}
			var declared []string
			for _, p := range s.params(t, o) {
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
					if p["required"] != true {
						t.Errorf("path parameter %v is not required", p["name"])
					}
				}
			}
			want := oaPathParams(o.Path)
			slices.Sort(declared)
			slices.Sort(want)
			if !slices.Equal(declared, want) {
				t.Errorf("path parameters declared %v, template has %v", declared, want)
			}
		})
	}
}

func TestOpenAPIOperations(t *testing.T) {
	s := oaLoad(t)
	ids := map[string]string{}
	for _, o := range s.ops(t) {
		t.Run(o.pattern(), func(t *testing.T) {
			if o.ID == "" {
				t.Fatal("no operationId")
			}
			if prev, dup := ids[o.ID]; dup {
				t.Errorf("operationId %s is also used by %s", o.ID, prev)
			}
			ids[o.ID] = o.pattern()
			resps := s.responses(t, o)
			has := func(code string) bool { _, ok := resps[code]; return ok }
			twoxx := 0
			for code, r := range resps {
				if _, ok := r["description"].(string); !ok {
					t.Errorf("response %s has no description", code)
				}
				switch {
				case strings.HasPrefix(code, "2"):
					twoxx++
				case strings.HasPrefix(code, "4"), code == "503":
					ref, _ := oaDig(r, "content", "application/json", "schema", "$ref").(string)
					if ref != "#/components/schemas/Error" {
						t.Errorf("error response %s does not use the Error schema", code)
					}
				default:
					t.Errorf("unexpected response %s", code)
				}
			}
			if twoxx == 0 {
				t.Error("no 2xx response")
			}

			sec := s.security(o)
			if o.Path == "/api/v1/openapi.json" {
				if raw, ok := o.raw["security"].([]any); !ok || len(raw) != 0 {
					t.Errorf("openapi.json must be documented with security: [], got %v", o.raw["security"])
				}
				return
			}
			usesToken := false
			for _, req := range sec {
				if _, ok := req.(map[string]any)["adminToken"]; ok {
					usesToken = true
				}
			}
			if !usesToken {
				t.Errorf("operation is not secured by adminToken (security %v)", sec)
			}
			if !has("401") {
				t.Error("no 401 response")
			}
			if schema, _, ok := s.body(t, o); ok {
				if !has("400") || !has("413") {
					t.Error("reads a body but does not document both 400 and 413")
				}
				if ap, ok := s.deref(t, schema)["additionalProperties"]; !ok || ap != false {
					t.Error("request body schema must say additionalProperties: false (bodies are decoded strictly)")
				}
			} else if has("413") {
				t.Error("documents 413 but reads no body")
			}
			if len(oaPathParams(o.Path)) > 0 && !has("404") {
				t.Error("takes an ID in the path but does not document 404")
			}
			// 403 is documented exactly when some role lacks the action.
			if action, ok := o.raw["x-tollgate-action"].(string); ok {
				someLack := slices.ContainsFunc(platform.Roles, func(r platform.Role) bool {
					return !platform.Can(r, platform.Action(action))
				})
				if someLack != has("403") {
					t.Errorf("action %s: some role lacks it = %v, but 403 documented = %v", action, someLack, has("403"))
				}
			} else if has("403") {
				t.Error("documents 403 but names no x-tollgate-action")
			}
		})
	}
}

// --- A small JSON Schema validator for the subset the document uses. ---

// oaKeywords are the schema keywords the validator understands or may
// ignore; a schema using another one fails, so the validator cannot
// silently pass what the document means to forbid.
var oaKeywords = map[string]bool{
	"$ref": true, "allOf": true, "type": true, "const": true, "enum": true, "not": true,
	"properties": true, "required": true, "additionalProperties": true, "maxProperties": true,
	"items": true, "format": true, "pattern": true, "minLength": true, "maxLength": true,
	"minimum": true, "maximum": true,
	"description": true, "examples": true, "default": true, "title": true,
}

type oaValidator struct {
	spec *oaSpec
	// closed rejects object members the schema does not declare even where
	// it does not say additionalProperties: false (used for responses, so an
	// undocumented field in a wire type fails).
	closed bool
	// utc requires date-times to be in UTC ("Z").
	utc  bool
	errs []string
}

func (v *oaValidator) fail(at, format string, args ...any) {
	v.errs = append(v.errs, at+": "+fmt.Sprintf(format, args...))
}

// node validates val against a schema standing for a whole value.
func (v *oaValidator) node(schema any, val any, at string) {
	v.check(schema, val, at)
	obj, ok := val.(map[string]any)
	if !v.closed || !ok {
		return
	}
	declared, open := v.declared(schema)
	if open || len(declared) == 0 {
		return
	}
	for k := range obj {
		if !declared[k] {
			v.fail(at, "member %q is not in the schema", k)
		}
	}
}

// declared collects the property names a schema declares through $ref and
// allOf; open reports an additionalProperties anywhere along the way.
func (v *oaValidator) declared(schema any) (names map[string]bool, open bool) {
	names = map[string]bool{}
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		if target, err := v.spec.resolve(ref); err == nil {
			n, o := v.declared(target)
			oaUnion(names, n)
			open = open || o
		}
	}
	for _, sub := range oaList(s["allOf"]) {
		n, o := v.declared(sub)
		oaUnion(names, n)
		open = open || o
	}
	for k := range oaMap(s["properties"]) {
		names[k] = true
	}
	if ap, ok := s["additionalProperties"]; ok && ap != false {
		open = true
	}
	return names, open
}

func oaUnion(dst, src map[string]bool) {
	for k := range src {
		dst[k] = true
	}
}

func oaList(v any) []any          { l, _ := v.([]any); return l }
func oaMap(v any) map[string]any  { m, _ := v.(map[string]any); return m }
func oaNum(v any) (float64, bool) { f, ok := v.(float64); return f, ok }
func oaTypeName(v any) string     { return fmt.Sprintf("%T", v) }
func oaIsInt(f float64) bool      { return f == math.Trunc(f) && !math.IsInf(f, 0) }
func oaRunes(s string) float64    { return float64(utf8.RuneCountInString(s)) }

func oaTypeOK(typ string, val any) bool {
	switch typ {
	case "null":
		return val == nil
	case "boolean":
		_, ok := val.(bool)
		return ok
	case "string":
		_, ok := val.(string)
		return ok
	case "number":
		_, ok := val.(float64)
		return ok
	case "integer":
		f, ok := val.(float64)
		return ok && oaIsInt(f)
	case "object":
		_, ok := val.(map[string]any)
		return ok
	case "array":
		_, ok := val.([]any)
		return ok
	}
	return false
}

func (v *oaValidator) check(schema any, val any, at string) {
	s, ok := schema.(map[string]any)
	if !ok {
		v.fail(at, "schema is %T, not an object", schema)
		return
	}
	for k := range s {
		if !oaKeywords[k] {
			v.fail(at, "schema keyword %q is not supported by this validator", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		target, err := v.spec.resolve(ref)
		if err != nil {
			v.fail(at, "%v", err)
			return
		}
		v.check(target, val, at)
	}
	for _, sub := range oaList(s["allOf"]) {
		v.check(sub, val, at)
	}
	if typ, ok := s["type"]; ok {
		types := []string{}
		switch x := typ.(type) {
		case string:
			types = append(types, x)
		case []any:
			for _, t := range x {
				types = append(types, t.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return oaTypeOK(t, val) }) {
			v.fail(at, "%s is not of type %v", oaTypeName(val), typ)
			return
		}
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, val) {
		v.fail(at, "%v is not the constant %v", val, c)
	}
	if e, ok := s["enum"]; ok && !slices.ContainsFunc(oaList(e), func(x any) bool { return reflect.DeepEqual(x, val) }) {
		v.fail(at, "%v is not one of %v", val, e)
	}
	if n, ok := s["not"]; ok {
		sub := &oaValidator{spec: v.spec}
		sub.check(n, val, at)
		if len(sub.errs) == 0 {
			v.fail(at, "value matches the schema under not: %v", n)
		}
	}
	switch x := val.(type) {
	case string:
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				v.fail(at, "%q is not an RFC 3339 date-time", x)
			} else if v.utc && !strings.HasSuffix(x, "Z") {
				v.fail(at, "%q is not in UTC", x)
			}
		case "email":
			if !strings.Contains(x, "@") {
				v.fail(at, "%q is not an email address", x)
			}
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			v.fail(at, "%q does not match %s", x, p)
		}
		if n, ok := oaNum(s["minLength"]); ok && oaRunes(x) < n {
			v.fail(at, "%q is shorter than %v", x, n)
		}
		if n, ok := oaNum(s["maxLength"]); ok && oaRunes(x) > n {
			v.fail(at, "%q is longer than %v", x, n)
		}
	case float64:
		if n, ok := oaNum(s["minimum"]); ok && x < n {
			v.fail(at, "%v is below %v", x, n)
		}
		if n, ok := oaNum(s["maximum"]); ok && x > n {
			v.fail(at, "%v is above %v", x, n)
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, it := range x {
				v.node(items, it, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	case map[string]any:
		for _, r := range oaList(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				v.fail(at, "required member %q is missing", r)
			}
		}
		props := oaMap(s["properties"])
		for k, sub := range props {
			if pv, ok := x[k]; ok {
				v.node(sub, pv, at+"."+k)
			}
		}
		if n, ok := oaNum(s["maxProperties"]); ok && float64(len(x)) > n {
			v.fail(at, "has more than %v members", n)
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				for k := range x {
					if _, ok := props[k]; !ok {
						v.fail(at, "member %q is not allowed", k)
					}
				}
			}
		case map[string]any:
			for k, pv := range x {
				if _, ok := props[k]; !ok {
					v.node(ap, pv, at+"."+k)
				}
			}
		}
	}
}

func (s *oaSpec) validate(schema any, val any, closed bool) []string {
	v := &oaValidator{spec: s, closed: closed, utc: closed}
	v.node(schema, val, "$")
	return v.errs
}

// oaExample builds a valid value for a request schema: the smallest one,
// plus the optional property extra when it is set.
func (s *oaSpec) oaExample(t *testing.T, schema any, extra string) any {
	t.Helper()
	m := s.deref(t, schema)
	if e := oaList(m["enum"]); len(e) > 0 {
		return e[0]
	}
	switch m["type"] {
	case "object":
		out := map[string]any{}
		props := oaMap(m["properties"])
		for _, r := range oaList(m["required"]) {
			out[r.(string)] = s.oaExample(t, props[r.(string)], "")
		}
		if extra != "" {
			out[extra] = s.oaExample(t, props[extra], "")
		}
		return out
	case "integer":
		if n, ok := oaNum(m["minimum"]); ok {
			return n
		}
		return float64(1)
	case "string":
		switch m["format"] {
		case "date-time":
			return time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
		case "email":
			return "someone@example.com"
		}
		n, _ := oaNum(m["minLength"])
		return strings.Repeat("x", max(1, int(n)))
	case "boolean":
		return true
	}
	t.Fatalf("cannot build an example of %v", m)
	return nil
}

// --- The contract test. ---

// oaClient sends requests to the management API and checks every answer
// against the document.
type oaClient struct {
	t    *testing.T
	spec *oaSpec
	mux  *http.ServeMux
	// seen records every (operation, status) observed.
	seen map[string]map[string]bool
}

type oaResult struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// send makes one request. body is nil (no body), a string (sent as is) or
// anything else (sent as JSON). want is the expected status.
func (c *oaClient) send(token, method, target string, body any, want int) oaResult {
	c.t.Helper()
	return c.sendWith(token, method, target, nil, body, want)
}

// sendWith is send with extra request headers.
func (c *oaClient) sendWith(token, method, target string, hdr http.Header, body any, want int) oaResult {
	t := c.t
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	_, pattern := c.mux.Handler(req)
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("%s %s panicked: %v", method, target, p)
			}
		}()
		c.mux.ServeHTTP(rec, req)
	}()
	res := oaResult{status: rec.Code, header: rec.Header(), raw: rec.Body.Bytes()}
	name := method + " " + target
	if rec.Code != want {
		t.Errorf("%s: status %d, want %d; body %s", name, rec.Code, want, rec.Body)
	}
	if pattern == oaCatchAll || pattern == "" {
		t.Errorf("%s: not routed to an operation (pattern %q)", name, pattern)
		return res
	}
	o := c.spec.op(t, pattern)
	code := strconv.Itoa(rec.Code)
	if c.seen[o.ID] == nil {
		c.seen[o.ID] = map[string]bool{}
	}
	c.seen[o.ID][code] = true
	resp, ok := c.spec.responses(t, o)[code]
	if !ok {
		t.Errorf("%s: status %d is not documented for %s; body %s", name, rec.Code, o.ID, rec.Body)
		return res
	}
	content := oaMap(resp["content"])
	if len(content) == 0 {
		if rec.Body.Len() != 0 {
			t.Errorf("%s: documented without a body, got %s", name, rec.Body)
		}
		return res
	}
	// A response documented with several media types (JSON or CSV) must
	// come back as one of them; CSV must parse.
	if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt != "application/json" {
		if _, ok := content[mt]; !ok || mt == "" {
			t.Errorf("%s: Content-Type %q is not documented for status %d", name, rec.Header().Get("Content-Type"), rec.Code)
		} else if mt == "text/csv" {
			if _, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll(); err != nil {
				t.Errorf("%s: body is not CSV: %v: %s", name, err, rec.Body)
			}
		}
		return res
	}
	schema, hasBody := oaDig(content, "application/json", "schema").(map[string]any)
	if !hasBody {
		t.Errorf("%s: answered JSON, documented only as %v", name, slices.Collect(maps.Keys(content)))
		return res
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", name, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v: %s", name, err, rec.Body)
	}
	if o.Path != "/api/v1/openapi.json" {
		for _, e := range c.spec.validate(schema, res.body, true) {
			t.Errorf("%s: response %d does not match the document: %s", name, rec.Code, e)
		}
	}
	for h, hv := range oaMap(resp["headers"]) {
		want, _ := oaDig(hv, "schema", "const").(string)
		got := rec.Header().Get(h)
		if got == "" || (want != "" && got != want) {
			t.Errorf("%s: header %s = %q, documented %q", name, h, got, want)
		}
	}
	// A request the server accepted must be one the document accepts.
	if reqSchema, required, ok := c.spec.body(t, o); ok && rec.Code < 300 && body != nil {
		raw, isString := body.(string)
		if !isString {
			j, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			raw = string(j)
		}
		if strings.TrimSpace(raw) == "" {
			if required {
				t.Errorf("%s: the server accepted an empty body the document requires", name)
			}
		} else {
			var sent any
			if err := json.Unmarshal([]byte(raw), &sent); err != nil {
				t.Fatal(err)
			}
			for _, e := range c.spec.validate(reqSchema, sent, false) {
				t.Errorf("%s: the server accepted a body the document rejects: %s", name, e)
			}
		}
	}
	return res
}

func (r oaResult) str(t *testing.T, names ...string) string {
	t.Helper()
	s, ok := oaDig(r.body, names...).(string)
	if !ok {
		t.Fatalf("no string at %v in %s", names, r.raw)
	}
	return s
}

func (r oaResult) list(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range oaList(r.body["data"]) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func TestOpenAPIContract(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a SQLite store")
	}
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC() }
	svc := governance.New(st, governance.Config{RotationGrace: time.Hour}, nil, now)
	boot, err := svc.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	li, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = li.Close() })
	const maxBody = 4096
	spec := oaLoad(t)
	deps := &Deps{Service: svc, Billing: billing.NewService(st, nil, now), Auth: auth.NewAdminAuthenticator(st, keys.DefaultAdminPrefix, keys.DefaultKeyPrefix, now),
		Log: slog.New(slog.DiscardHandler), Now: now, MaxBody: maxBody, Index: indexing.New(li, indexing.Options{})}
	c := &oaClient{t: t, spec: spec, seen: map[string]map[string]bool{}, mux: oaMux(deps)}
	owner := boot.TokenSecret

	// A token of every role.
	tokens := map[platform.Role]string{platform.RoleOwner: owner}
	for _, r := range platform.Roles[1:] {
		res := c.send(owner, "POST", "/api/v1/admin-tokens", map[string]any{"name": "as " + string(r), "role": r}, 201)
		tokens[r] = res.str(t, "token")
	}

	ops := spec.ops(t)
	// Generic errors every operation documents.
	for _, o := range ops {
		target := oaFill(o.Path, "nope")
		if o.Path != "/api/v1/openapi.json" {
			c.send("", o.Method, target, nil, 401)
		}
		schema, _, hasBody := spec.body(t, o)
		if hasBody {
			c.send(owner, o.Method, target, `{"name":"`+strings.Repeat("x", maxBody)+`"}`, 413)
			res := c.send(owner, o.Method, target, map[string]any{"no_such_field": 1}, 400)
			if p, _ := oaDig(res.body, "error", "param").(string); p != "no_such_field" {
				t.Errorf("%s: unknown field answered with param %q", o.ID, p)
			}
		}
		// A role without the action gets 403 — and every documented
		// request property gets past strict decoding to that check.
		if action, ok := o.raw["x-tollgate-action"].(string); ok {
			for _, r := range platform.Roles {
				if platform.Can(r, platform.Action(action)) {
					continue
				}
				if !hasBody {
					c.send(tokens[r], o.Method, target, nil, 403)
					break
				}
				c.send(tokens[r], o.Method, target, spec.oaExample(t, schema, ""), 403)
				for prop := range oaMap(spec.deref(t, schema)["properties"]) {
					c.send(tokens[r], o.Method, target, spec.oaExample(t, schema, prop), 403)
				}
				break
			}
		}
		// An ID in the path that names nothing is 404.
		if len(oaPathParams(o.Path)) > 0 {
			var body any
			if hasBody {
				body = spec.oaExample(t, schema, "")
			}
			c.send(owner, o.Method, target, body, 404)
		}
	}

	// The happy paths and the documented conflicts.
	doc := c.send("", "GET", "/api/v1/openapi.json", nil, 200)
	if !bytes.Equal(doc.raw, OpenAPI()) {
		t.Error("GET /api/v1/openapi.json does not serve the embedded document")
	}
	c.send(owner, "GET", "/api/v1/org", nil, 200)
	c.send(owner, "PATCH", "/api/v1/org", map[string]any{"name": "Acme Corp"}, 200)
	roles := c.send(tokens[platform.RoleViewer], "GET", "/api/v1/roles", nil, 200)
	for i, r := range roles.list(t) {
		if r["role"] != string(platform.Roles[i]) || r["description"] != platform.Roles[i].Description() {
			t.Errorf("role %d = %v", i, r)
		}
	}

	members := c.send(owner, "GET", "/api/v1/members", nil, 200).list(t)
	ownerID := members[0]["user_id"].(string)
	ada := c.send(owner, "POST", "/api/v1/members", map[string]any{"email": "ada@example.com", "name": "Ada",
		"role": "admin", "password": "correct horse battery"}, 201).str(t, "user_id")
	c.send(owner, "POST", "/api/v1/members", map[string]any{"email": "ada@example.com", "role": "viewer"}, 409)
	c.send(tokens[platform.RoleAdmin], "POST", "/api/v1/members", map[string]any{"email": "eve@example.com", "role": "owner"}, 403)
	c.send(tokens[platform.RoleAdmin], "DELETE", "/api/v1/members/"+ownerID, nil, 403)
	c.send(owner, "PATCH", "/api/v1/members/"+ada, map[string]any{"role": "viewer"}, 200)
	c.send(owner, "PATCH", "/api/v1/members/"+ownerID, map[string]any{"role": "admin"}, 409)
	c.send(owner, "DELETE", "/api/v1/members/"+ownerID, nil, 409)
	c.send(owner, "DELETE", "/api/v1/members/"+ada, nil, 204)

	grp := c.send(owner, "POST", "/api/v1/groups", map[string]any{"name": "prod", "description": "Production"}, 201).str(t, "id")
	c.send(owner, "POST", "/api/v1/groups", map[string]any{"name": "prod"}, 409)
	staging := c.send(owner, "POST", "/api/v1/groups", map[string]any{"name": "staging"}, 201).str(t, "id")
	c.send(owner, "PATCH", "/api/v1/groups/"+staging, map[string]any{"name": "prod"}, 409)
	c.send(owner, "GET", "/api/v1/groups", nil, 200)
	c.send(owner, "GET", "/api/v1/groups/"+grp, nil, 200)
	c.send(owner, "PATCH", "/api/v1/groups/"+grp, map[string]any{"status": "disabled"}, 200)
	c.send(owner, "POST", "/api/v1/groups/"+grp+"/keys", map[string]any{"name": "web"}, 409)
	c.send(owner, "PATCH", "/api/v1/groups/"+grp, map[string]any{"status": "active", "description": "Prod"}, 200)

	member := tokens[platform.RoleMember]
	created := c.send(member, "POST", "/api/v1/groups/"+grp+"/keys", map[string]any{"name": "web", "expires_in_seconds": 3600}, 201)
	if !strings.HasPrefix(created.str(t, "key"), keys.DefaultKeyPrefix) {
		t.Errorf("created key secret = %q", created.str(t, "key"))
	}
	key := created.str(t, "id")
	batch := c.send(owner, "POST", "/api/v1/groups/"+grp+"/keys", map[string]any{"name": "batch",
		"expires_at": now().Add(24 * time.Hour).Format(time.RFC3339)}, 201).str(t, "id")
	c.send(owner, "POST", "/api/v1/groups/"+grp+"/keys", map[string]any{"name": "x", "expires_in_seconds": 60,
		"expires_at": now().Add(time.Hour).Format(time.RFC3339)}, 400)
	for _, target := range []string{"/api/v1/groups/" + grp + "/keys", "/api/v1/keys", "/api/v1/keys?group_id=" + grp, "/api/v1/keys/" + key} {
		res := c.send(tokens[platform.RoleViewer], "GET", target, nil, 200)
		if bytes.Contains(res.raw, []byte(`"key":`)) {
			t.Errorf("GET %s shows a secret: %s", target, res.raw)
		}
	}
	c.send(owner, "GET", "/api/v1/keys?group_id=nope", nil, 404)
	c.send(member, "PATCH", "/api/v1/keys/"+key, map[string]any{"name": "web-2"}, 200)
	rot := c.send(member, "POST", "/api/v1/keys/"+key+"/rotate", map[string]any{"grace_period_seconds": 60}, 201)
	if got := rot.str(t, "previous", "status"); got != "rotating" {
		t.Errorf("previous.status = %q after rotation with grace", got)
	}
	c.send(member, "POST", "/api/v1/keys/"+key+"/rotate", "", 409)
	c.send(member, "POST", "/api/v1/keys/"+rot.str(t, "id")+"/rotate", "", 201)
	c.send(member, "POST", "/api/v1/keys/"+batch+"/revoke", "", 200)
	revoked := c.send(member, "POST", "/api/v1/keys/"+batch+"/revoke", "{}", 200)
	if revoked.str(t, "status") != "revoked" {
		t.Errorf("revoked key status = %q", revoked.str(t, "status"))
	}

	c.send(owner, "GET", "/api/v1/admin-tokens", nil, 200)
	ci := c.send(owner, "POST", "/api/v1/admin-tokens", map[string]any{"name": "ci", "role": "member",
		"expires_in_seconds": 86400}, 201).str(t, "id")
	c.send(tokens[platform.RoleAdmin], "POST", "/api/v1/admin-tokens", map[string]any{"name": "up", "role": "owner"}, 403)
	c.send(tokens[platform.RoleAdmin], "POST", "/api/v1/admin-tokens/"+boot.Token.ID+"/revoke", "", 403)
	c.send(tokens[platform.RoleAdmin], "POST", "/api/v1/admin-tokens/"+ci+"/revoke", map[string]any{}, 200)

	c.send(owner, "DELETE", "/api/v1/groups/"+staging, nil, 204)
	c.send(owner, "GET", "/api/v1/groups/"+staging, nil, 404)

	c.send(owner, "GET", "/api/v1/audit", nil, 200)
	page := c.send(owner, "GET", "/api/v1/audit?limit=2", nil, 200)
	if page.body["has_more"] != true || len(page.list(t)) != 2 {
		t.Fatalf("first audit page: %s", page.raw)
	}
	next := c.send(owner, "GET", "/api/v1/audit?limit=2&before="+page.str(t, "next_cursor"), nil, 200)
	if next.list(t)[0]["id"] == page.list(t)[1]["id"] {
		t.Error("the next audit page repeats the last event")
	}
	q := url.Values{"action": {"key."}, "since": {now().Add(-time.Hour).Format(time.RFC3339)},
		"until": {now().Add(time.Hour).Format(time.RFC3339)}, "limit": {"1000"}}
	for _, e := range c.send(owner, "GET", "/api/v1/audit?"+q.Encode(), nil, 200).list(t) {
		if !strings.HasPrefix(e["action"].(string), "key.") {
			t.Errorf("action=key. returned %v", e["action"])
		}
	}
	for _, bad := range []string{"limit=0", "limit=1001", "since=yesterday", "until=2026-13-01"} {
		c.send(owner, "GET", "/api/v1/audit?"+bad, nil, 400)
	}

	oaBillingContract(t, c, st, oaOrg{id: boot.Org.ID, owner: owner, tokens: tokens, group: grp, key: key})
	oaIndexContract(t, c, deps, owner, tokens)

	// Every documented status of every operation occurred.
	for _, o := range ops {
		for code := range spec.responses(t, o) {
			if !c.seen[o.ID][code] {
				t.Errorf("%s: documented status %s never occurred in this test", o.ID, code)
			}
		}
	}
}

// oaIndexContract drives the local index's operations: c's server has a
// real index; a second server without one answers them with 503.
func oaIndexContract(t *testing.T, c *oaClient, deps *Deps, owner string, tokens map[platform.Role]string) {
	t.Helper()
	viewer := tokens[platform.RoleViewer]
	published := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)
	wombats := map[string]any{"url": "https://example.com/wombats", "title": "Wombats",
		"text": "Wombats leave cube-shaped droppings.\n\nThey dig burrows.", "published": published, "language": "en"}
	added := c.send(owner, "POST", "/api/v1/index/documents", wombats, 201)
	if added.str(t, "status") != indexing.StatusAdded {
		t.Errorf("first add: %s", added.raw)
	}
	if got := c.send(owner, "POST", "/api/v1/index/documents", wombats, 200).str(t, "status"); got != indexing.StatusUnchanged {
		t.Errorf("re-add status = %q", got)
	}
	wombats["text"] = "Wombats leave cube-shaped droppings.\n\nThey dig long burrows."
	if got := c.send(owner, "POST", "/api/v1/index/documents", wombats, 200).str(t, "status"); got != indexing.StatusUpdated {
		t.Errorf("changed add status = %q", got)
	}
	c.send(owner, "POST", "/api/v1/index/documents", map[string]any{"url": "https://example.com/quokkas", "text": "Quokkas smile."}, 201)
	c.send(owner, "POST", "/api/v1/index/documents", map[string]any{"text": "No URL."}, 400)
	c.send(owner, "POST", "/api/v1/index/documents", map[string]any{"url": "notes.md"}, 400)
	c.send(owner, "POST", "/api/v1/index/documents", map[string]any{"url": "https://example.com/x", "title": "Only a title"}, 400)

	all := c.send(viewer, "GET", "/api/v1/index/documents", nil, 200)
	if all.body["total"] != float64(2) || len(all.list(t)) != 2 {
		t.Errorf("documents: %s", all.raw)
	}
	page := c.send(viewer, "GET", "/api/v1/index/documents?limit=1", nil, 200)
	if page.body["has_more"] != true {
		t.Fatalf("first documents page: %s", page.raw)
	}
	last := c.send(viewer, "GET", "/api/v1/index/documents?limit=1&cursor="+page.str(t, "next_cursor"), nil, 200)
	if last.body["has_more"] != false || len(last.list(t)) != 1 || last.list(t)[0]["id"] == page.list(t)[0]["id"] {
		t.Errorf("second documents page: %s", last.raw)
	}
	for _, bad := range []string{"limit=0", "limit=1001", "cursor=x"} {
		c.send(viewer, "GET", "/api/v1/index/documents?"+bad, nil, 400)
	}

	if st := c.send(viewer, "GET", "/api/v1/index/stats", nil, 200); st.body["documents"] != float64(2) {
		t.Errorf("stats: %s", st.raw)
	}
	hits := c.send(viewer, "GET", "/api/v1/index/search?q=wombat+droppings&limit=5", nil, 200).list(t)
	if len(hits) == 0 || hits[0]["url"] != "https://example.com/wombats" {
		t.Errorf("search hits: %v", hits)
	}
	for _, bad := range []string{"", "q=+", "q=wombat&limit=51"} {
		c.send(viewer, "GET", "/api/v1/index/search?"+bad, nil, 400)
	}

	c.send(tokens[platform.RoleMember], "DELETE", "/api/v1/index/documents/"+added.str(t, "id"), nil, 403)
	c.send(owner, "DELETE", "/api/v1/index/documents/"+added.str(t, "id"), nil, 204)
	c.send(owner, "DELETE", "/api/v1/index/documents/"+added.str(t, "id"), nil, 404)
	c.send(owner, "DELETE", "/api/v1/index/documents/"+url.PathEscape("https://example.com/quokkas"), nil, 204)

	// Without an index: 503 after the role check.
	off := *deps
	off.Index = nil
	c0 := *c
	c0.mux = oaMux(&off)
	for _, target := range []string{"/api/v1/index/documents", "/api/v1/index/stats", "/api/v1/index/search?q=wombat"} {
		c0.send(viewer, "GET", target, nil, 503)
	}
	c0.send(owner, "POST", "/api/v1/index/documents", wombats, 503)
	c0.send(tokens[platform.RoleMember], "POST", "/api/v1/index/documents", wombats, 403)
	c0.send(owner, "DELETE", "/api/v1/index/documents/doc_x", nil, 503)
}
