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
	ids      *requestIDs // the ids of answers to requests that bring none
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
		ids:      newRequestIDs(),
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
	rq := &request{h: h, w: w, r: r, key: key, id: responseID(w, r, h.ids)}
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
	if !isJSONContentType(headerValue(r.Header, "Content-Type")) {
		rq.fail(errUnsupportedMediaType)
		return
	}
	if err := h.CheckOrigin(r); err != nil {
		rq.fail(err)
		return
	}

	c, err := h.Authenticate(r)
	switch {
	case err == nil:
		rq.cust = c
	case rt.hybrid && !isInvalidCustomer(err):
		// c is the zero Customer: the visitor is served as anonymous.
		if !errors.Is(err, ErrUnauthenticated) {
			rq.logAnonymous(err)
		}
	default:
		rq.fail(err)
		return
	}

	body, err := h.readBody(w, r)
	if err != nil {
		rq.fail(err)
		return
	}
	if !isJSONObject(body) {
		rq.fail(errNotAnObject)
		return
	}

	data, err := rq.run(rt, c, body)
	if err != nil {
		rq.fail(err)
		return
	}
	rq.succeed(data)
}

// readBody reads the request's body, at most h.maxBody bytes: a longer one is a 413 *Error,
// one that cannot be read a 400. A body of declared length (a browser's POST) is read into
// one buffer of that length and one byte more, to see its end: nothing else is allocated.
// A body of unknown length, or one declared too long, is read through
// http.MaxBytesReader, which also makes net/http close the connection rather than read the
// rest of a body too large.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := r.Body
	if body == nil || body == http.NoBody {
		// A server sets NoBody for an empty body; a request built by hand may have none.
		return nil, nil
	}
	if n := r.ContentLength; n > 0 && n <= h.maxBody {
		buf := make([]byte, n+1)
		read := 0
		for read < len(buf) {
			m, err := body.Read(buf[read:])
			read += m
			if err == io.EOF {
				// The whole body: as declared, or shorter (a request built by hand; a
				// server's body fails with io.ErrUnexpectedEOF then).
				return buf[:read], nil
			}
			if err != nil {
				return nil, errUnreadableBody(err)
			}
		}
		// Longer than declared: net/http's server never hands a handler such a body; a
		// request built by hand may be one. It is read on as a body of unknown length.
		body = io.NopCloser(io.MultiReader(bytes.NewReader(buf), body))
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errBodyTooLarge(h.maxBody)
		}
		return nil, errUnreadableBody(err)
	}
	return b, nil
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
	h   *Handler
	w   http.ResponseWriter
	r   *http.Request
	key ActionKey
	id  string // the request id, in the X-Request-Id header of the answer
	// cust is the signed-in customer, the zero Customer before authentication and for an
	// anonymous visitor. A copy, not a pointer: a pointer to ServeHTTP's customer would
	// move it to the heap, an allocation on every request.
	cust Customer
	// stale notes last-known billing served to the request (Config.StaleIfError), for
	// the Age header; nil when that is off.
	stale *staleNote
}

// run calls the action, turning a panic into an error (logged with its stack). c is the
// zero Customer for an anonymous visitor of a hybrid route. The context carries only what
// the action reads: the request's origin for the routes whose redirects may lead back to
// it, and the note of stale billing served when Config.StaleIfError is on.
func (rq *request) run(rt route, c Customer, body []byte) (data any, err error) {
	defer recoverInto(&err)
	ctx := rq.r.Context()
	if rt.redirects {
		ctx = withRequestOrigin(ctx, rq.r)
	}
	if rq.h.svc.billing.servesLastKnown() {
		rq.stale = &staleNote{}
		ctx = context.WithValue(ctx, staleNoteKey{}, rq.stale)
	}
	return rt.run(ctx, rq.h.svc, c, body)
}
