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
