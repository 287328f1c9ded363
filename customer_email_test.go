package flowglad_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCustomerEmailOnlyAtCreation: the email matters only when Flowglad does not know the
// customer; a customer it cannot create gets a generic 500 with the request id, on the
// route and through the middleware alike, and the fix goes to the log without the email
// or the name (issue 15 item 5).
func TestCustomerEmailOnlyAtCreation(t *testing.T) {
	t.Parallel()
	const reqID = "req-email-1"
	cases := []struct {
		name     string
		customer flowglad.Customer
		wantOK   bool
		wantLog  string // the fix, in the log
	}{
		{"known customer, invalid stored email", flowglad.Customer{ExternalID: userAlice, Name: "Alice Q. Secretname", Email: "alice at example"}, true, ""},
		{"known customer, no email", flowglad.Customer{ExternalID: userAlice}, true, ""},
		{"new customer, invalid email", flowglad.Customer{ExternalID: "user_newbie", Name: "Newbie Secretname", Email: "newbie at example"}, false,
			"Customer.Email is not a valid address"},
		{"new customer, no email", flowglad.Customer{ExternalID: "user_newbie", Name: "Newbie Secretname"}, false,
			"give Customer.Email, or set Config.LookupCustomer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) {
				c.Auth = flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) { return tc.customer, nil })
			}))
			_, err := env.h.Authenticate(httptest.NewRequest(http.MethodGet, "/", nil))
			assert.NoError(t, err, "Authenticate does not judge the email")

			gated := middleware.RequireFeature(env.h, flowgladapitest.DemoFeaturePremium)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
			}))
			mw := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/api/generate", nil)
			req.Header.Set("X-Request-Id", reqID)
			gated.ServeHTTP(mw, req)
			route := env.do(request{user: "anyone", key: "customers/billing", body: "{}", headers: map[string]string{"X-Request-Id": reqID}})

			answers := map[string]*response{
				"route":      route,
				"middleware": {Status: mw.Code, Header: mw.Header(), Body: mw.Body.Bytes()},
			}
			for name, res := range answers {
				if tc.wantOK {
					assert.Equal(t, http.StatusOK, res.Status, "%s: %s", name, res.Body)
					continue
				}
				j := res.assertError(t, http.StatusInternalServerError, flowglad.CodeInvalidCustomer)
				assert.Equal(t, "internal error", j["message"], "%s: a 5xx says nothing more", name)
				assert.Equal(t, reqID, j["requestId"], "%s: the request id finds the log line", name)
				for _, secret := range []string{tc.customer.ExternalID, "Customer.Email", "LookupCustomer", tc.customer.Email} {
					if secret != "" {
						assert.NotContains(t, string(res.Body), secret, name)
					}
				}
			}
			assert.NotContains(t, env.calls(), "POST /api/v1/customers", "no creation without a valid email")
			logs := env.logs.String()
			if tc.wantLog != "" {
				assert.Contains(t, logs, tc.wantLog)
				assert.Contains(t, logs, tc.customer.ExternalID, "the log names the customer")
				assert.Equal(t, 2, countLogLines(t, logs, "flowglad: the Flowglad customer cannot be created"), "one line per attempt, route and middleware")
			}
			if tc.customer.Email != "" {
				assert.NotContains(t, logs, tc.customer.Email)
			}
			assert.NotContains(t, logs, "Secretname")
		})
	}
	t.Run("a valid email creates the customer", func(t *testing.T) {
		env := newEnv(t)
		env.post(flowgladapitest.DemoCustomerCarol, "customers/billing", "{}").data(t)
		_, ok := env.fake.Customer(flowgladapitest.DemoCustomerCarol)
		assert.True(t, ok)
	})
}

// countLogLines counts the JSON log lines whose msg is msg.
func countLogLines(t *testing.T, logs, msg string) int {
	t.Helper()
	n := 0
	dec := json.NewDecoder(strings.NewReader(logs))
	for dec.More() {
		var line map[string]any
		require.NoError(t, dec.Decode(&line))
		if line["msg"] == msg {
			n++
		}
	}
	return n
}

// lookupErr is an application's LookupCustomer error that quotes the profile it failed on.
type lookupErr struct{ email string }

func (e *lookupErr) Error() string { return "profile of " + e.email + " is incomplete" }

// TestLookupCustomerErrorNotLogged: an error of Config.LookupCustomer may quote the
// customer's email or name, which the route cannot redact (the signed-in Customer does not
// carry them). As with the authenticator's errors, its text stays out of the log and of
// the error's text; errors.As still reaches it.
func TestLookupCustomerErrorNotLogged(t *testing.T) {
	t.Parallel()
	const email = "newbie.secret@example.com"
	env := newEnv(t, withConfig(func(c *flowglad.Config) {
		c.Auth = flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
			return flowglad.Customer{ExternalID: "user_newbie"}, nil
		})
		c.LookupCustomer = func(context.Context, string) (flowglad.Customer, error) {
			return flowglad.Customer{}, &lookupErr{email: email}
		}
	}))
	route := env.do(request{user: "anyone", key: "customers/billing", body: "{}"})
	route.assertError(t, http.StatusInternalServerError, flowglad.CodeInvalidCustomer)
	assert.NotContains(t, string(route.Body), email)
	logs := env.logs.String()
	assert.Contains(t, logs, "LookupCustomer failed", "the log says what failed")
	assert.NotContains(t, logs, email, "the lookup's error text is not logged")

	_, err := env.h.Service().Billing(t.Context(), flowglad.Customer{ExternalID: "user_newbie"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), email, "nor in the error's text")
	var le *lookupErr
	assert.ErrorAs(t, err, &le, "the application's error stays reachable")
	assert.ErrorIs(t, err, flowglad.ErrLookupFailed, "a failure that may pass, told apart from a missing email")
}
