package middleware_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const apiCalls = flowgladapitest.DemoUsageMeterAPICalls

// newRecorder starts a recorder on the env's Service that sends only when the test flushes
// (or a batch fills), retries at once, and is closed at the end of the test.
func (e *env) newRecorder(opts ...usage.Option) *usage.Recorder {
	e.t.Helper()
	return startRecorder(e.t, e.h.Service(), opts...)
}

func startRecorder(t *testing.T, svc *flowglad.Service, opts ...usage.Option) *usage.Recorder {
	t.Helper()
	rec, err := usage.NewRecorder(svc, append([]usage.Option{
		usage.WithFlushInterval(time.Hour),
		usage.WithBackoff(func(int) time.Duration { return 0 }),
	}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = rec.Close(ctx)
	})
	return rec
}

// bounded is a context that bounds a test's wait.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// spendTo records usage for the customer at Flowglad, synchronously, until its balance on
// api-calls on sub is left.
func (e *env) spendTo(externalID, sub string, left float64) {
	e.t.Helper()
	bal, ok := e.fake.UsageBalance(sub, apiCalls)
	require.True(e.t, ok)
	if bal > left {
		_, err := e.h.Service().CreateUsageEvent(bounded(e.t), flowglad.Customer{ExternalID: externalID},
			flowglad.UsageEventParams{UsageMeterSlug: apiCalls, Amount: int64(bal - left)})
		require.NoError(e.t, err)
	}
	bal, _ = e.fake.UsageBalance(sub, apiCalls)
	require.Equal(e.t, left, bal)
	e.fake.ResetRequests()
}

// TestMeterUsageWithRecorder: with a recorder, MeterUsage makes no usage call on the
// request path: behind a gate the request's only Flowglad call is the gate's billing read,
// without a gate there is none. The event, sent at the next flush, carries the caller's
// transaction id (as Flowglad stores it) and the subscription chosen from the gate's read.
func TestMeterUsageWithRecorder(t *testing.T) {
	tests := []struct {
		name    string
		gate    func(e *env, rec *usage.Recorder) func(http.Handler) http.Handler
		billing int    // billing reads on the request path
		sub     string // the subscription the queued event carries; "" chosen at send time
	}{
		{name: "no gate", billing: 0},
		{
			name: "behind RequireFeature",
			gate: func(e *env, _ *usage.Recorder) func(http.Handler) http.Handler {
				return middleware.RequireFeature(e.h, flowgladapitest.DemoFeaturePremium)
			},
			billing: 1, sub: flowgladapitest.DemoAliceSubscriptionID,
		},
		{
			name: "behind RequireUsageBalance, reserving",
			gate: func(e *env, rec *usage.Recorder) func(http.Handler) http.Handler {
				return middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))
			},
			billing: 1, sub: flowgladapitest.DemoAliceSubscriptionID,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.newRecorder()
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				middleware.SetUsage(r.Context(), 3)
				middleware.SetTransactionID(r.Context(), "job-7")
				_, _ = io.WriteString(w, "done")
			})
			h = middleware.MeterUsage(e.h, apiCalls, middleware.WithRecorder(rec))(h)
			if tc.gate != nil {
				h = tc.gate(e, rec)(h)
			}
			w := e.serve(h, "alice")
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			calls := e.calls()
			assert.Equal(t, tc.billing, countCalls(calls, "GET /api/v1/customers/"+flowgladapitest.DemoCustomerAlice+"/billing"), calls)
			assert.Len(t, calls, tc.billing, "no call but the gate's billing read: %v", calls)
			assert.Equal(t, 1, rec.Stats().Queued)

			require.NoError(t, rec.Flush(bounded(t)))
			evs := e.events(flowgladapitest.DemoCustomerAlice)
			require.Len(t, evs, 1)
			assert.Equal(t, flowglad.ServerTransactionID(flowgladapitest.DemoCustomerAlice, "job-7"), evs[0].TransactionID)
			assert.Equal(t, int64(3), evs[0].Amount)
			assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, evs[0].SubscriptionID)
			if tc.sub != "" {
				// Chosen on the request path, from the gate's read: sending read no billing.
				assert.Zero(t, countCalls(e.calls(), "GET /api/v1/customers/"+flowgladapitest.DemoCustomerAlice+"/billing"))
			}
		})
	}
}

// TestMeterUsageWithRecorderFailure: an event the recorder does not take (its queue full,
// the recorder closed) is logged and handed to OnMeterFailure with its transaction id and
// subscription; replayed through Service.CreateUsageEvent it lands on the id the recorder
// would have stored, so a replay after all counts once.
func TestMeterUsageWithRecorderFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) *usage.Recorder
		want  error
	}{
		{
			name: "queue full",
			setup: func(t *testing.T, e *env) *usage.Recorder {
				rec := e.newRecorder(usage.WithQueue(usage.NewMemoryQueue(1)))
				_, err := rec.Record(bounded(t), users["bob"], flowglad.UsageEventParams{UsageMeterSlug: apiCalls})
				require.NoError(t, err)
				return rec
			},
			want: usage.ErrQueueFull,
		},
		{
			name: "recorder closed",
			setup: func(t *testing.T, e *env) *usage.Recorder {
				rec := e.newRecorder()
				require.NoError(t, rec.Close(bounded(t)))
				return rec
			},
			want: usage.ErrClosed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := tc.setup(t, e)
			var (
				mu       sync.Mutex
				failures []middleware.MeterFailure
			)
			onFail := middleware.OnMeterFailure(func(_ context.Context, f middleware.MeterFailure) {
				mu.Lock()
				defer mu.Unlock()
				failures = append(failures, f)
			})
			h := middleware.RequireFeature(e.h, flowgladapitest.DemoFeaturePremium)(
				middleware.MeterUsage(e.h, apiCalls, middleware.WithRecorder(rec), onFail)(&ok{}))
			w := e.serve(h, "alice")
			assert.Equal(t, http.StatusOK, w.Code, "the answer is the handler's")

			mu.Lock()
			defer mu.Unlock()
			require.Len(t, failures, 1)
			f := failures[0]
			assert.ErrorIs(t, f.Err, tc.want)
			assert.NotEmpty(t, f.Params.TransactionID)
			assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, f.Params.SubscriptionID)
			assert.Contains(t, e.logs.String(), "recording usage failed")
			assert.Contains(t, e.logs.String(), f.Params.TransactionID)

			ev, err := e.h.Service().CreateUsageEvent(bounded(t), f.Customer, f.Params)
			require.NoError(t, err)
			assert.Equal(t, flowglad.ServerTransactionID(flowgladapitest.DemoCustomerAlice, f.Params.TransactionID), ev.TransactionID)
			_, err = e.h.Service().CreateUsageEvent(bounded(t), f.Customer, f.Params)
			require.NoError(t, err)
			assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1, "replayed twice, counted once")
		})
	}
}

// serveConcurrently sends n requests at once through the handlers (round robin) as user
// and returns how many answered each status.
func serveConcurrently(t *testing.T, n int, user string, hs ...http.Handler) map[int]int {
	t.Helper()
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		wg    sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		h := hs[i%len(hs)]
		wg.Go(func() {
			<-start
			w := (&env{t: t}).serve(h, user)
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// TestRequireUsageBalanceReserves: 24 concurrent requests on a balance of 1 through
// RequireUsageBalance + MeterUsage with a recorder: exactly one passes (without
// reservations all 24 pass and the balance ends at -23), and after a flush the balance at
// Flowglad is 0, from exactly one event.
func TestRequireUsageBalanceReserves(t *testing.T) {
	e := newEnv(t)
	e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 1)
	before := len(e.events(flowgladapitest.DemoCustomerBob))
	rec := e.newRecorder()
	work := &ok{}
	h := middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
		middleware.MeterUsage(e.h, apiCalls, middleware.WithRecorder(rec))(work))

	codes := serveConcurrently(t, 24, "bob", h)
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusPaymentRequired: 23}, codes)
	assert.Equal(t, 1, work.calls)
	assert.Zero(t, countCalls(e.calls(), "POST /api/v1/usage-events"), "no usage call on the request path")

	require.NoError(t, rec.Flush(bounded(t)))
	bal, _ := e.fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, apiCalls)
	assert.Equal(t, 0.0, bal)
	assert.Len(t, e.events(flowgladapitest.DemoCustomerBob), before+1)

	// Once recorded, the next request is refused with the balance's details.
	w := e.serve(h, "bob")
	require.Equal(t, http.StatusPaymentRequired, w.Code)
	code, j := errorEnvelope(t, w)
	assert.Equal(t, flowglad.CodeUsageBalanceExhausted, code)
	assert.Equal(t, 0.0, j["available"])
	assert.Equal(t, 1.0, j["required"])
}

// TestRequireUsageBalanceReleases: a reservation the request does not use ends with it, in
// every arrangement of the gate and the meter; one it uses is committed, so the request
// after is refused. Bob's balance is 1.
func TestRequireUsageBalanceReleases(t *testing.T) {
	// answer is a handler's step: its status, and the amount it sets (-1: none).
	type answer struct {
		status int
		amount int64
	}
	tests := []struct {
		name    string
		chain   func(e *env, rec *usage.Recorder, h http.Handler) http.Handler
		answers []answer
		want    []int
		events  int
	}{
		{
			name:    "a non-2xx answer releases the hold",
			chain:   gateThenMeter,
			answers: []answer{{http.StatusServiceUnavailable, -1}, {http.StatusBadRequest, -1}, {http.StatusOK, -1}, {http.StatusOK, -1}},
			want:    []int{http.StatusServiceUnavailable, http.StatusBadRequest, http.StatusOK, http.StatusPaymentRequired},
			events:  1,
		},
		{
			name:    "a request that records nothing releases the hold",
			chain:   gateThenMeter,
			answers: []answer{{http.StatusOK, 0}, {http.StatusOK, 1}, {http.StatusOK, 1}},
			want:    []int{http.StatusOK, http.StatusOK, http.StatusPaymentRequired},
			events:  1,
		},
		{
			name: "a gate without a meter releases at the end",
			chain: func(e *env, rec *usage.Recorder, h http.Handler) http.Handler {
				return middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(h)
			},
			answers: []answer{{http.StatusOK, -1}, {http.StatusOK, -1}, {http.StatusOK, -1}},
			want:    []int{http.StatusOK, http.StatusOK, http.StatusOK},
		},
		{
			name: "a meter wrapping the gate commits, or releases after a non-2xx",
			chain: func(e *env, rec *usage.Recorder, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, apiCalls, middleware.WithRecorder(rec))(
					middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(h))
			},
			answers: []answer{{http.StatusInternalServerError, -1}, {http.StatusOK, -1}, {http.StatusOK, -1}},
			want:    []int{http.StatusInternalServerError, http.StatusOK, http.StatusPaymentRequired},
			events:  1,
		},
		{
			name: "a synchronous meter releases the gate's hold",
			chain: func(e *env, rec *usage.Recorder, h http.Handler) http.Handler {
				return middleware.MeterUsage(e.h, apiCalls)(
					middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(h))
			},
			answers: []answer{{http.StatusNotFound, -1}, {http.StatusOK, -1}, {http.StatusOK, -1}},
			want:    []int{http.StatusNotFound, http.StatusOK, http.StatusPaymentRequired},
			events:  1,
		},
		{
			name: "stacked gates on one meter share the request's hold",
			chain: func(e *env, rec *usage.Recorder, h http.Handler) http.Handler {
				return middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
					middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
						middleware.MeterUsage(e.h, apiCalls, middleware.WithRecorder(rec))(h)))
			},
			answers: []answer{{http.StatusOK, -1}, {http.StatusOK, -1}},
			want:    []int{http.StatusOK, http.StatusPaymentRequired},
			events:  1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 1)
			before := len(e.events(flowgladapitest.DemoCustomerBob))
			rec := e.newRecorder()
			step := 0
			h := tc.chain(e, rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a := tc.answers[step]
				if a.amount >= 0 {
					middleware.SetUsage(r.Context(), a.amount)
				}
				w.WriteHeader(a.status)
			}))
			for i, want := range tc.want {
				step = i
				assert.Equal(t, want, e.serve(h, "bob").Code, "request %d", i)
			}
			require.NoError(t, rec.Flush(bounded(t)))
			assert.Len(t, e.events(flowgladapitest.DemoCustomerBob), before+tc.events)
			// No hold is left behind: the Service's balance is Flowglad's.
			subs, err := e.h.Service().CurrentSubscriptions(bounded(t), users["bob"])
			require.NoError(t, err)
			fakeBal, _ := e.fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, apiCalls)
			assert.Equal(t, fakeBal, subs[0].UsageBalance(apiCalls).AvailableBalance)
		})
	}
}

func gateThenMeter(e *env, rec *usage.Recorder, h http.Handler) http.Handler {
	return middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
		middleware.MeterUsage(e.h, apiCalls, middleware.WithRecorder(rec))(h))
}

// TestRequireUsageBalanceReserveFailure: when the reservation cannot be made for a reason
// other than the balance (here the recorder is closed), the gate applies its policy for
// unreadable billing: a 503 with Retry-After, or FailOpen.
func TestRequireUsageBalanceReserveFailure(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(map[bool]string{false: "503", true: "FailOpen"}[failOpen], func(t *testing.T) {
			e := newEnv(t)
			rec := e.newRecorder()
			require.NoError(t, rec.Close(bounded(t)))
			opts := []middleware.Option{middleware.WithRecorder(rec)}
			if failOpen {
				opts = append(opts, middleware.FailOpen())
			}
			work := &ok{}
			w := e.serve(middleware.RequireUsageBalance(e.h, apiCalls, 1, opts...)(work), "bob")
			if failOpen {
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, 1, work.calls)
				return
			}
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.NotEmpty(t, w.Header().Get("Retry-After"))
			assert.Zero(t, work.calls)
		})
	}
}
