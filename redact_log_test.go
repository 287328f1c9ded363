package flowglad_test

import (
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
)

// TestLogRedactsValuesNotIDs: a customer whose name is part of its external id: the log
// keeps the id readable (in the URL and the customer attribute) and masks the name where
// Flowglad echoes it (issue 15 item 12).
func TestLogRedactsValuesNotIDs(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withoutSpec(), withConfig(func(c *flowglad.Config) {
		c.Auth = flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
			return flowglad.Customer{ExternalID: userAlice, Name: "Alice", Email: "alice@example.com"}, nil
		})
	}))
	env.fake.FailNext(3, flowgladapitest.Fault{Method: "GET", Path: "/api/v1/customers/" + userAlice + "/billing", Status: 500,
		Body: `{"error":"billing failed for Alice (alice@example.com)"}`})
	env.post(userAlice, "customers/billing", "{}").assertError(t, http.StatusBadGateway, flowglad.CodeFlowgladUnavailable)
	logs := env.logs.String()
	assert.Contains(t, logs, "/api/v1/customers/user_alice/billing", "the id in the URL is left whole")
	assert.Contains(t, logs, `"customer":"user_alice"`)
	assert.NotContains(t, logs, "user_[REDACTED]")
	assert.Contains(t, logs, "for [REDACTED] ([REDACTED])", "the name and email Flowglad echoed are masked")
	assert.NotContains(t, logs, "alice@example.com")
	assert.NotContains(t, logs, "for Alice")
}
