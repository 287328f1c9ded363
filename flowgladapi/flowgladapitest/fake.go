package flowgladapitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultAPIKey is the secret key a Fake accepts unless WithAPIKey says
// otherwise.
const DefaultAPIKey = "sk_test_fake"

// msgKeyInvalid is the fake's plain-text 401 for a key it refuses, worded
// like Flowglad's.
const msgKeyInvalid = "API key invalid. Check that the secret key is correct and has not been revoked."

// organizationID is the one organization every record belongs to.
const organizationID = "org_fake"

// checkoutExpiry is how long a checkout session stays open, as on Flowglad.
const checkoutExpiry = 24 * time.Hour

// Fake is a stateful, in-memory stand-in for Flowglad's REST API (the
// /api/v1 routes the Go library uses), plus a tiny hosted-checkout page.
// It is an http.Handler; NewServer mounts it on an httptest server.
//
// All methods are safe for concurrent use: one mutex guards the whole state,
// the request log and the fault queue.
type Fake struct {
	apiKey          string
	clock           func() time.Time
	checkoutBaseURL string // "" = derived from the server URL or the request
	publicURL       string // the server's own URL, when known
	handler         http.Handler
	routes          *http.ServeMux

	mu       sync.Mutex
	seq      map[string]int  // per-prefix id counters
	used     map[string]bool // every id handed out or seeded
	requests []Request
	faults   []*queuedFault
	release  chan struct{} // closed by ClearFaults, to release held requests
	latency  time.Duration
	st       state
	hooks    hooks // webhook endpoints and deliveries (webhooks.go)

	closed    chan struct{} // closed when a Server closes: held requests are dropped
	closeOnce sync.Once
}

// Option configures a Fake.
type Option func(*config)

type config struct {
	seed            *Seed
	apiKey          string
	clock           func() time.Time
	middleware      []func(http.Handler) http.Handler
	checkoutBaseURL string
	hooks           hookConfig
}

// WithSeed loads s into the fake before it serves anything. Without it the
// fake starts with an empty default pricing model and no customers. An
// invalid seed makes New panic (and NewServer fail the test): a seed is
// test code, and a typo in it should stop the test at once.
func WithSeed(s Seed) Option {
	return func(c *config) { c.seed = &s }
}

// WithAPIKey sets the secret key the fake accepts (default DefaultAPIKey).
func WithAPIKey(key string) Option {
	return func(c *config) { c.apiKey = key }
}

// WithClock sets the fake's clock (default time.Now). Every timestamp the
// fake emits is this clock's time in epoch milliseconds, so a fixed clock
// makes responses byte-for-byte reproducible.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

// WithMiddleware wraps the fake's handler, for example with
// spectest.Middleware to validate every exchange against the OpenAPI
// document. The first middleware given is the outermost.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(c *config) { c.middleware = append(c.middleware, mw) }
}

// WithCheckoutBaseURL sets the prefix of checkout session URLs (the session
// id is appended). The default is the server's URL + "/checkout/"; a Fake
// made by New without this option derives it from each request's Host.
func WithCheckoutBaseURL(u string) Option {
	return func(c *config) { c.checkoutBaseURL = u }
}

// New returns a Fake with the given options. It panics if the seed is
// invalid.
func New(opts ...Option) *Fake {
	f, err := newFake(opts...)
	if err != nil {
		panic(err)
	}
	return f
}

func newFake(opts ...Option) (*Fake, error) {
	cfg := config{apiKey: DefaultAPIKey, clock: time.Now,
		hooks: hookConfig{retries: defaultWebhookRetries, backoff: defaultWebhookBackoff}}
	for _, o := range opts {
		o(&cfg)
	}
	f := &Fake{
		apiKey:          cfg.apiKey,
		clock:           cfg.clock,
		checkoutBaseURL: cfg.checkoutBaseURL,
		seq:             map[string]int{},
		used:            map[string]bool{},
		hooks:           newHooks(cfg.hooks),
		release:         make(chan struct{}),
		closed:          make(chan struct{}),
	}
	seed := Seed{}
	if cfg.seed != nil {
		seed = *cfg.seed
	}
	if err := f.applySeed(seed); err != nil {
		return nil, fmt.Errorf("flowgladapitest: seed: %w", err)
	}
	f.routes = f.mux()
	var h http.Handler = http.HandlerFunc(f.serve)
	for i := len(cfg.middleware) - 1; i >= 0; i-- {
		h = cfg.middleware[i](h)
	}
	f.handler = h
	return f, nil
}

// Server is a Fake listening on a loopback httptest server.
type Server struct {
	*Fake
	// URL is the server's base URL (http://127.0.0.1:port), to be used as
	// the Flowglad base URL of the client under test.
	URL string
	// HTTPServer is the underlying server; NewServer closes it in
	// tb.Cleanup.
	HTTPServer *httptest.Server
}

// NewServer starts a Fake on an httptest server that tb.Cleanup closes,
// after stopping its webhook deliveries. An invalid seed fails tb.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	f, err := newFake(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(f)
	// Nobody knows srv.URL before this returns, so no request can miss it.
	f.mu.Lock()
	f.publicURL = srv.URL
	f.mu.Unlock()
	tb.Cleanup(func() {
		f.CloseWebhooks() // first, so no delivery outlives the test
		f.closeFaults()   // and no held request blocks Close
		srv.Close()
	})
	return &Server{Fake: f, URL: srv.URL, HTTPServer: srv}
}

// APIKey returns the secret key the fake accepts.
func (f *Fake) APIKey() string { return f.apiKey }

// ServeHTTP serves the fake's routes through the configured middleware.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.handler.ServeHTTP(w, r)
}

// serve is the fake itself: log, latency, faults, auth, then the route.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := readAll(r)
	f.mu.Lock()
	reqID := f.newIDLocked("req")
	f.requests = append(f.requests, Request{
		Method: r.Method,
		Path:   r.URL.EscapedPath(),
		Query:  r.URL.RawQuery,
		Body:   body,
	})
	latency := f.latency
	queued, faulted := f.takeFaultLocked(r)
	release := f.release
	f.mu.Unlock()
	var fault Fault
	if faulted {
		fault = queued.fault
	}
	w.Header().Set("X-Request-Id", reqID)

	if latency > 0 && !sleep(r.Context(), latency) {
		return
	}
	if faulted && !fault.AfterApply {
		if !fault.Hang {
			f.writeFault(w, fault, reqID)
			return
		}
		if !f.hang(r, release) {
			dropConnection(w)
			return
		}
		faulted = false // released by ClearFaults: served as usual
	}
	if err != nil {
		writeError(w, reqID, http.StatusBadRequest, "", "Invalid JSON in request body")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") && !f.authorized(w, r) {
		return
	}
	ctx := context.WithValue(r.Context(), callKey{}, &reqCtx{reqID: reqID, body: body, base: f.baseURL(r)})
	if faulted {
		// The request takes effect, then its answer is lost. A request the route refuses
		// took no effect: its refusal is sent and the fault stays owed.
		rec := httptest.NewRecorder()
		f.routes.ServeHTTP(rec, r.WithContext(ctx))
		if rec.Code >= 200 && rec.Code <= 299 {
			f.mu.Lock()
			owed := f.consumeLocked(queued)
			f.mu.Unlock()
			switch {
			case owed && !fault.Hang:
				f.writeFault(w, fault, reqID)
				return
			case owed && !f.hang(r, release):
				dropConnection(w)
				return
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	f.routes.ServeHTTP(w, r.WithContext(ctx))
}

// authorized checks the Authorization header the way Flowglad does: the
// raw key, or "Bearer <key>" with the scheme in any case. A refusal is
// plain text, as on the live server.
func (f *Fake) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		writeText(w, http.StatusUnauthorized, "Unauthorized. Authorization header is required: send the secret key, bare or as 'Bearer <key>'.")
		return false
	}
	key := h
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		key = strings.TrimSpace(h[7:])
	}
	if key != f.apiKey {
		writeText(w, http.StatusUnauthorized, msgKeyInvalid)
		return false
	}
	return true
}

// baseURL is where the fake is reachable from the client's point of view:
// the httptest server's URL, or else the request's scheme and Host.
func (f *Fake) baseURL(r *http.Request) string {
	f.mu.Lock()
	u := f.publicURL
	f.mu.Unlock()
	if u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// checkoutURL is the URL of the hosted page for session id.
func (f *Fake) checkoutURL(base, id string) string {
	prefix := f.checkoutBaseURL
	if prefix == "" {
		prefix = base + "/checkout/"
	}
	return prefix + id
}

// mux routes with stdlib method+path patterns on Flowglad's real paths.
// Specific routes (billing, default pricing model, bulk) need no ordering:
// ServeMux picks the most specific pattern. "/" catches everything else,
// which also turns a wrong method into Flowglad's 404 rather than a 405.
func (f *Fake) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/v1/customers/{externalId}", f.getCustomer)
	m.HandleFunc("POST /api/v1/customers", f.createCustomer)
	m.HandleFunc("PUT /api/v1/customers/{externalId}", f.updateCustomer)
	m.HandleFunc("GET /api/v1/customers/{externalId}/billing", f.getBilling)
	m.HandleFunc("GET /api/v1/customers/{externalId}/usage-balances", f.getUsageBalances)
	m.HandleFunc("POST /api/v1/customers/{externalId}/archive", f.archiveCustomer)
	m.HandleFunc("POST /api/v1/checkout-sessions", f.createCheckoutSession)
	m.HandleFunc("GET /api/v1/subscriptions/{id}", f.getSubscription)
	m.HandleFunc("POST /api/v1/subscriptions", f.createSubscription)
	m.HandleFunc("POST /api/v1/subscriptions/{id}/cancel", f.cancelSubscription)
	m.HandleFunc("POST /api/v1/subscriptions/{id}/uncancel", f.uncancelSubscription)
	m.HandleFunc("POST /api/v1/subscriptions/{id}/adjust", f.adjustSubscription)
	m.HandleFunc("POST /api/v1/usage-events", f.createUsageEvent)
	m.HandleFunc("POST /api/v1/usage-events/bulk", f.bulkCreateUsageEvents)
	m.HandleFunc("GET /api/v1/pricing-models/default", f.getDefaultPricingModel)
	m.HandleFunc("GET /api/v1/pricing-models/{id}", f.getPricingModel)
	m.HandleFunc("POST /api/v1/resource-claims/{subscriptionId}/claim", f.claimResource)
	m.HandleFunc("POST /api/v1/resource-claims/{subscriptionId}/release", f.releaseResource)
	m.HandleFunc("GET /api/v1/resource-claims/{subscriptionId}/usage", f.getResourceUsage)
	m.HandleFunc("GET /api/v1/resource-claims/{subscriptionId}/usages", f.listResourceUsages)
	m.HandleFunc("GET /api/v1/resource-claims/{subscriptionId}/claims", f.listResourceClaims)
	m.HandleFunc("POST /api/v1/webhooks", f.createWebhook)
	m.HandleFunc("GET /api/v1/webhooks/{id}", f.getWebhook)
	m.HandleFunc("PUT /api/v1/webhooks/{id}", f.updateWebhook)
	m.HandleFunc("GET /checkout/{id}", f.checkoutPage)
	m.HandleFunc("POST /checkout/{id}/complete", f.completeCheckoutPage)
	m.HandleFunc("GET /billing-portal/{customerId}", f.billingPortalPage)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusNotFound, "Not Found")
	})
	return m
}

// reqCtx carries per-request data from serve to the route handlers.
type reqCtx struct {
	reqID string
	body  []byte
	base  string
}

type callKey struct{}

func callOf(r *http.Request) *reqCtx {
	return r.Context().Value(callKey{}).(*reqCtx)
}

// apiError is a failure with Flowglad's HTTP status and tRPC code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "NOT_FOUND", fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *apiError {
	return &apiError{http.StatusConflict, "CONFLICT", fmt.Sprintf(format, args...)}
}

// handle runs fn under the state lock and writes its result: a 200 JSON
// body, or the error in Flowglad's shape. The body is marshalled before the
// lock is released, because the wire structs share maps with the state.
func (f *Fake) handle(w http.ResponseWriter, r *http.Request, fn func(now int64) (any, *apiError)) {
	reqID := callOf(r).reqID
	f.mu.Lock()
	var before *webhookSnapshot // reads change nothing to tell webhooks about
	if r.Method != http.MethodGet {
		before = f.snapshotLocked()
	}
	v, aerr := fn(f.now())
	f.notifyLocked(before)
	var b []byte
	var merr error
	if aerr == nil {
		b, merr = json.Marshal(v)
	}
	f.mu.Unlock()
	switch {
	case aerr != nil:
		writeError(w, reqID, aerr.status, aerr.code, aerr.message)
	case merr != nil:
		// A marshalling failure is a bug in the fake; make it loud.
		writeError(w, reqID, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "flowgladapitest: marshal: "+merr.Error())
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "flowgladapitest: marshal: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes the live server's error shape: {"error", "code",
// "request_id"}; code is left out when empty (as for invalid JSON).
func writeError(w http.ResponseWriter, reqID string, status int, code, message string) {
	body := map[string]any{"error": message, "request_id": reqID}
	if code != "" {
		body["code"] = code
	}
	writeJSON(w, status, body)
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// codeForStatus maps an HTTP status to the tRPC code Flowglad would send.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BAD_REQUEST"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "FORBIDDEN"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusRequestTimeout:
		return "TIMEOUT"
	case http.StatusConflict:
		return "CONFLICT"
	case http.StatusUnprocessableEntity:
		return "UNPROCESSABLE_CONTENT"
	case http.StatusTooManyRequests:
		return "TOO_MANY_REQUESTS"
	case http.StatusNotImplemented:
		return "NOT_IMPLEMENTED"
	case http.StatusBadGateway:
		return "BAD_GATEWAY"
	case http.StatusServiceUnavailable:
		return "SERVICE_UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "GATEWAY_TIMEOUT"
	}
	return "INTERNAL_SERVER_ERROR"
}

func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(secs, 10)
}
