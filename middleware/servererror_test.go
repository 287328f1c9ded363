package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerErrorsAreLogged: a 500 the middleware answers (an authenticator that fails, a
// customer Flowglad does not have and that cannot be created without an email) carries a
// generic message and the request id; the detail an operator needs (the fix) is logged at
// Error with that request id, never the customer's name, and nothing is metered.
func TestServerErrorsAreLogged(t *testing.T) {
	tests := []struct {
		name string
		user string
		log  string // in the logged error
	}{
		{"a broken authenticator", "broken", "authenticator"},
		{"a new customer without an email", "nomail", "no email to create it with"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gates := map[string]func(e *env) func(http.Handler) http.Handler{
				"RequireFeature": func(e *env) func(http.Handler) http.Handler {
					return middleware.RequireFeature(e.h, "premium")
				},
				"RequireUsageBalance": func(e *env) func(http.Handler) http.Handler {
					return middleware.RequireUsageBalance(e.h, apiCalls, 1)
				},
			}
			for gname, gate := range gates {
				e := newEnv(t, func(c *flowglad.Config) {
					auth := c.Auth
					c.Auth = flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
						if r.Header.Get("X-User") == "nomail" {
							return flowglad.Customer{ExternalID: "user_nomail", Name: "Nora Secretname"}, nil
						}
						return auth.Authenticate(r)
					})
				})
				next := &ok{}
				w := e.serve(gate(e)(next), tc.user, "X-Request-Id", "req-500")
				require.Equal(t, http.StatusInternalServerError, w.Code, "%s: %s", gname, w.Body)
				assert.Equal(t, "internal error", errorMessage(t, w.Body.Bytes()), "a generic message")
				assert.Equal(t, "req-500", w.Header().Get("X-Request-Id"))
				assert.Zero(t, next.calls)

				var logged bool
				for _, l := range e.logLines() {
					msg, _ := l["error"].(string)
					if l["level"] == "ERROR" && l["request_id"] == "req-500" && strings.Contains(msg, tc.log) {
						logged = true
					}
				}
				assert.True(t, logged, "%s: an Error line with the request id and %q in:\n%s", gname, tc.log, e.logs.String())
				assert.NotContains(t, e.logs.String(), "Secretname")
			}
		})
	}
}
