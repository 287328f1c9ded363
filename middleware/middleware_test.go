package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/internal/logbuf"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Alice is on Pro (premium, 1000 api-calls); Bob is on Free (no premium, 100 api-calls).
var users = map[string]flowglad.Customer{
	"alice": {ExternalID: flowgladapitest.DemoCustomerAlice, Name: "Alice Example", Email: "alice@example.com"},
	"bob":   {ExternalID: flowgladapitest.DemoCustomerBob, Name: "Bob Example", Email: "bob@example.com"},
}

type env struct {
	t    *testing.T
	fake *flowgladapitest.Server
	h    *flowglad.Handler
	logs *logbuf.Buffer
}

// newEnv starts the fake on the demo seed (or seed's changes to it) and builds the handler
// with the test's Config, changed by each of with.
func newEnv(t *testing.T, with ...func(*flowglad.Config)) *env {
	return newEnvSeed(t, nil, with...)
}

func newEnvSeed(t *testing.T, seed func(*flowgladapitest.Seed), with ...func(*flowglad.Config)) *env {
	t.Helper()
	return newEnvFake(t, nil, seed, with...)
}

// newEnvFake is newEnvSeed with the fake's own options too.
func newEnvFake(t *testing.T, fakeOpts []flowgladapitest.Option, seed func(*flowgladapitest.Seed), with ...func(*flowglad.Config)) *env {
	t.Helper()
	sd := flowgladapitest.DemoSeed()
	if seed != nil {
		seed(&sd)
	}
	fake := flowgladapitest.NewServer(t, append([]flowgladapitest.Option{flowgladapitest.WithSeed(sd)}, fakeOpts...)...)
	logs := &logbuf.Buffer{}
	cfg := flowglad.Config{
		APIKey:  fake.APIKey(),
		BaseURL: fake.URL,
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			switch u := r.Header.Get("X-User"); u {
			case "broken":
				return flowglad.Customer{}, errors.New("session store down")
			default:
				c, ok := users[u]
				if !ok {
					return flowglad.Customer{}, flowglad.ErrUnauthenticated
				}
				return c, nil
			}
		}),
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond},
	}
	for _, w := range with {
		w(&cfg)
	}
	h, err := flowglad.NewHandler(cfg)
	require.NoError(t, err)
	return &env{t: t, fake: fake, h: h, logs: logs}
}

// serve sends a request as user through handler and returns the recorder.
func (e *env) serve(handler http.Handler, user string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/generate", strings.NewReader(`{}`))
	if user != "" {
		r.Header.Set("X-User", user)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	return w
}

// calls lists the fake's calls and forgets them.
func (e *env) calls() []string {
	out := []string{}
	for _, r := range e.fake.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	e.fake.ResetRequests()
	return out
}

// events returns the usage events the fake recorded for the customer.
func (e *env) events(externalID string) []flowgladapitest.UsageEvent {
	c, ok := e.fake.Customer(externalID)
	require.True(e.t, ok)
	var out []flowgladapitest.UsageEvent
	for _, ev := range e.fake.UsageEvents() {
		if ev.CustomerID == c.ID {
			out = append(out, ev)
		}
	}
	return out
}

// ok is the protected endpoint: it answers 200 and counts its calls.
type ok struct {
	mu    sync.Mutex
	calls int
}

func (o *ok) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	o.mu.Lock()
	o.calls++
	o.mu.Unlock()
	_, _ = io.WriteString(w, "done")
}

// errorEnvelope decodes the route's error envelope.
func errorEnvelope(t *testing.T, w *httptest.ResponseRecorder) (code string, j map[string]any) {
	t.Helper()
	var env struct {
		Error struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			JSON    map[string]any `json:"json"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &env), "body: %s", w.Body)
	assert.NotEmpty(t, env.Error.Message)
	assert.Equal(t, env.Error.Message, env.Error.JSON["message"])
	return env.Error.Code, env.Error.JSON
}

func TestRequireFeature(t *testing.T) {
	tests := []struct {
		user   string
		status int
		code   string
	}{
		{"alice", http.StatusOK, ""},
		{"bob", http.StatusForbidden, "feature_required"},
		{"", http.StatusUnauthorized, "unauthenticated"},
		{"broken", http.StatusInternalServerError, "internal_error"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s=%d", tc.user, tc.status), func(t *testing.T) {
			e := newEnv(t)
			next := &ok{}
			w := e.serve(middleware.RequireFeature(e.h, flowgladapitest.DemoFeaturePremium)(next), tc.user)
			assert.Equal(t, tc.status, w.Code, "body: %s", w.Body)
			if tc.status == http.StatusOK {
				assert.Equal(t, 1, next.calls)
				return
			}
			assert.Equal(t, 0, next.calls, "the handler does not run")
			code, j := errorEnvelope(t, w)
			assert.Equal(t, tc.code, code)
			if tc.code == "feature_required" {
				assert.Equal(t, flowgladapitest.DemoFeaturePremium, j["feature"])
			}
			if tc.user == "" || tc.user == "broken" {
				assert.Empty(t, e.calls(), "no Flowglad call without a customer")
			}
		})
	}
}

func TestRequireUsageBalance(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		meter     string
		min       float64
		status    int
		available float64
	}{
		{"above", "alice", "api-calls", 1, http.StatusOK, 0},
		{"exactly", "alice", "api-calls", 1000, http.StatusOK, 0},
		{"below", "alice", "api-calls", 1001, http.StatusPaymentRequired, 1000},
		{"free plan below", "bob", "api-calls", 101, http.StatusPaymentRequired, 100},
		{"no such meter", "alice", "gpu-minutes", 1, http.StatusPaymentRequired, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			next := &ok{}
			w := e.serve(middleware.RequireUsageBalance(e.h, tc.meter, tc.min)(next), tc.user)
			assert.Equal(t, tc.status, w.Code, "body: %s", w.Body)
			if tc.status == http.StatusOK {
				assert.Equal(t, 1, next.calls)
				return
			}
			assert.Equal(t, 0, next.calls)
			code, j := errorEnvelope(t, w)
			assert.Equal(t, "usage_balance_exhausted", code)
			assert.Equal(t, tc.meter, j["usageMeter"])
			assert.InDelta(t, tc.available, j["available"], 0)
			assert.InDelta(t, tc.min, j["required"], 0)
		})
	}
	t.Run("no session", func(t *testing.T) {
		e := newEnv(t)
		w := e.serve(middleware.RequireUsageBalance(e.h, "api-calls", 1)(&ok{}), "")
		assert.Equal(t, http.StatusUnauthorized, w.Code)
	})
}

// metered wraps a handler that answers status (and may set the usage) in MeterUsage.
func metered(e *env, status int, setup func(r *http.Request), opts ...middleware.Option) http.Handler {
	return middleware.MeterUsage(e.h, flowgladapitest.DemoUsageMeterAPICalls, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if setup != nil {
			setup(r)
		}
		w.WriteHeader(status)
	}))
}

func TestMeterUsage(t *testing.T) {
	tests := []struct {
		name   string
		status int
		setup  func(r *http.Request)
		amount int64 // 0: no event
		txID   string
	}{
		{"200 records one event of 1", http.StatusOK, nil, 1, ""},
		{"201 records", http.StatusCreated, nil, 1, ""},
		{"204 records", http.StatusNoContent, nil, 1, ""},
		{"400 records nothing", http.StatusBadRequest, nil, 0, ""},
		{"404 records nothing", http.StatusNotFound, nil, 0, ""},
		{"500 records nothing", http.StatusInternalServerError, nil, 0, ""},
		{"the handler sets the amount", http.StatusOK, func(r *http.Request) { assert.True(t, middleware.SetUsage(r.Context(), 42)) }, 42, ""},
		{"an amount of 0 records nothing", http.StatusOK, func(r *http.Request) { middleware.SetUsage(r.Context(), 0) }, 0, ""},
		{"the handler sets the transaction id", http.StatusOK, func(r *http.Request) {
			assert.True(t, middleware.SetTransactionID(r.Context(), "job-7"))
		}, 1, "job-7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.serve(metered(e, tc.status, tc.setup), "alice")
			assert.Equal(t, tc.status, w.Code, "the answer is the handler's")
			evs := e.events(flowgladapitest.DemoCustomerAlice)
			if tc.amount == 0 {
				assert.Empty(t, evs)
				return
			}
			require.Len(t, evs, 1)
			assert.Equal(t, tc.amount, evs[0].Amount)
			assert.Equal(t, flowgladapitest.DemoUsageMeterAPICalls, evs[0].UsageMeterSlug)
			if tc.txID != "" {
				assert.Equal(t, flowglad.ServerTransactionID(flowgladapitest.DemoCustomerAlice, tc.txID), evs[0].TransactionID, "stored in the server's key space")
			} else {
				assert.NotEmpty(t, evs[0].TransactionID)
			}
		})
	}
}

func TestMeterUsagePanicRecordsNothing(t *testing.T) {
	e := newEnv(t)
	h := middleware.MeterUsage(e.h, "api-calls")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		panic("boom")
	}))
	assert.PanicsWithValue(t, "boom", func() { e.serve(h, "alice") }, "the panic reaches net/http, which aborts the answer")
	assert.Empty(t, e.events(flowgladapitest.DemoCustomerAlice))
}

func TestMeterUsageNoSession(t *testing.T) {
	e := newEnv(t)
	next := &ok{}
	w := e.serve(middleware.MeterUsage(e.h, "api-calls")(next), "")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, 0, next.calls)
	assert.Empty(t, e.calls())
}

// TestMeterUsageIdempotent: the same transaction id set by the handler is one event, a
// retried usage POST is one event, and no client header becomes the transaction id.
func TestMeterUsageIdempotent(t *testing.T) {
	t.Run("same work twice", func(t *testing.T) {
		e := newEnv(t)
		h := metered(e, http.StatusOK, func(r *http.Request) { middleware.SetTransactionID(r.Context(), "doc-1-v3") })
		e.serve(h, "alice")
		e.serve(h, "alice")
		assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1)
	})
	t.Run("a retried usage POST", func(t *testing.T) {
		e := newEnv(t)
		e.fake.FailNext(1, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusBadGateway, AfterApply: true})
		e.serve(metered(e, http.StatusOK, nil), "alice")
		posts := 0
		for _, c := range e.calls() {
			if c == "POST /api/v1/usage-events" {
				posts++
			}
		}
		assert.Equal(t, 2, posts, "the lost answer was retried")
		assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1, "with the same transaction id: one event")
	})
	t.Run("a replayed client key is not the transaction id", func(t *testing.T) {
		e := newEnv(t)
		h := metered(e, http.StatusOK, nil)
		for range 2 {
			e.serve(h, "alice", "Idempotency-Key", "replayed", "X-Request-Id", "replayed", "X-Transaction-Id", "replayed")
		}
		evs := e.events(flowgladapitest.DemoCustomerAlice)
		require.Len(t, evs, 2, "two requests of work are two events")
		assert.NotEqual(t, evs[0].TransactionID, evs[1].TransactionID)
		for _, ev := range evs {
			assert.NotContains(t, ev.TransactionID, "replayed")
		}
	})
}

// TestMeterUsageFailure: a usage event that cannot be recorded does not change the answer;
// it is logged and handed to the hook with its transaction id, for a replay that counts
// once.
func TestMeterUsageFailure(t *testing.T) {
	e := newEnv(t)
	// Flowglad's message quotes the customer and the key: neither may reach the log.
	e.fake.FailNext(3, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusServiceUnavailable,
		Message: "busy for alice@example.com (key " + e.fake.APIKey() + ")"})
	var failures []middleware.MeterFailure
	h := metered(e, http.StatusOK, func(r *http.Request) { middleware.SetUsage(r.Context(), 5) },
		middleware.OnMeterFailure(func(_ context.Context, f middleware.MeterFailure) { failures = append(failures, f) }))
	w := e.serve(h, "alice")
	assert.Equal(t, http.StatusOK, w.Code, "the client's answer is not changed after the fact")
	require.Len(t, failures, 1)
	f := failures[0]
	assert.Equal(t, flowgladapitest.DemoCustomerAlice, f.Customer.ExternalID)
	assert.Equal(t, int64(5), f.Params.Amount)
	require.NotEmpty(t, f.Params.TransactionID)
	assert.Contains(t, e.logs.String(), "recording usage failed")
	assert.Contains(t, e.logs.String(), "busy for", "Flowglad's message is logged, redacted")
	assert.NotContains(t, e.logs.String(), "alice@example.com")
	assert.NotContains(t, e.logs.String(), e.fake.APIKey())

	// The host replays it: counted once.
	_, err := e.h.Service().CreateUsageEvent(t.Context(), f.Customer, f.Params)
	require.NoError(t, err)
	_, err = e.h.Service().CreateUsageEvent(t.Context(), f.Customer, f.Params)
	require.NoError(t, err)
	assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1)
}

// TestFlowgladDown: without billing the gates fail closed with 503 and a Retry-After, or,
// with FailOpen, serve and log.
func TestFlowgladDown(t *testing.T) {
	down := func(e *env) {
		e.fake.FailNext(100, flowgladapitest.Fault{Method: http.MethodGet, Path: "/api/v1/customers/user_alice/billing", Status: http.StatusBadGateway})
	}
	for _, gate := range []struct {
		name string
		mw   func(*env, ...middleware.Option) func(http.Handler) http.Handler
	}{
		{"RequireFeature", func(e *env, o ...middleware.Option) func(http.Handler) http.Handler {
			return middleware.RequireFeature(e.h, "premium", o...)
		}},
		{"RequireUsageBalance", func(e *env, o ...middleware.Option) func(http.Handler) http.Handler {
			return middleware.RequireUsageBalance(e.h, "api-calls", 1, o...)
		}},
	} {
		t.Run(gate.name+" closed", func(t *testing.T) {
			e := newEnv(t)
			down(e)
			next := &ok{}
			w := e.serve(gate.mw(e)(next), "alice")
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.Equal(t, "5", w.Header().Get("Retry-After"))
			code, _ := errorEnvelope(t, w)
			assert.Equal(t, "billing_unavailable", code)
			assert.Equal(t, 0, next.calls)
		})
		t.Run(gate.name+" open", func(t *testing.T) {
			e := newEnv(t)
			down(e)
			next := &ok{}
			w := e.serve(gate.mw(e, middleware.FailOpen())(next), "alice")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, 1, next.calls)
			assert.Contains(t, e.logs.String(), "FailOpen")
		})
	}
	t.Run("closed with WithRetryAfter and WithLogger", func(t *testing.T) {
		e := newEnv(t)
		down(e)
		own := &logbuf.Buffer{}
		var refusal *flowglad.Error
		mw := middleware.RequireFeature(e.h, "premium",
			middleware.WithRetryAfter(2*time.Second), middleware.WithLogger(slog.New(slog.NewJSONHandler(own, nil))),
			middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
				require.ErrorAs(t, err, &refusal)
				flowglad.WriteError(w, r, err)
			}))
		w := e.serve(mw(&ok{}), "alice")
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "2", w.Header().Get("Retry-After"))
		assert.Equal(t, 2*time.Second, refusal.RetryAfter, "an error handler of one's own sees the wait too")
		assert.Contains(t, own.String(), "billing unavailable")
		assert.NotContains(t, e.logs.String(), "billing unavailable", "WithLogger's logger, not the Service's")
	})
	t.Run("an outer gate's FailOpen does not open an inner gate", func(t *testing.T) {
		e := newEnv(t)
		down(e)
		next := &ok{}
		h := middleware.RequireFeature(e.h, "premium", middleware.FailOpen())(
			middleware.RequireUsageBalance(e.h, "api-calls", 1)(next))
		w := e.serve(h, "alice")
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the inner gate fails closed, as it says")
		assert.Equal(t, 0, next.calls)
	})
	t.Run("no session is still 401 when open", func(t *testing.T) {
		e := newEnv(t)
		down(e)
		w := e.serve(middleware.RequireFeature(e.h, "premium", middleware.FailOpen())(&ok{}), "")
		assert.Equal(t, http.StatusUnauthorized, w.Code)
	})
}

// TestChainSharesOneBillingRead: the gates, the handler and the meter share the customer
// and one billing read; recording the usage adds only its POST.
func TestChainSharesOneBillingRead(t *testing.T) {
	e := newEnv(t)
	var fromCtx flowglad.Customer
	var billed bool
	generate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fromCtx, _ = middleware.CustomerFrom(r.Context())
		b, ok := middleware.BillingFrom(r.Context())
		billed = ok && b.CheckFeatureAccess("premium")
		middleware.SetUsage(r.Context(), 3)
		_, _ = io.WriteString(w, "generated")
	})
	h := middleware.RequireFeature(e.h, "premium")(
		middleware.RequireUsageBalance(e.h, "api-calls", 3)(
			middleware.MeterUsage(e.h, "api-calls")(generate)))
	e.fake.ResetRequests()
	w := e.serve(h, "alice")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "generated", w.Body.String())
	assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing", "POST /api/v1/usage-events"}, e.calls(),
		"one billing read for the gates and the meter, then the event")
	assert.Equal(t, flowgladapitest.DemoCustomerAlice, fromCtx.ExternalID)
	assert.True(t, billed)

	// The next read sees the usage.
	b, err := e.h.Billing(t.Context(), users["alice"])
	require.NoError(t, err)
	assert.InDelta(t, 997, b.CheckUsageBalance("api-calls").AvailableBalance, 0)
}

func TestWithErrorHandler(t *testing.T) {
	e := newEnv(t)
	var got error
	h := middleware.RequireFeature(e.h, "premium", middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Redirect(w, r, "/pricing", http.StatusSeeOther)
	}))(&ok{})
	w := e.serve(h, "bob")
	assert.Equal(t, http.StatusSeeOther, w.Code)
	var fe *flowglad.Error
	require.ErrorAs(t, got, &fe)
	assert.Equal(t, flowglad.CodeFeatureRequired, fe.Code)
}

// TestMeterUsageStreaming: a streaming handler can still flush through the meter.
func TestMeterUsageStreaming(t *testing.T) {
	e := newEnv(t)
	h := middleware.MeterUsage(e.h, "api-calls")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "part 1")
		f, ok := w.(http.Flusher)
		require.True(t, ok, "the writer still flushes")
		f.Flush()
	}))
	w := e.serve(h, "alice")
	assert.True(t, w.Flushed)
	assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1)
}

func TestSetUsageWithoutMeter(t *testing.T) {
	assert.False(t, middleware.SetUsage(context.Background(), 3))
	assert.False(t, middleware.SetTransactionID(context.Background(), "x"))
	_, ok := middleware.CustomerFrom(context.Background())
	assert.False(t, ok)
	_, ok = middleware.BillingFrom(context.Background())
	assert.False(t, ok)
}

// TestMeterRereadsAfterAChange: when the handler changes the customer through the Service,
// the meter does not record on the billing read before the change.
func TestMeterRereadsAfterAChange(t *testing.T) {
	e := newEnv(t)
	h := middleware.RequireFeature(e.h, "premium")(middleware.MeterUsage(e.h, "api-calls")(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := middleware.CustomerFrom(r.Context())
			_, err := e.h.Service().CancelSubscription(r.Context(), c, flowglad.CancelSubscriptionParams{
				SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, Timing: flowgladapi.CancelAtEndOfPeriod})
			assert.NoError(t, err)
		})))
	e.fake.ResetRequests()
	assert.Equal(t, http.StatusOK, e.serve(h, "alice").Code)
	assert.Equal(t, []string{
		"GET /api/v1/customers/user_alice/billing", // the gate (and the cancel's ownership check)
		"POST /api/v1/subscriptions/sub_alice_pro/cancel",
		"GET /api/v1/customers/user_alice/billing", // the meter, after the change
		"POST /api/v1/usage-events",
	}, e.calls())
	assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1)
}

// TestFailOpenReadsOnce: with FailOpen, the gates of one request try billing once, not once
// each.
func TestFailOpenReadsOnce(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(100, flowgladapitest.Fault{Method: http.MethodGet, Path: "/api/v1/customers/user_alice/billing", Status: http.StatusBadGateway})
	h := middleware.RequireFeature(e.h, "premium", middleware.FailOpen())(
		middleware.RequireUsageBalance(e.h, "api-calls", 1, middleware.FailOpen())(&ok{}))
	e.fake.ResetRequests()
	assert.Equal(t, http.StatusOK, e.serve(h, "alice").Code)
	assert.Len(t, e.calls(), 3, "one read: the first attempt and two retries")
}

// TestMiddlewareLogsNoPII: Flowglad's message quoting the customer's email and name is
// logged without them.
func TestMiddlewareLogsNoPII(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(3, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusServiceUnavailable,
		Message: "cannot bill alice@example.com (Alice Example) right now"})
	e.fake.FailNext(100, flowgladapitest.Fault{Method: http.MethodGet, Path: "/api/v1/customers/user_bob/billing", Status: http.StatusBadGateway,
		Message: "bob@example.com (Bob Example) is unavailable"})
	e.serve(metered(e, http.StatusOK, nil), "alice")
	e.serve(middleware.RequireFeature(e.h, "premium")(&ok{}), "bob")
	e.serve(middleware.RequireFeature(e.h, "premium", middleware.FailOpen())(&ok{}), "bob")
	logs := e.logs.String()
	assert.Contains(t, logs, "recording usage failed")
	assert.Contains(t, logs, "billing unavailable")
	for _, pii := range []string{"alice@example.com", "Alice Example", "bob@example.com", "Bob Example"} {
		assert.NotContains(t, logs, pii)
	}
}
