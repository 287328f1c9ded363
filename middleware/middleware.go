package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/redact"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/flowglad-go/flowglad/usage"
)

// Biller is what the middleware needs: the customer behind a request and the Service to
// bill them with. *flowglad.Handler satisfies it, and [OriginChecker] too.
type Biller interface {
	// Authenticate returns the request's customer; an error wrapping
	// flowglad.ErrUnauthenticated means no session (401).
	Authenticate(r *http.Request) (flowglad.Customer, error)
	// Service returns the Service billing is read and recorded through.
	Service() *flowglad.Service
}

// OriginChecker is implemented by a Biller that refuses cross-origin browser requests
// itself, as *flowglad.Handler does with Handler.CheckOrigin (Config.TrustedOrigins
// included). The middleware calls CheckOrigin before authenticating a request, and
// answers a non-nil error with the error handler (a *flowglad.Error answers with its own
// status and code: the route's 403 cross_origin_forbidden). A Biller without it gets
// http.CrossOriginProtection's check with no trusted origin.
type OriginChecker interface {
	CheckOrigin(r *http.Request) error
}

// An Option configures a middleware.
type Option func(*options)

type options struct {
	onError  func(w http.ResponseWriter, r *http.Request, err error)
	failOpen bool
	logger   *slog.Logger
	onMeter  func(ctx context.Context, f MeterFailure)
	// retryWait is WithRetryAfter's wait; 0 or less: Flowglad's hint, else
	// defaultRetryWait.
	retryWait time.Duration
	// subscription picks the subscription the checks read and the event is recorded on;
	// nil, or "" from it: the default rule (see WithSubscription).
	subscription func(*flowgladapi.Billing) string
	// allowCrossOrigin turns the cross-origin check off.
	allowCrossOrigin bool
	// checkOrigin is the Biller's CheckOrigin, else a CrossOriginProtection's.
	checkOrigin func(r *http.Request) error
	// recorder is WithRecorder's: MeterUsage records through it, RequireUsageBalance
	// reserves through it.
	recorder *usage.Recorder
}

// defaultRetryWait is the Retry-After of a 503 when neither WithRetryAfter nor Flowglad
// says how long to wait.
const defaultRetryWait = 5 * time.Second

func newOptions(b Biller, opts []Option) *options {
	o := &options{onError: flowglad.WriteError}
	for _, opt := range opts {
		opt(o)
	}
	if oc, ok := b.(OriginChecker); ok {
		o.checkOrigin = oc.CheckOrigin
	} else {
		cop := http.NewCrossOriginProtection()
		o.checkOrigin = func(r *http.Request) error {
			if err := cop.Check(r); err != nil {
				return &flowglad.Error{Status: http.StatusForbidden, Code: codeCrossOrigin,
					Message: "cross-origin requests are not allowed from this origin", Err: err}
			}
			return nil
		}
	}
	return o
}

// codeCrossOrigin is the route's code for a refused cross-origin request.
const codeCrossOrigin = flowglad.CodeCrossOriginForbidden

// WithErrorHandler replaces how a refusal is answered: fn receives the request and the
// error, a *flowglad.Error whose Status and Code say why (401 unauthenticated, 403
// cross_origin_forbidden, 403 feature_required, 402 usage_balance_exhausted, 503
// billing_unavailable, 502 flowglad_auth_failed for an API key Flowglad refuses, 500 for
// a broken authenticator). The default is flowglad.WriteError: the route's JSON envelope.
// A Retry-After header is already set on a 503, and the error's RetryAfter holds the
// wait.
func WithErrorHandler(fn func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(o *options) {
		if fn != nil {
			o.onError = fn
		}
	}
}

// FailOpen serves the request without the check when billing cannot be read (Flowglad
// down, a timeout, the API key refused), logging it, instead of refusing. Use it where a
// Flowglad outage must not take the endpoint down; a missing session is still a 401, and
// a cross-origin request still a 403.
func FailOpen() Option {
	return func(o *options) { o.failOpen = true }
}

// WithLogger sets the logger of failures the middleware recovers from (an unreadable
// billing with FailOpen, a usage event that could not be recorded) and of those it
// answers with a 5xx (with the answer's request id: the answer's message is generic). The default is the
// Service's (Config.Logger). Lines carry the customer's external id, never its email or
// name.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithRetryAfter sets the Retry-After of a 503 when billing cannot be read. It wins over
// Flowglad's own Retry-After hint; without it, the hint is used, else 5 seconds. The
// header is in whole seconds, rounded up.
func WithRetryAfter(d time.Duration) Option {
	// A wait of 0 or less is no wait: Flowglad's hint, else the default (see unreadable).
	return func(o *options) { o.retryWait = d }
}

// WithSubscription picks the subscription a gate checks and MeterUsage records on, for a
// customer with several current subscriptions: pick returns the id of one of
// billing.CurrentSubscriptions, or "" for the default rule. The default: RequireFeature
// passes when any current subscription grants the feature (as the route's features/access
// lists them); RequireUsageBalance checks, and MeterUsage records on, the first current
// subscription (newest first) that has the usage meter (Billing.UsageSubscription). An id
// that is not a current subscription grants nothing (403, 402), and MeterUsage's event
// for it fails (403 from the Service, handed to OnMeterFailure). pick reads the whole
// billing, decoded once per request from the read the gates share: no extra Flowglad
// call. It must not modify billing.
func WithSubscription(pick func(billing *flowgladapi.Billing) string) Option {
	return func(o *options) { o.subscription = pick }
}

// AllowCrossOrigin turns off the cross-origin check. By default a gate or a meter refuses
// a cross-site browser request (403 cross_origin_forbidden, before authenticating it) as
// the route does, because Config.Auth usually reads a session cookie the browser attaches
// to another site's request too. Turn it off only for endpoints authenticated by a token
// the browser does not attach by itself (an Authorization header), such as an API for
// other servers or mobile apps.
func AllowCrossOrigin() Option {
	return func(o *options) { o.allowCrossOrigin = true }
}

// WithRecorder makes MeterUsage record through rec (usage.Recorder.Record) instead of
// calling Flowglad: the client's answer no longer waits for a usage call, and behind a gate
// the request makes no usage call at all (the event's subscription is chosen from the
// billing the gate read; the recorder sends events in batches later). A failure to queue
// the event (usage.ErrQueueFull, a closed recorder) is logged and passed to OnMeterFailure,
// as a failed call is without it.
//
// It makes RequireUsageBalance reserve min on the meter for the request (usage.Recorder.
// Reserve): concurrent requests on a balance B pass at most floor(B/min) times (across
// instances when the recorder's queue and ledger are shared, as usage/redisqueue's are).
// The MeterUsage of the same usage meter on the request commits the reservation with the
// real amount (SetUsage), through the gate's recorder even when that MeterUsage has none;
// a request that ends without a 2xx, or records nothing, releases it when the gate's
// handler returns (when the meter's, if the meter wraps the gate). A reservation lapses
// after the recorder's reservation TTL (usage.WithReservationTTL): so do those of an
// instance that crashed, and that of a request running longer (make the TTL longer than
// your slowest metered request). Give the same recorder to the gate and the meter.
func WithRecorder(rec *usage.Recorder) Option {
	return func(o *options) { o.recorder = rec }
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
	// originChecked: a middleware of this request has checked the request's origin.
	originChecked bool

	// mu guards the meters, which the handler may set from other goroutines.
	mu sync.Mutex
	// meters are the request's meters by usage meter slug: one per slug, the outermost
	// MeterUsage's.
	meters map[string]*meter
	// meter is the innermost meter, what SetUsage sets; nil without one.
	meter *meter
	// holds are the reservations RequireUsageBalance made for the request, by usage meter
	// slug: the outermost gate's first, for the meter of the slug to commit, then what
	// stricter gates inside it reserved beyond it.
	holds map[string][]*usage.Reservation
}

// hold returns the request's reservation on slug that the meter commits, nil without one.
func (st *state) hold(slug string) *usage.Reservation {
	st.mu.Lock()
	defer st.mu.Unlock()
	if h := st.holds[slug]; len(h) > 0 {
		return h[0]
	}
	return nil
}

// held returns the amount the request holds on slug, all its reservations together.
func (st *state) held(slug string) int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	var n int64
	for _, res := range st.holds[slug] {
		n += res.Amount()
	}
	return n
}

// addHold adds res to the request's reservations on slug.
func (st *state) addHold(slug string, res *usage.Reservation) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.holds == nil {
		st.holds = map[string][]*usage.Reservation{}
	}
	st.holds[slug] = append(st.holds[slug], res)
}

// releaseHolds removes the request's reservations on slug and releases them (one already
// committed is not released again).
func (st *state) releaseHolds(ctx context.Context, slug string) {
	st.mu.Lock()
	holds := st.holds[slug]
	delete(st.holds, slug)
	st.mu.Unlock()
	for _, res := range holds {
		res.Release(ctx)
	}
}

// metering reports whether a MeterUsage of slug is running for the request.
func (st *state) metering(slug string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.meters[slug] != nil
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
// middleware already did. A cross-origin request is refused first (unless
// AllowCrossOrigin), once per request. false means the refusal was written.
func (o *options) customer(w http.ResponseWriter, r *http.Request, b Biller) (*http.Request, *state, bool) {
	st, ok := r.Context().Value(stateKey{}).(*state)
	if !o.allowCrossOrigin && (!ok || !st.originChecked) {
		if err := o.checkOrigin(r); err != nil {
			o.onError(w, r, err)
			return r, st, false
		}
		if ok {
			st.originChecked = true
		}
	}
	if ok {
		return r, st, true
	}
	c, err := b.Authenticate(r)
	if err != nil {
		o.fail(w, r, b, flowglad.Customer{}, err)
		return r, nil, false
	}
	st = &state{customer: c, biller: b, originChecked: !o.allowCrossOrigin}
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
		o.fail(w, r, b, st.customer, err)
		return r, st, false
	}
	st.readErr = err
	return r, st, o.unreadable(w, r, b, st, err)
}

// fail answers err with the error handler. A 5xx among them (an authenticator that
// failed, a customer the Service cannot use) is the server's fault: its answer carries a
// generic message and the request id, so the detail (what to fix) is logged at Error with
// that request id, as the route logs it. c is the request's customer, if known.
func (o *options) fail(w http.ResponseWriter, r *http.Request, b Biller, c flowglad.Customer, err error) {
	o.onError(w, r, err)
	var fe *flowglad.Error
	if !errors.As(err, &fe) || fe.Status < 500 {
		return
	}
	st := state{customer: c}
	o.log(b).LogAttrs(r.Context(), slog.LevelError, "flowglad: refusing the request",
		slog.Int("status", fe.Status), slog.String("code", fe.Code),
		slog.String("request_id", w.Header().Get("X-Request-Id")),
		slog.String("customer", c.ExternalID), slog.String("error", st.redact(err)))
}

// msgAuthFailed is the route's message for an API key Flowglad refuses.
const msgAuthFailed = "billing is unavailable: the server's Flowglad credentials were refused"

// unreadable applies the gate's policy to billing that could not be read, and reports
// whether to serve anyway (FailOpen). An API key Flowglad refuses and never accepted is
// a misconfiguration: answered as the route answers it (502 flowglad_auth_failed, no
// Retry-After: retrying will not help). Anything else (an outage, a timeout, rate
// limiting) is a 503 billing_unavailable with a Retry-After.
func (o *options) unreadable(w http.ResponseWriter, r *http.Request, b Biller, st *state, err error) bool {
	keyRefused := isKeyRefused(err)
	msg := "flowglad: billing unavailable"
	switch {
	case keyRefused:
		msg = "flowglad: Flowglad refused the API key: it is wrong or lacks access; check FLOWGLAD_SECRET_KEY (Config.APIKey)"
	case errors.Is(err, flowgladapi.ErrRateLimited):
		msg = "flowglad: Flowglad is rate limiting this API key (a 429, or a 401 to a key that has worked); if it lasts, the key may have been revoked"
	}
	attrs := []slog.Attr{slog.String("customer", st.customer.ExternalID), slog.String("error", st.redact(err))}
	if o.failOpen {
		level := slog.LevelWarn
		if keyRefused {
			level = slog.LevelError // every request will fail until the key is fixed
		}
		o.log(b).LogAttrs(r.Context(), level, msg+"; serving without the check (FailOpen)", attrs...)
		return true
	}
	// The answer's message is generic; the line saying why carries its request id (set
	// by the error handler: logged after it).
	defer func() {
		attrs = append(attrs, slog.String("request_id", w.Header().Get("X-Request-Id")))
		o.log(b).LogAttrs(r.Context(), slog.LevelError, msg+"; refusing the request", attrs...)
	}()
	if keyRefused {
		o.onError(w, r, &flowglad.Error{Status: http.StatusBadGateway, Code: flowglad.CodeFlowgladAuthFailed,
			Message: msgAuthFailed, Err: err})
		return false
	}
	wait := o.retryWait
	var api *flowgladapi.Error
	if wait <= 0 && errors.As(err, &api) {
		wait = api.RetryAfter // 0 without a hint
	}
	if wait <= 0 {
		wait = defaultRetryWait
	}
	w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	o.onError(w, r, &flowglad.Error{
		Status:     http.StatusServiceUnavailable,
		Code:       flowglad.CodeBillingUnavailable,
		Message:    "billing is unavailable; try again shortly",
		Err:        err,
		RetryAfter: wait,
	})
	return false
}

// isKeyRefused reports whether Flowglad refused the API key (401 or 403) and it is not
// rate limiting: the key never worked in this process.
func isKeyRefused(err error) bool {
	var api *flowgladapi.Error
	if !errors.As(err, &api) || api.RateLimited() {
		return false
	}
	return api.StatusCode == http.StatusUnauthorized || api.StatusCode == http.StatusForbidden
}

// gate is the middleware of a check on billing: it serves the request unless refuse,
// given the customer's billing and the subscription WithSubscription picked ("" for the
// default rule), returns the error to answer with. Billing that could not be read but is
// served anyway (FailOpen) is not checked. A refusal may come from a slug the pricing
// model does not have: that is logged once (see reportUnknown).
func gate(b Biller, opts []Option, slug slugRef, refuse func(bl *flowgladapi.Billing, subID string) *flowglad.Error) func(http.Handler) http.Handler {
	return gateWith(b, newOptions(b, opts), slug, func(_ context.Context, _ *state, bl *flowgladapi.Billing, subID string) *flowglad.Error {
		return refuse(bl, subID)
	}, nil)
}

// reserveFunc is a gate's step after its check passed on billing that was read: it holds
// what the request may use, and returns the function that ends the hold once the handler
// has returned (nil: nothing to end). false means the refusal was written.
type reserveFunc func(w http.ResponseWriter, r *http.Request, st *state, subID string) (end func(), ok bool)

// gateWith is gate with the request's state given to refuse, and reserve run once the
// check passed (nil: none).
func gateWith(b Biller, o *options, slug slugRef, refuse func(ctx context.Context, st *state, bl *flowgladapi.Billing, subID string) *flowglad.Error, reserve reserveFunc) func(http.Handler) http.Handler {
	expect(b, slug)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, st, ok := o.billing(w, r, b)
			if !ok {
				return
			}
			if st.current != nil {
				bl := &flowgladapi.Billing{CurrentSubscriptions: st.current}
				subID := ""
				if o.subscription != nil {
					full, err := b.Service().Billing(r.Context(), st.customer)
					if err != nil {
						if !o.unreadable(w, r, b, st, err) {
							return
						}
						next.ServeHTTP(w, r)
						return
					}
					bl, subID = full, o.subscription(full)
				}
				if err := refuse(r.Context(), st, bl, subID); err != nil {
					reportUnknown(r.Context(), o.log(b), b.Service(), st.customer, slug)
					o.onError(w, r, err)
					return
				}
				if reserve != nil {
					end, ok := reserve(w, r, st, subID)
					if !ok {
						return
					}
					if end != nil {
						// Deferred: a handler that panics must not keep the hold until it lapses.
						defer end()
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// expect registers the slug a middleware is built with on the Service, so that its Check
// verifies the pricing model has it (at startup, rather than a 402 or 403 to everyone).
func expect(b Biller, ref slugRef) {
	svc := b.Service()
	if svc == nil {
		return
	}
	if ref.kind == kindFeature {
		svc.ExpectFeature(ref.slug)
		return
	}
	svc.ExpectUsageMeter(ref.slug)
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
