package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNestedBalanceGates: a RequireUsageBalance at group level and a stricter one on a
// route, both reserving: the inner gate counts the outer one's reservation as the
// request's own once, not twice. Bob has 2 left: a route requiring 3 behind a group
// requiring 1 is refused, one requiring 2 is served.
func TestNestedBalanceGates(t *testing.T) {
	tests := []struct {
		name  string
		inner float64
		want  int
	}{
		{"inner requires more than is left", 3, http.StatusPaymentRequired},
		{"inner requires what is left", 2, http.StatusOK},
		{"inner requires what the outer holds", 1, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 2)
			rec := e.newRecorder()
			work := &ok{}
			h := middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
				middleware.RequireUsageBalance(e.h, apiCalls, tc.inner, middleware.WithRecorder(rec))(work))
			w := e.serve(h, "bob")
			require.Equal(t, tc.want, w.Code, w.Body.String())
			if tc.want == http.StatusPaymentRequired {
				assert.Zero(t, work.calls)
				_, j := errorEnvelope(t, w)
				assert.Equal(t, 2.0, j["available"])
			}
			// Nothing stays reserved once the request is over.
			w = e.serve(middleware.RequireUsageBalance(e.h, apiCalls, 2, middleware.WithRecorder(rec))(work), "bob")
			assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
		})
	}
}

// TestNestedBalanceGatesReserveTheDifference: the stricter inner gate reserves what it
// requires beyond the outer gate's reservation, so that while the request runs another
// request cannot spend it. Bob has 10 left: a route behind the group's gate (1) and its
// own (10) is running; a request through the group's gate alone is refused, and served
// once the first has ended without using anything.
func TestNestedBalanceGatesReserveTheDifference(t *testing.T) {
	e := newEnv(t)
	e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 10)
	rec := e.newRecorder()
	group := func(h http.Handler) http.Handler {
		return middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(h)
	}
	started, finish := make(chan struct{}), make(chan struct{})
	expensive := group(middleware.RequireUsageBalance(e.h, apiCalls, 10, middleware.WithRecorder(rec))(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(started)
			<-finish
			w.WriteHeader(http.StatusServiceUnavailable) // used nothing
		})))
	done := make(chan int)
	go func() { done <- e.serve(expensive, "bob").Code }()
	ctx := bounded(t)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the expensive request did not start")
	}
	cheap := &ok{}
	w := e.serve(group(cheap), "bob")
	close(finish)
	select {
	case code := <-done:
		assert.Equal(t, http.StatusServiceUnavailable, code)
	case <-ctx.Done():
		t.Fatal("the expensive request did not end")
	}
	assert.Equal(t, http.StatusPaymentRequired, w.Code, "the running request holds all 10: %s", w.Body)
	assert.Zero(t, cheap.calls)

	w = e.serve(group(cheap), "bob")
	assert.Equal(t, http.StatusOK, w.Code, "nothing is held after the request: %s", w.Body)
}

// crowdingLedger is a ledger on which, at the reservation numbered at, another request's
// hold of one unit lands first (a concurrent request between the gate's check and its
// reservation).
type crowdingLedger struct {
	usage.Ledger
	mu    sync.Mutex
	calls int
	at    int
}

func (l *crowdingLedger) Reserve(ctx context.Context, req usage.ReserveRequest) (bool, error) {
	l.mu.Lock()
	l.calls++
	crowd := l.calls == l.at
	l.mu.Unlock()
	if crowd {
		other := req
		other.Hold = usage.Hold{ID: "another request", Meter: req.Hold.Meter, Amount: 1, ExpiresAt: req.Hold.ExpiresAt}
		if ok, err := l.Ledger.Reserve(ctx, other); !ok || err != nil {
			return false, fmt.Errorf("crowding: %v %w", ok, err)
		}
	}
	return l.Ledger.Reserve(ctx, req)
}

// TestRefusedReservationSaysWhatTheRequestHolds: when another request takes what is left
// between a stricter inner gate's check and its reservation, the 402 says what this request
// could still use: the balance left plus what the outer gate holds for it. Bob has 2: the
// outer gate holds 1, the other request takes the other, and the inner gate requiring 2 is
// refused with 1 available.
func TestRefusedReservationSaysWhatTheRequestHolds(t *testing.T) {
	e := newEnv(t)
	e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 2)
	rec := e.newRecorder(usage.WithLedger(&crowdingLedger{Ledger: usage.NewMemoryLedger(), at: 2}))
	work := &ok{}
	h := middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
		middleware.RequireUsageBalance(e.h, apiCalls, 2, middleware.WithRecorder(rec))(work))
	w := e.serve(h, "bob")
	require.Equal(t, http.StatusPaymentRequired, w.Code, w.Body.String())
	assert.Zero(t, work.calls)
	_, j := errorEnvelope(t, w)
	assert.Equal(t, 1.0, j["available"])
	assert.Equal(t, 2.0, j["required"])
}

// TestNestedGatePickingTheDefaultSubscription: a gate that picks a subscription
// (WithSubscription) inside a reserving gate counts the outer gate's hold as the request's
// own when it picks the subscription the hold is on. Bob has 2 on his only subscription:
// the outer gate holds 1, and the inner gate requiring 2 on that subscription serves.
func TestNestedGatePickingTheDefaultSubscription(t *testing.T) {
	e := newEnv(t)
	e.spendTo(flowgladapitest.DemoCustomerBob, flowgladapitest.DemoBobSubscriptionID, 2)
	rec := e.newRecorder()
	work := &ok{}
	pick := middleware.WithSubscription(func(*flowgladapi.Billing) string { return flowgladapitest.DemoBobSubscriptionID })
	h := middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
		middleware.RequireUsageBalance(e.h, apiCalls, 2, middleware.WithRecorder(rec), pick)(work))
	w := e.serve(h, "bob")
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, 1, work.calls)

	// Requiring 3 is still refused, with the 2 the request could use.
	h = middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
		middleware.RequireUsageBalance(e.h, apiCalls, 3, middleware.WithRecorder(rec), pick)(work))
	w = e.serve(h, "bob")
	require.Equal(t, http.StatusPaymentRequired, w.Code, w.Body.String())
	_, j := errorEnvelope(t, w)
	assert.Equal(t, 2.0, j["available"])
}

// TestNestedGatePickingAnotherSubscription: a gate picking a subscription other than the
// one a reserving outer gate held on checks the picked subscription's own balance: the
// outer hold neither counts for nor against it. Alice is on Pro (1,000) and a newer Free
// subscription (100, where the default rule reserves): a route requiring 500 on Pro serves.
func TestNestedGatePickingAnotherSubscription(t *testing.T) {
	e := newEnv(t)
	e.addFree()
	rec := e.newRecorder()
	work := &ok{}
	pickPro := middleware.WithSubscription(func(*flowgladapi.Billing) string { return flowgladapitest.DemoAliceSubscriptionID })
	h := middleware.RequireUsageBalance(e.h, apiCalls, 1, middleware.WithRecorder(rec))(
		middleware.RequireUsageBalance(e.h, apiCalls, 500, middleware.WithRecorder(rec), pickPro)(work))
	w := e.serve(h, "alice")
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, 1, work.calls)
}
