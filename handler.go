package flowglad

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/jsonscan"
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
// Customer it returns is checked (an external id; an invalid one is a 500 invalid_customer
// *Error). Its email is not checked here: it matters only when the Flowglad customer is
// created, which checks it. Errors wrapping [ErrUnauthenticated] mean no session.
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

// CheckOrigin refuses a cross-origin browser request as the route does
// (http.CrossOriginProtection with Config.TrustedOrigins): it returns nil for a request
// from the same origin, from a trusted origin, from no browser at all (no Sec-Fetch-Site
// and no Origin header: curl, a server, a mobile app), and for GET, HEAD and OPTIONS;
// else a 403 cross_origin_forbidden *Error, which [WriteError] answers with the route's
// envelope. The middleware package calls it before authenticating a request to a gated
// endpoint; call it in your own cookie-authenticated handlers too.
func (h *Handler) CheckOrigin(r *http.Request) error {
	if err := h.cop.Check(r); err != nil {
		e := *errCrossOrigin // a copy: callers may change what they are given
		e.Err = err
		return &e
	}
	return nil
}

// authError turns an authenticator's error into what it answers: 401 for no session, 500
// for anything else (the host application failed; logged, never shown). The cause is
// wrapped in an authFailure, whose text names its type only.
func authError(err error) error {
	if errors.Is(err, ErrUnauthenticated) {
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "sign in to continue",
			Err: &authFailure{err: err}}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternalError, Message: msgInternal,
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
		rq.fail(errUnknownAction(key))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rq.fail(errMethodNotAllowed)
		return
	}
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		rq.fail(errUnsupportedMediaType)
		return
	}
	if err := h.CheckOrigin(r); err != nil {
		rq.fail(err)
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
			rq.fail(errBodyTooLarge(h.maxBody))
			return
		}
		rq.fail(errUnreadableBody(err))
		return
	}
	if !isJSONObject(body) {
		rq.fail(errNotAnObject)
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
	return trimmed[0] == '{' && jsonscan.Valid(trimmed)
}

// request carries what one ServeHTTP call needs to answer and log.
type request struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	key  ActionKey
	id   string // the request id, in the X-Request-Id header of the answer
	cust *Customer
	// stale notes last-known billing served to the request (Config.StaleIfError), for
	// the Age header; nil when that is off.
	stale *staleNote
}

// run calls the action, turning a panic into an error (logged with its stack).
func (rq *request) run(rt route, c *Customer, body []byte) (data any, err error) {
	defer recoverInto(&err)
	ctx := withRequestOrigin(rq.r.Context(), rq.r)
	if rq.h.svc.billing.lastKnown != nil {
		rq.stale = &staleNote{}
		ctx = context.WithValue(ctx, staleNoteKey{}, rq.stale)
	}
	return rt.run(ctx, rq.h.svc, c, body)
}
