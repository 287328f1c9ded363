// Package spectest validates HTTP traffic against Flowglad's OpenAPI 3.1
// document, for use by the _test.go files of this module only.
//
// The document is read from $FLOWGLAD_OPENAPI_SPEC, or else from
// <module root>/../shared/flowglad-openapi.json. It is never copied into the
// repository; when it is absent the tests that need it are skipped (or fail,
// with FLOWGLAD_REQUIRE_SPEC=1, which CI sets when it provides the file).
//
// Requests are checked in full (route, parameters, security, body). Responses
// are checked only when their status is 2xx: Flowglad's error bodies follow
// the live server ({"error", "code", "request_id"}), not the spec's
// {code, message, issues}, so validating them would only restate a known
// mismatch.
package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// EnvSpecPath names the environment variable that overrides where the
// OpenAPI document is read from.
const EnvSpecPath = "FLOWGLAD_OPENAPI_SPEC"

// EnvRequireSpec names the environment variable that, set to "1", turns a
// missing document from a skip into a test failure.
const EnvRequireSpec = "FLOWGLAD_REQUIRE_SPEC"

// emailPattern is the one pattern of the document that Go's RE2 cannot
// compile (it uses look-aheads). Left in place, kin-openapi silently falls
// back to its OAS 3.0 validator, which then rejects the boolean
// discriminators and every billingAddress.email.
const emailPattern = `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`

// emailPatternRE2 accepts exactly the same strings as emailPattern (checked
// exhaustively on short local parts), written without look-aheads.
const emailPatternRE2 = `^([A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+\-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`

// Spec is a loaded, validated OpenAPI document with its router. It is safe
// for concurrent use.
type Spec struct {
	path    string
	doc     *openapi3.T
	schemas *schemas
	router  routers.Router
}

// loaded caches the document for the whole test binary: parsing and
// validating it takes a few hundred milliseconds, and it never changes while
// tests run. This is the package's only shared state, and it is write-once.
var loaded struct {
	once sync.Once
	path string
	spec *Spec
	err  error
}

// Load returns the Flowglad OpenAPI document, loading it on first use. When
// the file does not exist it skips tb, unless FLOWGLAD_REQUIRE_SPEC=1, in
// which case tb fails. Any other loading problem fails tb.
func Load(tb testing.TB) *Spec {
	tb.Helper()
	s, msg := load(tb)
	if s == nil {
		tb.Skip(msg)
	}
	return s
}

// LoadOptional is Load for tests that are worth running without the
// document: when the file does not exist it logs that validation is off and
// returns nil (FLOWGLAD_REQUIRE_SPEC=1 still makes that a failure).
// Middleware on a nil *Spec passes requests through unchecked.
func LoadOptional(tb testing.TB) *Spec {
	tb.Helper()
	s, msg := load(tb)
	if s == nil {
		tb.Log(msg)
	}
	return s
}

// load returns the document, or nil and the reason when the file is
// missing; it fails tb on any other problem.
func load(tb testing.TB) (*Spec, string) {
	tb.Helper()
	loaded.once.Do(func() {
		loaded.path, loaded.err = specPath()
		if loaded.err != nil {
			return
		}
		loaded.spec, loaded.err = loadFile(loaded.path)
	})
	if errors.Is(loaded.err, os.ErrNotExist) {
		msg := fmt.Sprintf("spectest: %s not found; OpenAPI validation skipped (set %s)", loaded.path, EnvSpecPath)
		if os.Getenv(EnvRequireSpec) == "1" {
			tb.Fatal(msg + " and " + EnvRequireSpec + "=1")
		}
		return nil, msg
	}
	if loaded.err != nil {
		tb.Fatalf("spectest: %v", loaded.err)
	}
	return loaded.spec, ""
}

// specPath resolves where the document should be, without checking that it
// exists.
func specPath() (string, error) {
	if p := os.Getenv(EnvSpecPath); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "flowglad-openapi.json"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; set " + EnvSpecPath)
		}
		dir = parent
	}
}

// loadFile reads, patches and validates the document at path. A missing file
// yields an error wrapping os.ErrNotExist.
func loadFile(path string) (*Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	patched, n, err := patchPatterns(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n == 0 {
		// A newer document may have fixed the pattern; say so rather than
		// silently validating with a different regex than expected.
		return nil, fmt.Errorf("%s: the BillingAddress.email pattern was not found; update spectest's patch", path)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(patched)
	if err != nil {
		return nil, fmt.Errorf("%s: load: %w", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s: validate: %w", path, err)
	}
	// The document's only server is https://app.flowglad.com; without this,
	// routes would never match an httptest server's host.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: router: %w", path, err)
	}
	sch, err := newSchemas(patched)
	if err != nil {
		return nil, fmt.Errorf("%s: schemas: %w", path, err)
	}
	return &Spec{path: path, doc: doc, router: router, schemas: sch}, nil
}

// patchPatterns replaces every occurrence of emailPattern in the document
// (decoded, so escaping does not matter) and reports how many it replaced.
func patchPatterns(raw []byte) ([]byte, int, error) {
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, 0, err
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if s, ok := child.(string); ok && k == "pattern" && s == emailPattern {
					v[k] = emailPatternRE2
					n++
					continue
				}
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(tree)
	out, err := json.Marshal(tree)
	return out, n, err
}

// Path returns the file the document was read from.
func (s *Spec) Path() string { return s.path }

// options is shared by request and response validation. The security check
// only requires the Authorization header to be present: the value is the
// fake's business, and the spec does not describe its format.
func (s *Spec) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError: true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if in.RequestValidationInput.Request.Header.Get("Authorization") == "" {
				return errors.New("the Authorization header is missing")
			}
			return nil
		},
	}
}

// route finds the operation for r, or returns an error naming why none
// matched.
func (s *Spec) route(r *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		return nil, nil, fmt.Errorf("no operation for %s %s: %w", r.Method, r.URL.EscapedPath(), err)
	}
	return route, params, nil
}

// ValidateRequest checks r against the document: that an operation matches
// its method and path, its parameters, the Authorization header and its
// body. r.Body is read and replaced by an equivalent reader, so r can still
// be sent or served afterwards.
func (s *Spec) ValidateRequest(r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return s.validateRequest(r, body)
}

func (s *Spec) validateRequest(r *http.Request, body []byte) error {
	route, params, err := s.route(r)
	if err != nil {
		return err
	}
	// Validate a shallow copy: kin may consume or replace the body.
	rc := r.Clone(r.Context())
	rc.Body = io.NopCloser(bytes.NewReader(body))
	// kin-openapi checks the route, parameters and security; the body is checked
	// against its schema compiled once (see schemas).
	opts := s.options()
	opts.ExcludeRequestBody = true
	in := &openapi3filter.RequestValidationInput{
		Request:    rc,
		PathParams: params,
		Route:      route,
		Options:    opts,
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return err
	}
	return s.schemas.validateRequestBody(route, r.Header.Get("Content-Type"), body)
}

// ValidateResponse checks a response that req received against the
// document. Only 2xx responses are checked; for any other status it returns
// nil, because Flowglad's real error bodies do not follow the spec's error
// schemas. header should carry the Content-Type (application/json when nil).
func (s *Spec) ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	if status < 200 || status > 299 {
		return nil
	}
	route, _, err := s.route(req)
	if err != nil {
		return err
	}
	if header == nil {
		header = http.Header{"Content-Type": []string{"application/json"}}
	}
	return s.schemas.validateResponse(route, status, header, body)
}

// readBody drains r.Body and puts back a reader over the same bytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("spectest: read request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// Middleware returns middleware that validates every request under /api/
// before passing it on, and every 2xx response the wrapped handler writes,
// reporting violations with tb.Errorf (method, path and the validator's
// message). Other paths (such as a fake's checkout pages) pass through
// unchecked, and so does everything when s is nil (see LoadOptional).
//
// The response is buffered and validated before it is sent, so a violation
// is reported while the test that made the request is still waiting for it.
// A handler that hijacks the connection is passed the real connection and
// its response is not checked.
func (s *Spec) Middleware(tb testing.TB) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if s == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/api/") {
				next.ServeHTTP(w, r)
				return
			}
			body, err := readBody(r)
			if err != nil {
				tb.Errorf("spectest: %s %s: %v", r.Method, r.URL.EscapedPath(), err)
				http.Error(w, "spectest: cannot read request body", http.StatusBadRequest)
				return
			}
			if err := s.validateRequest(r, body); err != nil {
				tb.Errorf("spectest: %s %s: request does not match the OpenAPI spec: %v", r.Method, r.URL.EscapedPath(), err)
			}
			// The handler reads a fresh copy; the validated clone had its own.
			r.Body = io.NopCloser(bytes.NewReader(body))

			rec := &recorder{w: w, header: make(http.Header)}
			next.ServeHTTP(rec, r)
			if rec.hijacked {
				return
			}
			if rec.status == 0 && r.Context().Err() != nil {
				// The client gave up (a timeout test with latency) and the handler wrote
				// nothing: there is no response to validate.
				return
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			if err := s.ValidateResponse(r, status, rec.header, rec.body.Bytes()); err != nil {
				tb.Errorf("spectest: %s %s: %d response does not match the OpenAPI spec: %v\nbody: %s",
					r.Method, r.URL.EscapedPath(), status, err, truncate(rec.body.Bytes(), 2048))
			}
			rec.flushTo()
		})
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
