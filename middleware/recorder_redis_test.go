package middleware_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/redistest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/redisqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// instance is one server of several: its own Handler and recorder, on a Redis queue and
// ledger shared with the others.
type instance struct {
	h   *flowglad.Handler
	rec *usage.Recorder
	// metered is RequireUsageBalance(1) + MeterUsage with the recorder, around next.
	metered func(next http.Handler) http.Handler
}

func newInstance(t *testing.T, e *env, srv *redistest.Server) *instance {
	t.Helper()
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey: e.fake.APIKey(), BaseURL: e.fake.URL, Logger: slog.New(slog.DiscardHandler),
		Auth:        flowglad.AuthenticatorFunc(e.h.Authenticate),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0},
	})
	require.NoError(t, err)
	q, err := redisqueue.New(srv.Client(), "shared")
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	rec := startRecorder(t, h.Service(), usage.WithQueue(q), usage.WithLedger(q.Ledger()))
	return &instance{h: h, rec: rec, metered: func(next http.Handler) http.Handler {
		return middleware.RequireUsageBalance(h, apiCalls, 1, middleware.WithRecorder(rec))(
			middleware.MeterUsage(h, apiCalls, middleware.WithRecorder(rec))(next))
	}}
}

// TestRequireUsageBalanceReservesAcrossInstances: two Handlers sharing a Redis queue and
// its ledger (a real redis-server) hold reservations for each other: 24 concurrent
// requests spread over both on a balance of 1 pass once; a non-2xx answer on one instance
// releases its hold for the other.
func TestRequireUsageBalanceReservesAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	e := newEnv(t)
	e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 1)
	before := len(e.events(flowgladapitest.DemoCustomerBob))
	a, b := newInstance(t, e, srv), newInstance(t, e, srv)

	// A failed request on a releases its hold: b's next request passes.
	fail := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	require.Equal(t, http.StatusBadGateway, e.serve(a.metered(fail), "bob").Code)

	work := &ok{}
	codes := serveConcurrently(t, 24, "bob", a.metered(work), b.metered(work))
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusPaymentRequired: 23}, codes)

	ctx := bounded(t)
	require.NoError(t, a.rec.Flush(ctx))
	require.NoError(t, b.rec.Flush(ctx))
	bal, _ := e.fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, apiCalls)
	assert.Equal(t, 0.0, bal)
	assert.Len(t, e.events(flowgladapitest.DemoCustomerBob), before+1)
}
