package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/redact"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
)

// Biller is what the middleware needs: the customer behind a request and the Service to
// bill them with. *flowglad.Handler satisfies it.
type Biller interface {
	// Authenticate returns the request's customer; an error wrapping
	// flowglad.ErrUnauthenticated means no session (401).
	Authenticate(r *http.Request) (flowglad.Customer, error)
	// Service returns the Service billing is read and recorded through.
	Service() *flowglad.Service
}

// An Option configures a middleware.
type Option func(*options)

type options struct {
	onError   func(w http.ResponseWriter, r *http.Request, err error)
	failOpen  bool
	logger    *slog.Logger
	onMeter   func(ctx context.Context, f MeterFailure)
	retryWait time.Duration
}

func newOptions(opts []Option) *options {
	o := &options{onError: flowglad.WriteError, retryWait: 5 * time.Second}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithErrorHandler replaces how a refusal is answered: fn receives the request and the
// error, a *flowglad.Error whose Status and Code say why (401 unauthenticated, 403
// feature_required, 402 usage_balance_exhausted, 503 billing_unavailable, 500 for a broken
// authenticator). The default is flowglad.WriteError: the route's JSON envelope. A
// Retry-After header is already set on a 503, and the error's RetryAfter holds the wait.
func WithErrorHandler(fn func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(o *options) {
		if fn != nil {
			o.onError = fn
		}
	}
}

// FailOpen serves the request without the check when billing cannot be read (Flowglad
// down, a timeout), logging a warning, instead of answering 503. Use it where a Flowglad
// outage must not take the endpoint down; a missing session is still a 401.
func FailOpen() Option {
	return func(o *options) { o.failOpen = true }
}

// WithLogger sets the logger of failures the middleware recovers from (an unreadable
// billing with FailOpen, a usage event that could not be recorded). The default is the
// Service's (Config.Logger). Lines carry the customer's external id, never its email or
// name.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithRetryAfter sets the Retry-After of a 503 when billing cannot be read; default 5
// seconds.
func WithRetryAfter(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.retryWait = d
		}
	}
}

// stateKey is the context key of the request's state.
type stateKey struct{}

// state is what the middleware of one request resolved, shared among them and with the
// wrapped handler.
type state struct {
	customer flowglad.Customer
	biller   Biller
	// current are the customer's current subscriptions, what the gates check; nil until
	// read, or when reading failed.
	current []flowgladapi.Subscription
	// readErr is why billing could not be read: the request's other gates do not read
	// again, and each applies its own policy to it (FailOpen or a 503).
	readErr error
	meter   *meter // the innermost MeterUsage's, nil without one
}

// CustomerFrom returns the customer the middleware resolved for the request, so the
// handler does not authenticate again.
func CustomerFrom(ctx context.Context) (flowglad.Customer, bool) {
	st, ok := ctx.Value(stateKey{}).(*state)
	if !ok {
		return flowglad.Customer{}, false
	}
	return st.customer, true
}

// BillingFrom returns the customer's billing from the read RequireFeature or
// RequireUsageBalance made for the request, so the handler need not read it again: no
// Flowglad call, unless the handler changed the customer through the Service meanwhile
// (then it is read afresh). The gates decode only the current subscriptions; the whole
// view is decoded here, once per billing read. false when no gate read billing, or when
// reading it fails. It is shared: do not modify it.
func BillingFrom(ctx context.Context) (*flowgladapi.Billing, bool) {
	st, ok := ctx.Value(stateKey{}).(*state)
	if !ok || st.current == nil {
		return nil, false
	}
	b, err := st.biller.Service().Billing(ctx, st.customer)
	return b, err == nil
}

// customer returns the request's state with its customer, authenticating unless an outer
// middleware already did. false means the refusal was written.
func (o *options) customer(w http.ResponseWriter, r *http.Request, b Biller) (*http.Request, *state, bool) {
	if st, ok := r.Context().Value(stateKey{}).(*state); ok {
		return r, st, true
	}
	c, err := b.Authenticate(r)
	if err != nil {
		o.onError(w, r, err)
		return r, nil, false
	}
	st := &state{customer: c, biller: b}
	// The gates, the handler and the meter of this request then read billing once.
	ctx := reqmemo.With(context.WithValue(r.Context(), stateKey{}, st))
	return r.WithContext(ctx), st, true
}

// billing returns the request's state with the customer's current subscriptions, reading
// billing unless an outer middleware already did (or failed to: a failure is not read
// twice, and each gate applies its own policy to it). A nil st.current with true means:
// unreadable, serve anyway (FailOpen). false means the refusal was written.
func (o *options) billing(w http.ResponseWriter, r *http.Request, b Biller) (*http.Request, *state, bool) {
	r, st, ok := o.customer(w, r, b)
	if !ok || st.current != nil {
		return r, st, ok
	}
	err := st.readErr
	if err == nil {
		current, readErr := b.Service().CurrentSubscriptions(r.Context(), st.customer)
		if readErr == nil {
			st.current = current
			return r, st, true
		}
		err = readErr
	}
	var fe *flowglad.Error
	if errors.As(err, &fe) {
		// The Service refused the customer itself (no email to create it with, say): a
		// server bug, answered as the route would.
		o.onError(w, r, err)
		return r, st, false
	}
	st.readErr = err
	if o.failOpen {
		o.log(b).LogAttrs(r.Context(), slog.LevelWarn, "flowglad: billing unavailable; serving without the check (FailOpen)",
			slog.String("customer", st.customer.ExternalID), slog.String("error", st.redact(err)))
		return r, st, true
	}
	o.log(b).LogAttrs(r.Context(), slog.LevelError, "flowglad: billing unavailable; refusing the request",
		slog.String("customer", st.customer.ExternalID), slog.String("error", st.redact(err)))
	wait := o.retryWait
	var api *flowgladapi.Error
	if errors.As(err, &api) && api.RetryAfter > 0 {
		wait = api.RetryAfter
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	o.onError(w, r, &flowglad.Error{
		Status:     http.StatusServiceUnavailable,
		Code:       flowglad.CodeBillingUnavailable,
		Message:    "billing is unavailable; try again shortly",
		Err:        err,
		RetryAfter: wait,
	})
	return r, st, false
}

// gate is the middleware of a check on billing: it serves the request unless refuse,
// given the customer's billing, returns the error to answer with. Billing that could not
// be read but is served anyway (FailOpen) is not checked.
func gate(b Biller, opts []Option, refuse func(*flowgladapi.Billing) *flowglad.Error) func(http.Handler) http.Handler {
	o := newOptions(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, st, ok := o.billing(w, r, b)
			if !ok {
				return
			}
			if st.current != nil {
				// The checks read the first current subscription, as Billing's helpers do.
				if err := refuse(&flowgladapi.Billing{CurrentSubscriptions: st.current}); err != nil {
					o.onError(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// log returns the logger: WithLogger's, else the Service's.
func (o *options) log(b Biller) *slog.Logger {
	if o.logger != nil {
		return o.logger
	}
	return b.Service().Logger()
}

// redact returns err's text without the customer's email or name, which Flowglad's messages
// may quote.
func (st *state) redact(err error) string {
	return redact.Customer(err.Error(), st.customer.Email, st.customer.Name)
}
