package middleware

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/google/uuid"
)

// meterTimeout bounds recording a usage event after the answer was written; the request's
// own context may be gone by then.
const meterTimeout = 30 * time.Second

// meter is what the wrapped handler says about the usage of its request on one usage
// meter.
type meter struct {
	slug  string
	outer *meter // the meter innermost before this one, restored when it ends

	mu     sync.Mutex
	amount int64
	set    bool // the handler said what to record (SetUsage or SetUsageFor)
	txID   string
}

// SetUsage sets the amount MeterUsage records for the request (tokens used, pages
// rendered); the default is 1, and an amount of 0 or less records nothing. It reports
// whether a MeterUsage wraps the request; with several (on different usage meters), the
// innermost one counts: use SetUsageFor to name the meter.
func SetUsage(ctx context.Context, amount int64) bool {
	return setMeter(ctx, "", func(m *meter) { m.amount, m.set = amount, true })
}

// SetUsageFor is SetUsage for the MeterUsage of the usage meter usageMeterSlug, for a
// request metered on several meters. It reports whether one wraps the request.
func SetUsageFor(ctx context.Context, usageMeterSlug string, amount int64) bool {
	return setMeter(ctx, usageMeterSlug, func(m *meter) { m.amount, m.set = amount, true })
}

// SetTransactionID sets the idempotency key of the request's usage event, derived from the
// work it stands for (a job id, a document version), so that doing the same work again
// records it once. The default is a fresh random id per request. It reports whether a
// MeterUsage wraps the request; with several, the innermost one counts: use
// SetTransactionIDFor to name the meter.
func SetTransactionID(ctx context.Context, id string) bool {
	return setMeter(ctx, "", func(m *meter) { m.txID = id })
}

// SetTransactionIDFor is SetTransactionID for the MeterUsage of the usage meter
// usageMeterSlug. It reports whether one wraps the request.
func SetTransactionIDFor(ctx context.Context, usageMeterSlug, id string) bool {
	return setMeter(ctx, usageMeterSlug, func(m *meter) { m.txID = id })
}

// setMeter changes the request's meter of slug ("" for the innermost) with set, under its
// lock, and reports whether the request has one.
func setMeter(ctx context.Context, slug string, set func(m *meter)) bool {
	st, ok := ctx.Value(stateKey{}).(*state)
	if !ok {
		return false
	}
	st.mu.Lock()
	m := st.meter
	if slug != "" {
		m = st.meters[slug]
	}
	st.mu.Unlock()
	if m == nil {
		return false
	}
	m.mu.Lock()
	set(m)
	m.mu.Unlock()
	return true
}

// startMeter returns the request's meter of slug, and whether it is new: the caller's to
// record and end. A slug already metered by an outer MeterUsage keeps its meter (one
// event per slug and request).
func (st *state) startMeter(slug string) (*meter, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if m := st.meters[slug]; m != nil {
		return m, false
	}
	if st.meters == nil {
		st.meters = map[string]*meter{}
	}
	m := &meter{slug: slug, amount: 1, outer: st.meter}
	st.meters[slug] = m
	st.meter = m
	return m, true
}

// endMeter removes m, which the handler can no longer set.
func (st *state) endMeter(m *meter) {
	st.mu.Lock()
	delete(st.meters, m.slug)
	st.meter = m.outer
	st.mu.Unlock()
}

// MeterFailure is a usage event MeterUsage could not record. Params carry the transaction
// id and the subscription that were used: record it again later with
// Service.CreateUsageEvent and Flowglad counts it once, whether or not an attempt had
// reached it.
type MeterFailure struct {
	Customer flowglad.Customer
	Params   flowglad.UsageEventParams
	Err      error
}

// OnMeterFailure calls fn for every usage event MeterUsage could not record after the
// client's retries (Config.RetryPolicy), so the host can persist and replay it. The answer
// to the client is not changed: it was already written.
func OnMeterFailure(fn func(ctx context.Context, f MeterFailure)) Option {
	return func(o *options) { o.onMeter = fn }
}

// MeterUsage records one usage event on the usage meter usageMeterSlug for each request
// the wrapped handler answers with a 2xx status (none for other statuses or a panic), after
// the handler returns and before net/http ends the response: a client that reads the whole
// answer then sees the new balance on its next billing read, and waits for the usage call
// to do so. (A handler that sets Content-Length or flushes lets the client finish reading
// earlier.) The amount defaults to 1 and the transaction id to a fresh random one, fixed
// before the first attempt so the client's retries cannot count twice; the handler changes
// them with SetUsage and SetTransactionID (SetUsageFor and SetTransactionIDFor name the
// meter). No header or other client input is ever used as the transaction id: a client
// replaying a key must not get unmetered work.
//
// The event is recorded on the first current subscription (newest first) that has the
// meter, the one RequireUsageBalance checks, or on the one WithSubscription picks; the
// subscription is read from the billing the request already read (a gate's), unless the
// request changed the customer through the Service meanwhile. (The route's
// usage-events/create, without a subscriptionId, records on billing's currentSubscription
// instead, as Flowglad's React SDK expects; a browser can name the subscription, the
// middleware picks it.)
//
// One event per usage meter and request: a MeterUsage inside another for the same meter
// (at group level and again on a route) passes the request through, and the outer one
// records what the handler set. A request may be metered on several meters.
//
// A handler that hijacks the connection (a WebSocket), or answers 101 Switching
// Protocols, is metered only when it said what to record (SetUsage or SetUsageFor): the
// outcome of what follows has no status. The writer the handler
// gets is an http.Hijacker when the server's is (HTTP/1), and an http.Flusher;
// http.NewResponseController reaches the rest.
//
// With WithRecorder the event is queued in a usage.Recorder instead (no Flowglad call on
// the request path; its subscription chosen from the billing a gate read, else when the
// recorder sends it), and a reservation RequireUsageBalance made on the same meter for
// the request is committed with the amount, or released when nothing is recorded.
//
// Without a session it answers 401 and the handler does not run; a cross-site browser
// request is refused with 403 cross_origin_forbidden (see AllowCrossOrigin). A failure to
// record is logged and passed to OnMeterFailure; the answer is not changed.
func MeterUsage(b Biller, usageMeterSlug string, opts ...Option) func(http.Handler) http.Handler {
	o := newOptions(b, opts)
	expect(b, slugRef{kind: kindUsageMeter, slug: usageMeterSlug})
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, st, ok := o.customer(w, r, b)
			if !ok {
				return
			}
			m, own := st.startMeter(usageMeterSlug)
			if !own {
				// An outer MeterUsage meters this slug: it records what the handler sets.
				next.ServeHTTP(w, r)
				return
			}
			// A reservation of the meter's gate that the event did not commit (no 2xx,
			// nothing to record, a failure, a panic) ends with the meter.
			defer st.releaseHolds(r.Context(), usageMeterSlug)
			rec := newRecorder(w)
			func() {
				defer st.endMeter(m)
				next.ServeHTTP(rec.writer(), r)
			}()

			m.mu.Lock()
			amount, txID, set := m.amount, m.txID, m.set
			m.mu.Unlock()
			if !rec.metered(set) || amount <= 0 {
				return
			}
			if txID == "" {
				txID = uuid.NewString()
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), meterTimeout)
			defer cancel()
			hold := st.hold(usageMeterSlug)
			sub := ""
			if o.recorder == nil && hold == nil {
				sub = o.usageSubscription(ctx, b, st.customer, usageMeterSlug)
			} else {
				sub = o.knownSubscription(ctx, b, st.customer, usageMeterSlug)
			}
			p := flowglad.UsageEventParams{UsageMeterSlug: usageMeterSlug, Amount: amount, TransactionID: txID,
				SubscriptionID: sub}
			if err := o.record(ctx, b, st.customer, hold, p); err != nil {
				o.log(b).LogAttrs(ctx, slog.LevelError, "flowglad: recording usage failed",
					slog.String("customer", st.customer.ExternalID), slog.String("usage_meter", usageMeterSlug),
					slog.String("transaction_id", txID), slog.String("error", st.redact(err)))
				reportUnknown(ctx, o.log(b), b.Service(), st.customer, slugRef{kind: kindUsageMeter, slug: usageMeterSlug})
				if o.onMeter != nil {
					o.onMeter(ctx, MeterFailure{Customer: st.customer, Params: p, Err: err})
				}
			}
		})
	}
}

// record records one usage event: the customer, the meter's slug, the amount, the
// transaction id and the chosen subscription are all in p. It commits the request's
// reservation on the meter (hold, nil without one) when there is one, queues the event in
// the recorder (WithRecorder) otherwise, and without either calls Flowglad.
func (o *options) record(ctx context.Context, b Biller, c flowglad.Customer, hold *usage.Reservation, p flowglad.UsageEventParams) error {
	var err error
	switch {
	case hold != nil:
		_, err = hold.Commit(ctx, p)
	case o.recorder != nil:
		_, err = o.recorder.Record(ctx, c, p)
	default:
		_, err = b.Service().CreateUsageEvent(ctx, c, p)
	}
	return err
}

// knownSubscription is usageSubscription for an event a recorder queues: it never calls
// Flowglad unless WithSubscription's pick needs billing no gate read. Without billing
// read by the request, "" leaves the choice to the recorder, when it sends the event.
func (o *options) knownSubscription(ctx context.Context, b Biller, c flowglad.Customer, slug string) string {
	if o.subscription != nil {
		return o.usageSubscription(ctx, b, c, slug)
	}
	current, ok := b.Service().KnownSubscriptions(ctx, c)
	if !ok {
		return ""
	}
	return subscriptionWithMeter(current, slug)
}

// usageSubscription picks the subscription an event on slug is recorded on, from the
// billing the request read: WithSubscription's pick, else the first current subscription
// with the meter. "" leaves it to the Service (billing's current subscription), also when
// billing cannot be read: recording then reports why.
func (o *options) usageSubscription(ctx context.Context, b Biller, c flowglad.Customer, slug string) string {
	if o.subscription != nil {
		bl, err := b.Service().Billing(ctx, c)
		if err != nil {
			return ""
		}
		return o.subscription(bl)
	}
	// The current subscriptions are enough: the whole view is not decoded.
	current, err := b.Service().CurrentSubscriptions(ctx, c)
	if err != nil {
		return ""
	}
	return subscriptionWithMeter(current, slug)
}

// subscriptionWithMeter is the id of the first current subscription that has the meter
// (Billing.UsageSubscription's rule), "" when none has it.
func subscriptionWithMeter(current []flowgladapi.Subscription, slug string) string {
	if sub := (&flowgladapi.Billing{CurrentSubscriptions: current}).UsageSubscription(slug); sub != nil {
		return sub.ID
	}
	return ""
}

// newRecorder wraps w to see the status the handler answers with.
func newRecorder(w http.ResponseWriter) *statusRecorder {
	return &statusRecorder{ResponseWriter: w, canHijack: canHijack(w)}
}

// canHijack reports whether w, or a writer it wraps (Unwrap), can hijack the connection:
// an HTTP/1 server's can, an HTTP/2 server's cannot.
func canHijack(w http.ResponseWriter) bool {
	for {
		switch v := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return false
		}
	}
}

// statusRecorder remembers the status the wrapped handler answered with, and whether it
// hijacked the connection.
type statusRecorder struct {
	http.ResponseWriter
	status    int
	canHijack bool
	hijacked  bool
}

// writer returns what the handler writes to: the recorder, with Hijack when the
// underlying writer can hijack (a handler type-asserting http.Hijacker must not find one
// that fails, nor miss one that works).
func (s *statusRecorder) writer() http.ResponseWriter {
	if s.canHijack {
		return hijackRecorder{s}
	}
	return s
}

// WriteHeader remembers the first final status: 1xx are informational, except 101
// Switching Protocols, which net/http sends as the final one.
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush sends what was written so far, for handlers that stream.
func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer (deadlines, full
// duplex).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// metered reports whether the request is to be metered: a 2xx answer (200 when the
// handler wrote nothing: net/http's answer then), or, for a hijacked connection or one
// that switched protocols (101), whose outcome has no status, a handler that said what to
// record (set).
func (s *statusRecorder) metered(set bool) bool {
	if s.hijacked || s.status == http.StatusSwitchingProtocols {
		return set
	}
	status := s.status
	if status == 0 {
		status = http.StatusOK
	}
	return status >= 200 && status <= 299
}

// hijackRecorder is the recorder of a writer that can hijack.
type hijackRecorder struct{ *statusRecorder }

// Hijack takes over the connection (http.Hijacker); the request is then metered only if
// the handler said what to record.
func (h hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil {
		h.hijacked = true
	}
	return conn, rw, err
}
