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
	"strings"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/redact"
)

// Handler serves the /api/flowglad/<actionKey> route of Flowglad's React SDK. It is an
// [http.Handler] and is safe for concurrent use. Its [Service] gives Go code on the server
// the same operations, on the same billing state.
type Handler struct {
	basePath string
	auth     Authenticator
	logger   *slog.Logger
	maxBody  int64
	cop      *http.CrossOriginProtection
	routes   map[ActionKey]route
	svc      *Service
}

// NewHandler validates cfg and returns a Handler. Config.Auth is required. It never panics
// on a bad configuration.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Auth == nil {
		return nil, errors.New("flowglad: Config.Auth is required")
	}
	st, err := cfg.resolve()
	if err != nil {
		return nil, err
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
	cop := http.NewCrossOriginProtection()
	for i, o := range cfg.TrustedOrigins {
		// AddTrustedOrigin accepts origins that can never match an Origin header (a
		// wildcard, capitals, a default port): checkOrigin refuses them.
		if err := checkOrigin(o, false); err != nil {
			return nil, fmt.Errorf("flowglad: Config.TrustedOrigins[%d]: %w", i, err)
		}
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("flowglad: Config.TrustedOrigins[%d]: %w", i, err)
		}
	}
	client, err := cfg.client(st)
	if err != nil {
		return nil, err
	}
	return &Handler{
		basePath: basePath,
		auth:     cfg.Auth,
		logger:   st.logger,
		maxBody:  maxBody,
		cop:      cop,
		routes:   routeTable(),
		svc:      newService(client, cfg.serviceOptions(st)),
	}, nil
}

// Service returns the Service behind the handler, for Go code on the server: billing with
// its helpers, checkouts, usage events, subscription changes and resources, with the same
// checks as the route and the same billing state (reads shared, mutations seen by both).
func (h *Handler) Service() *Service { return h.svc }

// Billing is h.Service().Billing: the customer's billing with its helpers, creating the
// Flowglad customer on first use, sharing concurrent reads with the route's.
func (h *Handler) Billing(ctx context.Context, c Customer) (*flowgladapi.Billing, error) {
	return h.svc.Billing(ctx, c)
}

// Client returns the Flowglad REST client the handler uses.
func (h *Handler) Client() *flowgladapi.Client { return h.svc.client }

// Authenticate runs Config.Auth on r as the route does, for middleware that gates other
// endpoints on billing: a panic in the authenticator is recovered into an error, and the
// Customer it returns is checked (an external id, a valid email when given; an invalid one
// is a 500 invalid_customer *Error). Errors wrapping [ErrUnauthenticated] mean no session.
// [WriteError] answers any of them as the route would. The text of an error from the
// authenticator names its type, not its message (which may hold an email or a token), so it
// is safe to log; errors.As still reaches the authenticator's own error.
func (h *Handler) Authenticate(r *http.Request) (Customer, error) {
	c, err := authenticate(h.auth, r)
	if err != nil {
		return Customer{}, authError(err)
	}
	if err := c.validate(); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Message = "the authenticator returned an " + e.Message
		}
		return Customer{}, err
	}
	return c, nil
}

// authError turns an authenticator's error into what it answers: 401 for no session, 500
// for anything else (the host application failed; logged, never shown). The cause is
// wrapped in an authFailure, whose text names its type only.
func authError(err error) error {
	if errors.Is(err, ErrUnauthenticated) {
		return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "sign in to continue",
			Err: &authFailure{err: err}}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error",
		Err: &authFailure{err: err}}
}

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
	// Every answer, success or failure, carries the request id, as do the log lines.
	rq := &request{h: h, w: w, r: r, key: key, id: responseID(w, r)}
	rt, ok := h.routes[key]
	if !ok {
		rq.fail(&Error{Status: http.StatusNotFound, Code: "unknown_action",
			Message: fmt.Sprintf("%q is not a Flowglad action", clip(string(key)))})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rq.fail(&Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "only POST is allowed"})
		return
	}
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		rq.fail(&Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "the request body must be application/json"})
		return
	}
	if err := h.cop.Check(r); err != nil {
		rq.fail(&Error{Status: http.StatusForbidden, Code: "cross_origin_forbidden",
			Message: "cross-origin requests are not allowed from this origin"})
		return
	}

	var cust *Customer
	c, err := h.Authenticate(r)
	switch {
	case err == nil:
		cust = &c
		rq.cust = cust
	case rt.hybrid && !isInvalidCustomer(err):
		if !errors.Is(err, ErrUnauthenticated) {
			rq.logAnonymous(err)
		}
	default:
		rq.fail(err)
		return
	}

	reqBody := r.Body
	if reqBody == nil {
		// A server always sets a body; a request built by hand may have none: it is empty.
		reqBody = http.NoBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, reqBody, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rq.fail(&Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Message: fmt.Sprintf("the request body exceeds %d bytes", h.maxBody)})
			return
		}
		rq.fail(&Error{Status: http.StatusBadRequest, Code: "invalid_json",
			Message: "the request body could not be read", Err: err})
		return
	}
	if !isJSONObject(body) {
		rq.fail(&Error{Status: http.StatusBadRequest, Code: "invalid_json",
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
	id   string // the request id, in the X-Request-Id header of the answer
	cust *Customer
}

// run calls the action, turning a panic into an error (logged with its stack).
func (rq *request) run(rt route, c *Customer, body []byte) (data any, err error) {
	defer recoverInto(&err)
	return rt.run(withRequestOrigin(rq.r.Context(), rq.r), rq.h.svc, c, body)
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
	// Written in three parts: relayed bytes are not copied into a new buffer.
	setJSONHeaders(rq.w, len(dataPrefix)+len(payload)+1)
	rq.w.WriteHeader(http.StatusOK)
	_, _ = rq.w.Write(dataPrefix)
	_, _ = rq.w.Write(payload)
	_, _ = rq.w.Write(dataSuffix)
}

var dataPrefix, dataSuffix = []byte(`{"data":`), []byte(`}`)

// isJSONContentType reports whether a Content-Type header says application/json (with any
// parameters, such as a charset).
func isJSONContentType(ct string) bool {
	if ct == "application/json" { // what the React SDK sends, without parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// fail maps err to a status, writes the error envelope and logs the failure.
func (rq *request) fail(err error) {
	e := classify(rq.r.Context(), err)
	writeError(rq.w, e, rq.id)
	if e.Status >= 500 {
		rq.log(slog.LevelError, e, err)
	} else {
		rq.log(slog.LevelDebug, e, err)
	}
}

// msgKeyRefused is the log message of a 401 or 403 from Flowglad. Flowglad answers a
// rate-limited key as it answers a wrong one (401, plain text), so the line cannot tell
// which; it names both for the operator.
const msgKeyRefused = "flowglad: Flowglad refused the API key (invalid or rate limited)"

// log writes one line about a failed request, with the request id and, when Flowglad
// failed, Flowglad's own request id for a support ticket.
func (rq *request) log(level slog.Level, e *statusError, err error) {
	ctx := rq.r.Context()
	if !rq.h.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", string(rq.key)),
		slog.Int("status", e.Status),
		slog.String("code", e.Code),
		slog.String("request_id", rq.id),
	}
	if rq.cust != nil {
		attrs = append(attrs, slog.String("customer", rq.cust.ExternalID))
	}
	attrs = rq.errorAttrs(attrs, err)
	msg := "flowglad: request failed"
	if e.Code == codeFlowgladAuthFailed {
		msg = msgKeyRefused
	}
	rq.h.logger.LogAttrs(ctx, level, msg, attrs...)
}

// logAnonymous warns that the authenticator failed on the hybrid route, which then serves
// the visitor as anonymous.
func (rq *request) logAnonymous(err error) {
	ctx := rq.r.Context()
	if !rq.h.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", string(rq.key)),
		slog.String("request_id", rq.id),
	}
	rq.h.logger.LogAttrs(ctx, slog.LevelWarn, "flowglad: authentication failed; serving as anonymous",
		rq.errorAttrs(attrs, err)...)
}

// errorAttrs appends what a log line tells of err: its text, redacted; the stack of a
// recovered panic; Flowglad's request id.
func (rq *request) errorAttrs(attrs []slog.Attr, err error) []slog.Attr {
	if err == nil {
		return attrs
	}
	attrs = append(attrs, slog.String("error", rq.redact(err.Error())))
	var api *flowgladapi.Error
	if errors.As(err, &api) && api.RequestID != "" {
		attrs = append(attrs, slog.String("flowglad_request_id", clip(api.RequestID)))
	}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.stack)))
	}
	return attrs
}

// redact removes the customer's email and name from s. Error texts can quote Flowglad's
// messages, which may repeat them, escaped inside its JSON or in a URL: every such form is
// removed. (An authenticator's error, before there is a customer, is logged by its type
// only: see authFailure.)
func (rq *request) redact(s string) string {
	if rq.cust == nil {
		return s
	}
	return redact.Values(s, 3, rq.cust.Email, rq.cust.Name)
}
