package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
)

// TestGatesServeLastKnownBilling: with Config.StaleIfError, the gates decide on the
// customer's last-known billing while Flowglad is down, instead of refusing paying
// customers (503) or opening to everyone (FailOpen): Alice (Pro) passes, Bob (Free) is
// still refused the premium feature. Without it they answer 503.
func TestGatesServeLastKnownBilling(t *testing.T) {
	cases := []struct {
		name      string
		staleFor  time.Duration
		wantAlice int
		wantBob   int
	}{
		{"StaleIfError", time.Hour, http.StatusOK, http.StatusForbidden},
		{"off", 0, http.StatusServiceUnavailable, http.StatusServiceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
			h, err := flowglad.NewHandler(flowglad.Config{
				APIKey: fake.APIKey(), BaseURL: fake.URL, StaleIfError: tc.staleFor,
				Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
					if c, ok := users[r.Header.Get("X-User")]; ok {
						return c, nil
					}
					return flowglad.Customer{}, flowglad.ErrUnauthenticated
				}),
				RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0},
			})
			require.NoError(t, err)
			gated := middleware.RequireFeature(h, "premium")(
				middleware.RequireUsageBalance(h, "api-calls", 1)(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })))
			serve := func(user string) int {
				r := httptest.NewRequest(http.MethodPost, "/api/generate", strings.NewReader(`{}`))
				r.Header.Set("X-User", user)
				w := httptest.NewRecorder()
				gated.ServeHTTP(w, r)
				return w.Code
			}
			require.Equal(t, http.StatusOK, serve("alice"))
			require.Equal(t, http.StatusForbidden, serve("bob"))

			fake.FailNext(2, flowgladapitest.Fault{Status: http.StatusServiceUnavailable})
			assert.Equal(t, tc.wantAlice, serve("alice"))
			assert.Equal(t, tc.wantBob, serve("bob"))
		})
	}
}
