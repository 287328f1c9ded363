package flowglad

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowglad-go/flowglad/actions"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/google/uuid"
)

// Defaults of [Config].
const (
	// DefaultBasePath is where the React SDK looks for the route.
	DefaultBasePath = "/api/flowglad"
	// DefaultMaxBodyBytes caps request bodies.
	DefaultMaxBodyBytes = 1 << 20
)

// Config configures a [Handler]. Only Auth is required (and an API key, which may come from
// the environment); every other zero value is a documented default.
type Config struct {
	// APIKey is your Flowglad secret key (sk_test_... or sk_live_...). Empty means the
	// FLOWGLAD_SECRET_KEY environment variable; if both are empty, NewHandler fails.
	APIKey string
	// BaseURL is Flowglad's API origin. Empty means the FLOWGLAD_BASE_URL environment
	// variable, else https://app.flowglad.com.
	BaseURL string
	// BasePath is the path the handler is mounted at; the action key is the rest of the
	// request path. Empty means "/api/flowglad", the React SDK's default. The handler also
	// works behind http.StripPrefix and chi's Mount, which hide or keep this prefix.
	BasePath string
	// Auth derives the signed-in customer from a request. Required.
	Auth Authenticator
	// HTTPClient makes the calls to Flowglad. Nil means a client with a pooled transport of
	// its own. Its Timeout, if any, bounds each attempt.
	HTTPClient *http.Client
	// Logger receives one line per failed request (5xx at Error, 4xx at Debug) with the
	// action key and a request id; never a secret or a customer's email or name. Nil means
	// slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; larger ones get 413. Zero means 1 MiB.
	MaxBodyBytes int64
	// TrustedOrigins are origins (scheme://host[:port]) allowed to call the handler from a
	// browser on another origin, such as a frontend served from another domain. Empty means
	// same-origin browser requests only. Requests that are not from a browser (no Origin or
	// Sec-Fetch-Site header) always pass. CORS itself (answering preflights) is the job of a
	// CORS middleware around the handler.
	TrustedOrigins []string
	// Timeout bounds each call to Flowglad, retries included. Zero means 30 seconds.
	Timeout time.Duration
	// RetryPolicy says how reads (and usage events, which carry an idempotency key) are
	// retried on 408, 429, 5xx and connection errors. Nil means
	// flowgladapi.DefaultRetryPolicy(): at most 2 retries with jittered backoff. Other
	// writes are never retried.
	RetryPolicy *flowgladapi.RetryPolicy
	// BillingCacheTTL keeps a customer's billing for this long after reading it. Zero (the
	// default) disables caching; concurrent reads for one customer are shared either way,
	// and every mutation made through the handler forgets the customer's billing.
	BillingCacheTTL time.Duration
	// BillingCache stores billing when BillingCacheTTL > 0. Nil means in-process memory.
	BillingCache BillingCache
}

// BillingCache stores customers' billing between requests, for Config.BillingCacheTTL. Plug
// a shared store (Redis, memcached) when running several instances.
type BillingCache = actions.BillingCache

// Handler serves the /api/flowglad/<actionKey> route of Flowglad's React SDK. It is an
// [http.Handler] and is safe for concurrent use. It also exposes the same operations to Go
// code on the server through [Handler.Service].
type Handler struct {
	basePath string
	auth     Authenticator
	logger   *slog.Logger
	maxBody  int64
	cop      *http.CrossOriginProtection
	routes   map[ActionKey]route
	svc      *actions.Service
	client   *flowgladapi.Client
}

// NewHandler validates cfg and returns a Handler. It never panics on a bad configuration.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Auth == nil {
		return nil, errors.New("flowglad: Config.Auth is required")
	}
	apiKey := cfg.APIKey
	if apiKey == "" {
		apiKey = os.Getenv("FLOWGLAD_SECRET_KEY")
	}
	if apiKey == "" {
		return nil, errors.New("flowglad: no API key: set Config.APIKey or FLOWGLAD_SECRET_KEY")
	}
	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = os.Getenv("FLOWGLAD_BASE_URL")
	}
	if baseURL == "" {
		baseURL = flowgladapi.DefaultBaseURL
	}
	basePath := cfg.BasePath
	if basePath == "" {
		basePath = DefaultBasePath
	}
	if !strings.HasPrefix(basePath, "/") {
		return nil, fmt.Errorf("flowglad: Config.BasePath %q must start with /", basePath)
	}
	basePath = strings.TrimRight(basePath, "/")
	maxBody := cfg.MaxBodyBytes
	if maxBody < 0 {
		return nil, errors.New("flowglad: Config.MaxBodyBytes must not be negative")
	}
	if maxBody == 0 {
		maxBody = DefaultMaxBodyBytes
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("flowglad: Config.Timeout must not be negative")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("flowglad: Config.TrustedOrigins: %w", err)
		}
	}
	opts := []flowgladapi.Option{flowgladapi.WithBaseURL(baseURL), flowgladapi.WithLogger(logger)}
	if cfg.HTTPClient != nil {
		opts = append(opts, flowgladapi.WithHTTPClient(cfg.HTTPClient))
	}
	if cfg.Timeout > 0 {
		opts = append(opts, flowgladapi.WithTimeout(cfg.Timeout))
	}
	if cfg.RetryPolicy != nil {
		opts = append(opts, flowgladapi.WithRetryPolicy(*cfg.RetryPolicy))
	}
	client, err := flowgladapi.NewClient(apiKey, opts...)
	if err != nil {
		return nil, fmt.Errorf("flowglad: %w", err)
	}
	svc, err := actions.New(client, actions.Options{
		Logger:          logger,
		BillingCacheTTL: cfg.BillingCacheTTL,
		BillingCache:    cfg.BillingCache,
	})
	if err != nil {
		return nil, fmt.Errorf("flowglad: %w", err)
	}
	return &Handler{
		basePath: basePath,
		auth:     cfg.Auth,
		logger:   logger,
		maxBody:  maxBody,
		cop:      cop,
		routes:   routeTable(),
		svc:      svc,
		client:   client,
	}, nil
}

// Service returns the actions behind the handler, for Go code on the server: billing with
// its helpers, usage events, subscription changes, with the same checks as the HTTP route.
func (h *Handler) Service() *actions.Service { return h.svc }

// Billing returns the customer's billing with its helpers (CheckFeatureAccess,
// CheckUsageBalance, Product, Price, HasPurchased), creating the Flowglad customer on first
// use. It shares concurrent reads with the route's, so calling it from middleware adds no
// Flowglad call to a page load that reads billing anyway. The result must not be modified.
func (h *Handler) Billing(ctx context.Context, c Customer) (*flowgladapi.Billing, error) {
	if err := validateCustomer(c); err != nil {
		return nil, err
	}
	return h.svc.Billing(ctx, actions.Customer(c))
}

// Client returns the Flowglad REST client the handler uses.
func (h *Handler) Client() *flowgladapi.Client { return h.client }

// actionKey derives the action key from the request path: the path after the base path, or,
// when a router already removed the prefix (http.StripPrefix), the path without its leading
// slash.
func (h *Handler) actionKey(path string) ActionKey {
	if rest, ok := strings.CutPrefix(path, h.basePath+"/"); ok {
		return ActionKey(rest)
	}
	return ActionKey(strings.TrimPrefix(path, "/"))
}

// ServeHTTP answers one action. Checks run in this order: action key, method, content type,
// cross-origin, authentication, body; so an unauthenticated request learns nothing about
// validation, and no Flowglad call is made for a request that fails any of them.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := h.actionKey(r.URL.Path)
	rq := &request{h: h, w: w, r: r, key: key}
	rt, ok := h.routes[key]
	if !ok {
		rq.fail(&actions.Error{Status: http.StatusNotFound, Code: "unknown_action",
			Message: fmt.Sprintf("%q is not a Flowglad action", truncate(string(key), 100))})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rq.fail(&actions.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "only POST is allowed"})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		rq.fail(&actions.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "the request body must be application/json"})
		return
	}
	if err := h.cop.Check(r); err != nil {
		rq.fail(&actions.Error{Status: http.StatusForbidden, Code: "cross_origin_forbidden",
			Message: "cross-origin requests are not allowed from this origin"})
		return
	}

	var cust *actions.Customer
	c, err := authenticate(h.auth, r)
	switch {
	case err == nil:
		if err := validateCustomer(c); err != nil {
			rq.fail(err)
			return
		}
		ac := actions.Customer(c)
		cust = &ac
		rq.cust = cust
	case rt.hybrid:
		if !errors.Is(err, ErrUnauthenticated) {
			h.logger.LogAttrs(r.Context(), slog.LevelWarn, "flowglad: authentication failed; serving as anonymous",
				slog.String("action", string(key)), slog.String("error", err.Error()))
		}
	case errors.Is(err, ErrUnauthenticated):
		rq.fail(&actions.Error{Status: http.StatusUnauthorized, Code: "unauthenticated",
			Message: "sign in to continue", Err: err})
		return
	default:
		rq.fail(&actions.Error{Status: http.StatusInternalServerError, Code: "internal_error",
			Message: "internal error", Err: fmt.Errorf("authenticator: %w", err)})
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rq.fail(&actions.Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Message: fmt.Sprintf("the request body exceeds %d bytes", h.maxBody)})
			return
		}
		rq.fail(&actions.Error{Status: http.StatusBadRequest, Code: "invalid_json",
			Message: "the request body could not be read", Err: err})
		return
	}
	if !isJSONObject(body) {
		rq.fail(&actions.Error{Status: http.StatusBadRequest, Code: "invalid_json",
			Message: "the request body must be a JSON object"})
		return
	}

	data, err := rq.run(rt, cust, body)
	if err != nil {
		rq.fail(err)
		return
	}
	rq.succeed(data)
}

// isJSONObject reports whether body is empty (the React SDK sends none for resources/usages)
// or one valid JSON object.
func isJSONObject(body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return true
	}
	return trimmed[0] == '{' && json.Valid(trimmed)
}

// request carries what one ServeHTTP call needs to answer and log.
type request struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	key  ActionKey
	cust *actions.Customer
}

// run calls the action, turning a panic into an error (logged with its stack).
func (rq *request) run(rt route, c *actions.Customer, body []byte) (data any, err error) {
	defer recoverInto(&err)
	return rt.run(rq.r.Context(), rq.h.svc, c, body)
}

// succeed writes {"data": ...}. Relayed Flowglad JSON is written as it came, not re-encoded.
func (rq *request) succeed(data any) {
	var payload []byte
	switch v := data.(type) {
	case json.RawMessage:
		payload = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			rq.fail(fmt.Errorf("encoding the result: %w", err))
			return
		}
		payload = b
	}
	if len(payload) == 0 {
		payload = []byte("null")
	}
	buf := make([]byte, 0, len(payload)+10)
	buf = append(buf, `{"data":`...)
	buf = append(buf, payload...)
	buf = append(buf, '}')
	rq.write(http.StatusOK, buf)
}

// fail maps err to a status and writes the error envelope: the one place errors become
// statuses.
func (rq *request) fail(err error) {
	e := classify(rq.r.Context(), err)
	if e.RetryAfter > 0 {
		rq.w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	jsonPart := map[string]any{"message": e.Message}
	for k, v := range e.Details {
		jsonPart[k] = v
	}
	if e.Status >= 500 {
		id := requestID(rq.r)
		jsonPart["requestId"] = id
		rq.log(slog.LevelError, e, err, id)
	} else {
		rq.log(slog.LevelDebug, e, err, "")
	}
	body, mErr := json.Marshal(map[string]any{"error": map[string]any{
		"code":    e.Code,
		"message": e.Message,
		"json":    jsonPart,
	}})
	if mErr != nil {
		body = []byte(`{"error":{"code":"internal_error","message":"internal error","json":{"message":"internal error"}}}`)
	}
	rq.write(e.Status, body)
}

func (rq *request) write(status int, body []byte) {
	h := rq.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	rq.w.WriteHeader(status)
	_, _ = rq.w.Write(body)
}

// log writes one line about a failed request. Error texts can quote Flowglad's messages,
// which may repeat the customer's email or name: those are redacted.
func (rq *request) log(level slog.Level, e *statusError, err error, id string) {
	ctx := rq.r.Context()
	if !rq.h.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", string(rq.key)),
		slog.Int("status", e.Status),
		slog.String("code", e.Code),
	}
	if id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if rq.cust != nil {
		attrs = append(attrs, slog.String("customer", rq.cust.ExternalID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", rq.redact(err.Error())))
		var pe *panicError
		if errors.As(err, &pe) {
			attrs = append(attrs, slog.String("stack", string(pe.stack)))
		}
	}
	rq.h.logger.LogAttrs(ctx, level, "flowglad: request failed", attrs...)
}

func (rq *request) redact(s string) string {
	if rq.cust == nil {
		return s
	}
	for _, v := range []string{rq.cust.Email, rq.cust.Name} {
		if len(strings.TrimSpace(v)) >= 3 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// requestID returns the request's X-Request-Id when it looks like an id, else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && isToken(id) {
		return id
	}
	return uuid.NewString()
}

func isToken(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// statusError is an error as it reaches the browser.
type statusError struct {
	Status     int
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter time.Duration
}

// classify maps an error to what the browser sees (CONTRACT.md §1 and §3). Messages of 5xx
// answers are generic: the real error goes to the log.
func classify(ctx context.Context, err error) *statusError {
	var ae *actions.Error
	if errors.As(err, &ae) {
		return &statusError{Status: ae.Status, Code: ae.Code, Message: ae.Message, Details: ae.Details}
	}
	var api *flowgladapi.Error
	if errors.As(err, &api) {
		switch api.StatusCode {
		case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
			msg := api.Message
			if msg == "" {
				msg = "Flowglad rejected the request"
			}
			return &statusError{Status: api.StatusCode, Code: "flowglad_rejected", Message: msg,
				Details: map[string]any{"flowgladCode": api.Code}}
		case http.StatusNotFound:
			msg := api.Message
			if msg == "" {
				msg = "not found"
			}
			return &statusError{Status: http.StatusNotFound, Code: "not_found", Message: msg}
		case http.StatusUnauthorized, http.StatusForbidden:
			// Our API key is wrong or lacks access: the operator's problem, not the user's.
			return &statusError{Status: http.StatusBadGateway, Code: "flowglad_auth_failed",
				Message: "billing is unavailable: the server's Flowglad credentials were refused"}
		case http.StatusTooManyRequests:
			wait := api.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			return &statusError{Status: http.StatusServiceUnavailable, Code: "flowglad_busy",
				Message: "Flowglad is busy; try again shortly", RetryAfter: wait}
		}
		return &statusError{Status: http.StatusBadGateway, Code: "flowglad_unavailable", Message: "Flowglad is unavailable"}
	}
	switch {
	case ctx.Err() != nil:
		// The browser went away; nobody reads this answer.
		return &statusError{Status: http.StatusServiceUnavailable, Code: "canceled", Message: "the request was canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &statusError{Status: http.StatusGatewayTimeout, Code: "flowglad_timeout", Message: "Flowglad did not answer in time"}
	case errors.Is(err, flowgladapi.ErrInvalidResponse), errors.Is(err, flowgladapi.ErrUnavailable):
		return &statusError{Status: http.StatusBadGateway, Code: "flowglad_unavailable", Message: "Flowglad is unavailable"}
	}
	return &statusError{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error"}
}
