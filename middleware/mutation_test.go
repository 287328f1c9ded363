package middleware_test

import (
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests that kill mutants gremlins left alive in the middleware (issue 15, item 19): each
// asserts behaviour a user relies on.

// TestReservationRefusedAfterTheCheck: RequireUsageBalance's check passed on the billing an
// outer gate read, but another request reserved most of the balance meanwhile, so the
// reservation is refused: the 402 says what is left now (the balance less what is
// reserved), not 0 and not the stale balance the check saw.
func TestReservationRefusedAfterTheCheck(t *testing.T) {
	e := newEnv(t)
	rec := e.newRecorder()
	alice := users["alice"]
	// Between the outer gate's billing read and the inner gate, another request holds 999 of
	// Alice's 1000 api-calls.
	grab := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := rec.Reserve(r.Context(), alice, apiCalls, 999)
			require.NoError(t, err)
			t.Cleanup(func() { res.Release(t.Context()) })
			next.ServeHTTP(w, r)
		})
	}
	work := &ok{}
	h := middleware.RequireFeature(e.h, "premium")(grab(
		middleware.RequireUsageBalance(e.h, apiCalls, 2, middleware.WithRecorder(rec))(work)))

	w := e.serve(h, "alice")
	require.Equal(t, http.StatusPaymentRequired, w.Code, w.Body.String())
	code, j := errorEnvelope(t, w)
	assert.Equal(t, flowglad.CodeUsageBalanceExhausted, code)
	assert.Equal(t, 1.0, j["available"], "the balance less the other request's reservation")
	assert.Equal(t, 2.0, j["required"])
	assert.Equal(t, apiCalls, j["usageMeter"])
	assert.Zero(t, work.calls)
	assert.Empty(t, e.events(flowgladapitest.DemoCustomerAlice))
}

// TestMeterAloneNamesTheSubscription: MeterUsage without a gate (nothing read billing for the
// request) still records on the newest current subscription with the meter, as behind a
// gate, not on billing's currentSubscription, which the Service would use: the balance a
// RequireUsageBalance elsewhere checks is the one charged. Billing's currentSubscription
// here is Alice's older Pro; the newer Free has the meter too.
func TestMeterAloneNamesTheSubscription(t *testing.T) {
	tests := []struct {
		name  string
		build func(e *env) http.Handler
	}{
		{"behind a gate", func(e *env) http.Handler {
			return middleware.RequireUsageBalance(e.h, apiCalls, 1)(metered(e, http.StatusOK, nil))
		}},
		{"alone", func(e *env) http.Handler { return metered(e, http.StatusOK, nil) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvFake(t, []flowgladapitest.Option{flowgladapitest.WithMiddleware(primaryIsOldest)}, nil)
			free := e.addFree()
			w := e.serve(tc.build(e), "alice")
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			evs := e.events(flowgladapitest.DemoCustomerAlice)
			require.Len(t, evs, 1)
			assert.Equal(t, free, evs[0].SubscriptionID)
		})
	}
}

// TestGateInsideAGateWithRecorder: with a recorder, a RequireUsageBalance inside another on
// the same meter counts the outer gate's reservation as the request's own: Bob, with 1
// left, passes both gates of min 1 (the outer one holds his 1), and a gate of min 0 passes
// anyone, reserving nothing.
func TestGateInsideAGateWithRecorder(t *testing.T) {
	tests := []struct {
		name       string
		outer      float64 // -1: no outer gate
		inner      float64
		wantStatus int
	}{
		{"both min 1", 1, 1, http.StatusOK},
		{"inner min 2", 1, 2, http.StatusPaymentRequired},
		{"min 0 alone", -1, 0, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 1)
			rec := e.newRecorder()
			work := &ok{}
			h := middleware.RequireUsageBalance(e.h, apiCalls, tc.inner, middleware.WithRecorder(rec))(work)
			if tc.outer >= 0 {
				h = middleware.RequireUsageBalance(e.h, apiCalls, tc.outer, middleware.WithRecorder(rec))(h)
			}
			w := e.serve(h, "bob")
			assert.Equal(t, tc.wantStatus, w.Code, w.Body.String())
			assert.Equal(t, tc.wantStatus == http.StatusOK, work.calls == 1)
		})
	}
}
