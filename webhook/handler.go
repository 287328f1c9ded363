package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of [Handler].
const (
	// DefaultMaxBodyBytes caps a delivery's body. Flowglad's bodies are a
	// few hundred bytes.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultTimeout bounds the work on one delivery (the invalidation and
	// your function). Flowglad gives up on an answer after 10 seconds and
	// retries; ending well before that leaves room to answer 500 ourselves.
	DefaultTimeout = 5 * time.Second
)

// BillingInvalidator forgets what is cached of a customer's billing. The
// root package's *Service (flowglad.Handler.Service) satisfies it; so does
// anything with the method. It must be safe for concurrent use.
type BillingInvalidator interface {
	InvalidateBilling(ctx context.Context, externalID string) error
}

// An Option configures a [Handler].
type Option func(*handlerConfig)

type handlerConfig struct {
	typ         EventType
	maxBody     int64
	timeout     time.Duration
	store       Store
	invalidator BillingInvalidator
	logger      *slog.Logger
	verify      []VerifyOption
}

// WithEventType tells the handler which event type its endpoint receives,
// so events carry it in [Event.Type]. Flowglad's body does not name its
// type; register one endpoint (one URL, one secret) per event type and
// mount one handler for each.
func WithEventType(t EventType) Option {
	return func(c *handlerConfig) { c.typ = t }
}

// WithMaxBodyBytes caps the request body (default [DefaultMaxBodyBytes]); a
// larger body is answered 413. Zero or negative keeps the default.
func WithMaxBodyBytes(n int64) Option {
	return func(c *handlerConfig) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithTimeout bounds the invalidation and the function for one delivery
// (default [DefaultTimeout]); their context is done after d. Zero or
// negative keeps the default.
func WithTimeout(d time.Duration) Option {
	return func(c *handlerConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithStore sets where handled ids are remembered (default: a
// [MemoryStore] of its own, with the default size and TTL). Pass one store
// to the handlers of all your endpoints, and a shared one when several
// instances receive deliveries.
func WithStore(s Store) Option {
	return func(c *handlerConfig) { c.store = s }
}

// WithBillingInvalidator makes the handler call inv.InvalidateBilling with
// the event's customer external id, before your function, for every event
// that names a customer; then the next billing read asks Flowglad. Pass
// flowglad.Handler.Service(). A failed invalidation fails the delivery
// (500), so Flowglad retries it.
func WithBillingInvalidator(inv BillingInvalidator) Option {
	return func(c *handlerConfig) { c.invalidator = inv }
}

// WithLogger sets the logger (default [slog.Default]). The handler logs
// failed verifications at Warn with the reason only, failures it answers
// with 5xx at Error, and handled and duplicate deliveries at Debug (the
// customer's external id only there). The secret, signatures and bodies
// are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *handlerConfig) { c.logger = l }
}

// WithVerifyOptions passes options to the signature check: tolerances and
// a clock ([WithTolerance], [WithClock]).
func WithVerifyOptions(opts ...VerifyOption) Option {
	return func(c *handlerConfig) { c.verify = append(c.verify, opts...) }
}

// handler is what Handler returns.
type handler struct {
	handlerConfig
	key    []byte
	keyErr error
	vc     verifyConfig
	fn     func(context.Context, Event) error
}

// Handler returns an http.Handler for one Flowglad webhook endpoint, signed
// with secret. For each delivery it:
//
//  1. answers 405 to anything but POST;
//  2. reads the body, answering 413 past the cap ([WithMaxBodyBytes]);
//  3. verifies it as [Verify] does, answering 401 with the same body
//     whatever failed, so a forger learns nothing (the reason is logged);
//  4. decodes the [Event], answering 400 to a body that is not one;
//  5. claims the delivery's id in the [Store]: an id already handled is
//     answered 204 without running anything again, an id another request
//     is handling right now 409 (Flowglad retries later, by which time it
//     is handled or released);
//  6. with a context bounded by [WithTimeout], invalidates the customer's
//     billing ([WithBillingInvalidator]) and then calls fn (nil means
//     nothing more to do);
//  7. answers 204 and marks the id completed when both succeeded; when
//     either failed it releases the id and answers 500, so Flowglad
//     delivers again and the redelivery is handled. A panic releases the
//     id too, then goes on to net/http, which drops the connection (also a
//     failed delivery to Flowglad).
//
// Flowglad retries any answer outside 2xx.
//
// Handler cannot return an error; prefer [NewHandler], which refuses an
// invalid secret (empty, or not "whsec_" followed by standard base64) at
// startup. Handler given one logs the problem at Error once, when it is
// built, and then answers every delivery 500 without reading it, logged at
// Error again: the endpoint is visibly broken and no event is lost, since
// Flowglad keeps retrying until the secret is fixed (for about a day). No log
// line or answer quotes the secret.
//
// fn runs on the request's goroutine, concurrently for different ids; it
// must return within the context's deadline and should be idempotent in its
// effects where it can, since a failure after a side effect means it runs
// again.
func Handler(secret string, fn func(ctx context.Context, e Event) error, opts ...Option) http.Handler {
	h := newHandler(secret, fn, opts)
	if h.keyErr != nil {
		h.logger.LogAttrs(context.Background(), slog.LevelError,
			"webhook endpoint misconfigured: every delivery will be answered 500 until the secret is fixed",
			slog.Any("err", h.keyErr))
	}
	return h
}

// NewHandler is [Handler] for an endpoint whose secret is checked now: it
// returns an error wrapping [ErrBadSecret] (saying what is wrong, never
// quoting the secret) when secret is not a signing secret as Flowglad shows
// it, "whsec_" followed by a standard base64 key (or the base64 key alone,
// as [Verify] accepts). Call it at startup and stop on the error.
func NewHandler(secret string, fn func(ctx context.Context, e Event) error, opts ...Option) (http.Handler, error) {
	h := newHandler(secret, fn, opts)
	if h.keyErr != nil {
		return nil, h.keyErr
	}
	return h, nil
}

func newHandler(secret string, fn func(ctx context.Context, e Event) error, opts []Option) *handler {
	h := &handler{
		handlerConfig: handlerConfig{maxBody: DefaultMaxBodyBytes, timeout: DefaultTimeout},
		fn:            fn,
	}
	for _, o := range opts {
		if o != nil {
			o(&h.handlerConfig)
		}
	}
	if h.store == nil {
		h.store = NewMemoryStore(0, 0)
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	h.key, h.keyErr = decodeSecret(secret)
	h.vc = newVerifyConfig(h.verify)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.keyErr != nil {
		h.fail(w, r, "webhook endpoint misconfigured: delivery refused", h.keyErr)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return
	}
	s, err := verify(h.key, body, r.Header, h.vc)
	if err != nil {
		h.logger.LogAttrs(ctx, slog.LevelWarn, "webhook delivery refused", slog.Any("err", err))
		http.Error(w, "invalid webhook signature", http.StatusUnauthorized)
		return
	}
	e, err := decodeEvent(s, h.typ, body)
	if err != nil {
		h.logger.LogAttrs(ctx, slog.LevelWarn, "webhook delivery refused",
			slog.String("webhook_id", s.id), slog.Any("err", err))
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}

	// An if chain, not a switch: Go's coverage profile leaves switch cases outside every
	// block, so mutation testing would count them as never run.
	status, err := h.store.Claim(ctx, e.ID)
	if err != nil {
		h.fail(w, r, "webhook store claim failed", fmt.Errorf("webhook: claim %s: %w", e.ID, err))
		return
	}
	if status == Completed {
		h.logger.LogAttrs(ctx, slog.LevelDebug, "webhook duplicate ignored", h.attrs(e)...)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if status != Claimed {
		h.logger.LogAttrs(ctx, slog.LevelDebug, "webhook delivery already in flight", h.attrs(e)...)
		http.Error(w, "delivery already in progress", http.StatusConflict)
		return
	}
	if err := h.handle(ctx, e); err != nil {
		h.fail(w, r, "webhook event failed", err)
		return
	}
	h.logger.LogAttrs(ctx, slog.LevelDebug, "webhook event handled", h.attrs(e)...)
	w.WriteHeader(http.StatusNoContent)
}

// handle runs the work for a claimed event and settles the claim: Complete
// on success, Release on failure or panic. The store calls get a context
// of their own, since a deadline that ended the work must not keep the
// claim from being released.
func (h *handler) handle(ctx context.Context, e Event) (err error) {
	ok := false
	defer func() {
		// Made after the work, so the work's time is not taken from it.
		settle, cancelSettle := context.WithTimeout(context.WithoutCancel(ctx), h.timeout)
		defer cancelSettle()
		if ok {
			if cerr := h.store.Complete(settle, e.ID); cerr != nil {
				h.logger.LogAttrs(ctx, slog.LevelWarn, "webhook store complete failed",
					slog.String("webhook_id", e.ID), slog.Any("err", cerr))
			}
			return
		}
		if rerr := h.store.Release(settle, e.ID); rerr != nil {
			h.logger.LogAttrs(ctx, slog.LevelError, "webhook store release failed",
				slog.String("webhook_id", e.ID), slog.Any("err", rerr))
		}
	}()

	work, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	if h.invalidator != nil && e.CustomerExternalID != "" {
		if err := h.invalidator.InvalidateBilling(work, e.CustomerExternalID); err != nil {
			return fmt.Errorf("webhook: invalidate billing for %s: %w", e.ID, err)
		}
	}
	if h.fn != nil {
		if err := h.fn(work, e); err != nil {
			return fmt.Errorf("webhook: handle %s: %w", e.ID, err)
		}
	}
	ok = true
	return nil
}

// fail logs err and answers a generic 500.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, msg string, err error) {
	h.logger.LogAttrs(r.Context(), slog.LevelError, msg, slog.Int("status", http.StatusInternalServerError), slog.Any("err", err))
	http.Error(w, "internal server error", http.StatusInternalServerError)
}

func (h *handler) attrs(e Event) []slog.Attr {
	return []slog.Attr{
		slog.String("webhook_id", e.ID),
		slog.String("event_type", string(e.Type)),
		slog.String("object", string(e.Object)),
		slog.String("object_id", e.ObjectID),
		slog.String("external_id", e.CustomerExternalID),
	}
}
