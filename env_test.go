package flowglad_test

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/internal/logbuf"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/spectest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testNow is the fake's fixed clock, so answers (and golden files) are reproducible.
func testNow() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }

// Test users, chosen with the X-Test-User header. Alice and Bob exist in the demo seed;
// Carol is a new customer. The others exercise broken authenticators.
var testUsers = map[string]flowglad.Customer{
	flowgladapitest.DemoCustomerAlice: {ExternalID: flowgladapitest.DemoCustomerAlice, Name: "Alice Example", Email: "alice@example.com"},
	flowgladapitest.DemoCustomerBob:   {ExternalID: flowgladapitest.DemoCustomerBob, Name: "Bob Example", Email: "bob@example.com"},
	flowgladapitest.DemoCustomerCarol: {ExternalID: flowgladapitest.DemoCustomerCarol, Name: "Carol Example", Email: "carol@example.com"},
	"escaped":                         {ExternalID: "a b/c?d", Name: "Escaped Name", Email: "escaped@example.com"},
	"no-external-id":                  {ExternalID: "  ", Name: "Nobody Secret", Email: "nobody.secret@example.com"},
	"bad-email":                       {ExternalID: "user_bad", Name: "Bad Email", Email: "not-an-email"},
}

// testAuth is the host application's authenticator in these tests.
var testAuth = flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
	switch u := r.Header.Get("X-Test-User"); u {
	case "":
		return flowglad.Customer{}, flowglad.ErrUnauthenticated
	case "panic":
		panic("session store exploded")
	case "db-down":
		return flowglad.Customer{}, errors.New("session store unreachable")
	default:
		c, ok := testUsers[u]
		if !ok {
			return flowglad.Customer{}, flowglad.ErrUnauthenticated
		}
		return c, nil
	}
})

// testEnv is a handler wired to a fake Flowglad API seeded with the demo data.
type testEnv struct {
	t    *testing.T
	fake *flowgladapitest.Server
	h    *flowglad.Handler
	logs *logbuf.Buffer
}

type envOption func(*envSetup)

type envSetup struct {
	cfg       flowglad.Config
	fakeOpts  []flowgladapitest.Option
	noSpec    bool
	emptySeed bool
}

// withConfig edits the handler's configuration.
func withConfig(f func(*flowglad.Config)) envOption {
	return func(s *envSetup) { f(&s.cfg) }
}

// withFake adds options of the fake.
func withFake(opts ...flowgladapitest.Option) envOption {
	return func(s *envSetup) { s.fakeOpts = append(s.fakeOpts, opts...) }
}

// withoutSpec turns off the OpenAPI validation of the fake's exchanges, for faults whose
// answers break the spec on purpose (a garbled 200).
func withoutSpec() envOption {
	return func(s *envSetup) { s.noSpec = true }
}

// fastRetries keeps retry tests quick; waits are not asserted.
var fastRetries = flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond}

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	logs := &logbuf.Buffer{}
	setup := envSetup{}
	for _, o := range opts {
		o(&setup)
	}
	fakeOpts := []flowgladapitest.Option{
		flowgladapitest.WithSeed(flowgladapitest.DemoSeed()),
		flowgladapitest.WithClock(testNow),
	}
	// Every exchange with the fake is validated against Flowglad's OpenAPI document when it
	// is present; the handler's behaviour is tested either way.
	if !setup.noSpec {
		fakeOpts = append(fakeOpts, flowgladapitest.WithMiddleware(spectest.LoadOptional(t).Middleware(t)))
	}
	fakeOpts = append(fakeOpts, setup.fakeOpts...)
	fake := flowgladapitest.NewServer(t, fakeOpts...)

	cfg := setup.cfg
	if cfg.APIKey == "" {
		cfg.APIKey = fake.APIKey()
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = fake.URL
	}
	if cfg.Auth == nil {
		cfg.Auth = testAuth
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.RetryPolicy == nil {
		p := fastRetries
		cfg.RetryPolicy = &p
	}
	h, err := flowglad.NewHandler(cfg)
	require.NoError(t, err)
	return &testEnv{t: t, fake: fake, h: h, logs: logs}
}

// response is what the handler answered.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// envelope decodes the answer as the React SDK does.
func (r *response) envelope(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// data returns the envelope's data, failing the test unless the answer is a success.
func (r *response) data(t *testing.T) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	env := r.envelope(t)
	require.NotContains(t, env, "error")
	d, ok := env["data"].(map[string]any)
	require.True(t, ok, "data is not an object: %s", r.Body)
	return d
}

// assertError checks an error answer: status, code, the message in both places the React SDK
// reads, and no data beside it.
func (r *response) assertError(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	assert.Equal(t, status, r.Status, "body: %s", r.Body)
	env := r.envelope(t)
	assert.NotContains(t, env, "data", "an error must not carry data")
	e, ok := env["error"].(map[string]any)
	require.True(t, ok, "no error object: %s", r.Body)
	assert.Equal(t, code, e["code"], "body: %s", r.Body)
	msg, _ := e["message"].(string)
	assert.NotEmpty(t, msg)
	j, ok := e["json"].(map[string]any)
	require.True(t, ok, "no error.json: %s", r.Body)
	assert.Equal(t, msg, j["message"])
	return j
}

// request describes one browser request.
type request struct {
	method  string // default POST
	user    string // X-Test-User; empty = signed out
	key     string
	body    string // sent as is
	noBody  bool   // send no body at all (as the React SDK does for resources/usages)
	ctype   string // default application/json
	headers map[string]string
	path    string // overrides /api/flowglad/<key>
}

func (e *testEnv) do(rq request) *response {
	e.t.Helper()
	method := rq.method
	if method == "" {
		method = http.MethodPost
	}
	path := rq.path
	if path == "" {
		path = "/api/flowglad/" + rq.key
	}
	var body io.Reader
	if !rq.noBody {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(method, path, body)
	ctype := rq.ctype
	if ctype == "" {
		ctype = "application/json"
	}
	if ctype != "-" {
		r.Header.Set("Content-Type", ctype)
	}
	if rq.user != "" {
		r.Header.Set("X-Test-User", rq.user)
	}
	for k, v := range rq.headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// post sends a POST as user.
func (e *testEnv) post(user, key, body string) *response {
	e.t.Helper()
	return e.do(request{user: user, key: key, body: body})
}

// calls returns the Flowglad calls made so far as "METHOD /escaped/path?query", and forgets
// them.
func (e *testEnv) calls() []string {
	out := []string{}
	for _, r := range e.fake.Requests() {
		c := r.Method + " " + r.Path
		if r.Query != "" {
			c += "?" + r.Query
		}
		out = append(out, c)
	}
	e.fake.ResetRequests()
	return out
}

// lastBody returns the JSON body of the last Flowglad request with the given method and
// path.
func (e *testEnv) lastBody(method, path string) map[string]any {
	e.t.Helper()
	reqs := e.fake.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].Path == path {
			var m map[string]any
			require.NoError(e.t, json.Unmarshal(reqs[i].Body, &m))
			return m
		}
	}
	e.t.Fatalf("no %s %s in %v", method, path, e.calls())
	return nil
}

// Billing paths of the demo customers, as Flowglad receives them.
const (
	aliceBilling = "GET /api/v1/customers/user_alice/billing"
	bobBilling   = "GET /api/v1/customers/user_bob/billing"
	carolBilling = "GET /api/v1/customers/user_carol/billing"
)

// checkoutURLs are the successUrl and cancelUrl members of a valid checkout body.
const checkoutURLs = `"successUrl": "https://app.example/ok", "cancelUrl": "https://app.example/no"`

// errOf returns the error of a call's two results.
func errOf[T any](_ T, err error) error { return err }
