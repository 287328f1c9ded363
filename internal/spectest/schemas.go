package spectest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemas compiles the document's response schemas once each and keeps them: kin-openapi
// compiles a schema again on every validation of an OpenAPI 3.1 document (a JSON Schema
// 2020-12 compile of the billing schema per response), which was most of the CPU the
// module's tests used. The schemas are compiled from the document itself (its JSON, the
// email pattern patched), addressed by JSON pointer, so their $refs resolve within it; the
// formats kin-openapi asserts (byte, date, date-time, int32, int64) are asserted here too,
// every other format is an annotation, as there.
type schemas struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]compiled
	// valid remembers the bodies found valid, by schema and body (validBody): the tests
	// validate the same bodies again and again (the demo customers' billing, above all), and
	// a body valid once is valid again. Most of a test run's time was spent validating.
	valid sync.Map
}

// validBody is a key of schemas.valid: a schema and the hash of a body it accepted.
type validBody struct {
	ptr  string
	hash [sha256.Size]byte
}

type compiled struct {
	schema *jsonschema.Schema
	err    error
}

// docURL names the document inside the compiler.
const docURL = "file:///flowglad-openapi.json"

func newSchemas(patched []byte) (*schemas, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(patched))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, err
	}
	formats := map[string]bool{}
	collectFormats(doc, formats)
	for name := range formats {
		c.RegisterFormat(&jsonschema.Format{Name: name, Validate: formatValidator(name)})
	}
	c.AssertFormat()
	return &schemas{compiler: c, compiled: map[string]compiled{}}, nil
}

func collectFormats(v any, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		if f, ok := v["format"].(string); ok && f != "" {
			into[f] = true
		}
		for _, child := range v {
			collectFormats(child, into)
		}
	case []any:
		for _, child := range v {
			collectFormats(child, into)
		}
	}
}

var (
	reByte     = regexp.MustCompile(openapi3.FormatOfStringByte)
	reDate     = regexp.MustCompile(openapi3.FormatOfStringDate)
	reDateTime = regexp.MustCompile(openapi3.FormatOfStringDateTime)
)

// formatValidator is kin-openapi's check of a format: a pattern for byte, date and
// date-time strings, a range for int32 and int64 numbers, nothing for the others.
func formatValidator(name string) func(any) error {
	var re *regexp.Regexp
	var lo, hi float64
	switch name {
	case "byte":
		re = reByte
	case "date":
		re = reDate
	case "date-time":
		re = reDateTime
	case "int32":
		lo, hi = math.MinInt32, math.MaxInt32
	case "int64":
		lo, hi = math.MinInt64, math.MaxInt64
	default:
		return func(any) error { return nil }
	}
	return func(v any) error {
		switch v := v.(type) {
		case string:
			if re != nil && !re.MatchString(v) {
				return fmt.Errorf("%q is not a %s", v, name)
			}
		case json.Number:
			if re == nil {
				f, err := v.Float64()
				if err == nil && (f < lo || f > hi) {
					return fmt.Errorf("%s is out of the %s range", v, name)
				}
			}
		}
		return nil
	}
}

// get returns the schema at the JSON pointer ptr of the document, compiled once.
func (s *schemas) get(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.compiled[ptr]; ok {
		return c.schema, c.err
	}
	sch, err := s.compiler.Compile(docURL + "#" + ptr)
	s.compiled[ptr] = compiled{sch, err}
	return sch, err
}

// pointerToken escapes one JSON pointer token.
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// validateResponse is kin-openapi's ValidateResponse for a 2xx answer, with the body's
// schema compiled once: the operation must document the status (or its class, or a
// default), a documented required header must be there, and a documented body must have a
// documented Content-Type and match its schema.
func (s *schemas) validateResponse(route *routers.Route, status int, header http.Header, body []byte) error {
	op := route.Operation
	if op == nil || op.Responses == nil {
		return errors.New("the operation documents no responses")
	}
	key := strconv.Itoa(status)
	ref := op.Responses.Value(key)
	if ref == nil {
		key = strconv.Itoa(status/100) + "XX"
		ref = op.Responses.Value(key)
	}
	if ref == nil {
		key = "default"
		ref = op.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("status %d is not documented", status)
	}
	resp := ref.Value
	for name, h := range resp.Headers {
		if h != nil && h.Value != nil && h.Value.Required && header.Get(name) == "" {
			return fmt.Errorf("the required header %s is missing", name)
		}
	}
	if len(resp.Content) == 0 {
		return nil
	}
	ct := header.Get("Content-Type")
	media := resp.Content.Get(ct)
	if media == nil {
		return fmt.Errorf("Content-Type %q is not documented for status %d", ct, status)
	}
	if media.Schema == nil {
		return nil
	}
	mime := ""
	for k, m := range resp.Content {
		if m == media {
			mime = k
		}
	}
	if !strings.Contains(mime, "json") {
		return nil // only JSON bodies are checked, as kin-openapi decodes only those here
	}
	return s.validateBody(operationPointer(route)+"/responses/"+pointerToken(key)+
		"/content/"+pointerToken(mime)+"/schema", body)
}

// operationPointer is the JSON pointer of route's operation in the document.
func operationPointer(route *routers.Route) string {
	return "/paths/" + pointerToken(route.Path) + "/" + strings.ToLower(route.Method)
}

// validateBody checks the JSON body against the document's schema at ptr.
func (s *schemas) validateBody(ptr string, body []byte) error {
	key := validBody{ptr, sha256.Sum256(body)}
	if _, ok := s.valid.Load(key); ok {
		return nil
	}
	sch, err := s.get(ptr)
	if err != nil {
		return fmt.Errorf("compiling the schema at %s: %w", ptr, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	if err := sch.Validate(v); err != nil {
		return err
	}
	s.valid.Store(key, struct{}{})
	return nil
}

// validateRequestBody is kin-openapi's check of a request body, with its schema compiled
// once: a required body must be there, with a documented Content-Type, and match.
func (s *schemas) validateRequestBody(route *routers.Route, contentType string, body []byte) error {
	op := route.Operation
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	rb := op.RequestBody.Value
	if len(body) == 0 {
		if rb.Required {
			return errors.New("the request body is required")
		}
		return nil
	}
	media := rb.Content.Get(contentType)
	if media == nil {
		return fmt.Errorf("request Content-Type %q is not documented", contentType)
	}
	if media.Schema == nil {
		return nil
	}
	mime := ""
	for k, m := range rb.Content {
		if m == media {
			mime = k
		}
	}
	if !strings.Contains(mime, "json") {
		return nil
	}
	if err := s.validateBody(operationPointer(route)+"/requestBody/content/"+pointerToken(mime)+"/schema", body); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}
