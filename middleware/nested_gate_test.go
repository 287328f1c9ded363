package middleware_test

import (
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
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
