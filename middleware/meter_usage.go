package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/google/uuid"
)

// meterTimeout bounds recording a usage event after the answer was written; the request's
// own context may be gone by then.
const meterTimeout = 30 * time.Second

// meter is what the wrapped handler says about the usage of its request.
type meter struct {
	mu     sync.Mutex
	amount int64
	txID   string
}

// SetUsage sets the amount MeterUsage records for the request (tokens used, pages
// rendered); the default is 1, and an amount of 0 or less records nothing. It reports
// whether a MeterUsage wraps the request; with several, the innermost one counts.
func SetUsage(ctx context.Context, amount int64) bool {
	return setMeter(ctx, func(m *meter) { m.amount = amount })
}

// SetTransactionID sets the idempotency key of the request's usage event, derived from the
// work it stands for (a job id, a document version), so that doing the same work again
// records it once. The default is a fresh random id per request. It reports whether a
// MeterUsage wraps the request.
func SetTransactionID(ctx context.Context, id string) bool {
	return setMeter(ctx, func(m *meter) { m.txID = id })
}

// setMeter changes the request's meter with set, under its lock, and reports whether the
// request has one.
func setMeter(ctx context.Context, set func(m *meter)) bool {
	m := meterFrom(ctx)
	if m == nil {
		return false
	}
	m.mu.Lock()
	set(m)
	m.mu.Unlock()
	return true
}

func meterFrom(ctx context.Context) *meter {
	if st, ok := ctx.Value(stateKey{}).(*state); ok {
		return st.meter
	}
	return nil
}

// MeterFailure is a usage event MeterUsage could not record. Params carry the transaction
// id that was used: record it again later with Service.CreateUsageEvent and Flowglad
// counts it once, whether or not an attempt had reached it.
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
// earlier.) Recording checks the subscription against the billing the request already read
// (a gate's), unless the request changed the customer through the Service meanwhile, then
// posts the event. The amount defaults to 1 and the transaction id to a fresh random
// one, fixed before the first attempt so the client's retries cannot count twice; the
// handler changes them with SetUsage and SetTransactionID. No header or other client input
// is ever used as the transaction id: a client replaying a key must not get unmetered
// work. Without a session it answers 401 and the handler does not run.
//
// A failure to record is logged and passed to OnMeterFailure; the answer is not changed.
func MeterUsage(b Biller, usageMeterSlug string, opts ...Option) func(http.Handler) http.Handler {
	o := newOptions(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, st, ok := o.customer(w, r, b)
			if !ok {
				return
			}
			m := &meter{amount: 1}
			outer := st.meter
			st.meter = m
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			st.meter = outer

			m.mu.Lock()
			amount, txID := m.amount, m.txID
			m.mu.Unlock()
			if status := rec.statusCode(); status < 200 || status > 299 || amount <= 0 {
				return
			}
			if txID == "" {
				txID = uuid.NewString()
			}
			p := flowglad.UsageEventParams{UsageMeterSlug: usageMeterSlug, Amount: amount, TransactionID: txID}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), meterTimeout)
			defer cancel()
			if _, err := b.Service().CreateUsageEvent(ctx, st.customer, p); err != nil {
				o.log(b).LogAttrs(ctx, slog.LevelError, "flowglad: recording usage failed",
					slog.String("customer", st.customer.ExternalID), slog.String("usage_meter", usageMeterSlug),
					slog.String("transaction_id", txID), slog.String("error", st.redact(err)))
				if o.onMeter != nil {
					o.onMeter(ctx, MeterFailure{Customer: st.customer, Params: p, Err: err})
				}
			}
		})
	}
}

// statusRecorder remembers the status the wrapped handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
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

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// statusCode is the status sent, or 200 when the handler wrote nothing (net/http's
// answer then).
func (s *statusRecorder) statusCode() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
