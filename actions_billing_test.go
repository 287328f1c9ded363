package flowglad_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeBilling reads a customer's billing straight from the fake, as Flowglad sends it.
func fakeBilling(t *testing.T, env *testEnv, escapedExternalID string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.fake.URL+"/api/v1/customers/"+escapedExternalID+"/billing", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", env.fake.APIKey())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	env.fake.ResetRequests()
	return b
}

// assertRelayed checks that the answer is {"data": <Flowglad's billing body>}, byte for byte.
func assertRelayed(t *testing.T, res *response, billing []byte) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	want := append(append([]byte(`{"data":`), billing...), '}')
	assert.True(t, bytes.Equal(want, res.Body), "the billing body must be relayed byte for byte\nwant %s\ngot  %s", want, res.Body)
}

func TestCustomersBilling(t *testing.T) {
	t.Parallel()
	cases := []actionCase{
		{
			name: "steady state: one call", body: `{}`, calls: []string{aliceBilling},
			check: func(t *testing.T, env *testEnv, res *response) {
				d := res.data(t)
				for _, k := range []string{"customer", "subscriptions", "currentSubscriptions", "currentSubscription",
					"pricingModel", "catalog", "purchases", "invoices", "paymentMethods", "billingPortalUrl"} {
					assert.Contains(t, d, k)
				}
			},
			golden: "customers/billing/alice",
		},
		{name: "the body is ignored", body: `{"externalId": "user_bob", "junk": [1]}`, calls: []string{aliceBilling},
			check: func(t *testing.T, _ *testEnv, res *response) {
				cust, _ := res.data(t)["customer"].(map[string]any)
				assert.Equal(t, "user_alice", cust["externalId"], "the customer comes from the session, never the body")
			}},
		{name: "no body", noBody: true, calls: []string{aliceBilling}},
		{name: "another customer", user: "user_bob", body: `{}`, calls: []string{bobBilling}, golden: "customers/billing/bob"},
		{
			name: "first visit creates the customer", user: "user_carol", body: `{}`,
			calls: []string{carolBilling, "POST /api/v1/customers", carolBilling},
			check: func(t *testing.T, env *testEnv, res *response) {
				assert.Equal(t, map[string]any{"customer": map[string]any{"externalId": "user_carol", "email": "carol@example.com", "name": "Carol Example"}},
					env.lastBody("POST", "/api/v1/customers"))
				cust, _ := res.data(t)["customer"].(map[string]any)
				assert.Equal(t, "user_carol", cust["externalId"])
			},
			golden: "customers/billing/first-visit",
		},
		{
			name: "an external id is one escaped path segment", user: "escaped", body: `{}`,
			calls: []string{"GET /api/v1/customers/a%20b%2Fc%3Fd/billing", "POST /api/v1/customers", "GET /api/v1/customers/a%20b%2Fc%3Fd/billing"},
		},
		{
			name: "customer creation refused", user: "user_carol", body: `{}`,
			setup:  failNext(1, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/customers", Status: 400, Message: "Email domain not allowed"}),
			status: http.StatusBadRequest, code: "flowglad_rejected",
			calls:  []string{carolBilling, "POST /api/v1/customers"},
			golden: "customers/billing/creation-refused",
		},
		{
			name: "customer creation fails: not retried", user: "user_carol", body: `{}`,
			setup:  failNext(1, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/customers", Status: 500}),
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			calls: []string{carolBilling, "POST /api/v1/customers"},
		},
		{
			name: "a 404 without NOT_FOUND is a wrong route, not a missing customer", body: `{}`,
			setup:  failNext(1, flowgladapitest.Fault{Method: "GET", Path: "/api/v1/customers/user_alice/billing", Status: 404, Code: "NO_ROUTE"}),
			status: http.StatusNotFound, code: "not_found",
			calls: []string{aliceBilling},
		},
		{
			name: "Flowglad down after retries", body: `{}`,
			setup:  failNext(3, flowgladapitest.Fault{Status: 500}),
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			calls:  []string{aliceBilling, aliceBilling, aliceBilling},
			golden: "customers/billing/flowglad-unavailable",
		},
		{
			name: "one 500 is retried", body: `{}`,
			setup: failNext(1, flowgladapitest.Fault{Status: 500}),
			calls: []string{aliceBilling, aliceBilling},
		},
		{name: "signed out", user: "-", body: `{}`, status: http.StatusUnauthorized, code: "unauthenticated", golden: "customers/billing/unauthenticated"},
		{name: "invalid JSON", body: `{"a"`, status: http.StatusBadRequest, code: "invalid_json"},
	}
	runActionCases(t, "customers/billing", cases)
}

// TestCustomersBillingByteForByte: data is Flowglad's billing body exactly, unknown fields,
// key order and number formatting included.
func TestCustomersBillingByteForByte(t *testing.T) {
	t.Parallel()
	for _, user := range []string{"user_alice", "user_bob"} {
		t.Run(user, func(t *testing.T) {
			env := newEnv(t)
			want := fakeBilling(t, env, user)
			res := env.post(user, "customers/billing", `{}`)
			assertRelayed(t, res, want)
			assert.Equal(t, []string{"GET /api/v1/customers/" + user + "/billing"}, env.calls())
		})
	}
	t.Run("fields our decoder does not know", func(t *testing.T) {
		body := []byte(`{"customer":{"id":"cus_x","externalId":"user_alice","email":"alice@example.com","name":"Alice Example","livemode":false,"createdAt":1.7e12,"updatedAt":"2024-01-01T00:00:00Z","futureField":{"nested":[1,2.50,"\u00e9"]}},` +
			`"subscriptions":[],"currentSubscriptions":[],"pricingModel":{"id":"pm_1","products":[]},"purchases":[],"invoices":[],"newTopLevel":  true }`)
		stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		})
		env := newEnv(t, withStub(stub))
		res := env.post("user_alice", "customers/billing", `{}`)
		assertRelayed(t, res, body)
		assert.Equal(t, []string{aliceBilling}, stub.takeCalls())
	})
}

// TestCustomersBillingFirstVisitThenSteadyState: the customer is created once; later reads
// cost one call.
func TestCustomersBillingFirstVisitThenSteadyState(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.post("user_carol", "customers/billing", `{}`).data(t)
	assert.Equal(t, []string{carolBilling, "POST /api/v1/customers", carolBilling}, env.calls())
	want := fakeBilling(t, env, "user_carol")
	assertRelayed(t, env.post("user_carol", "customers/billing", `{}`), want)
	assert.Equal(t, []string{carolBilling}, env.calls())
	assert.Len(t, env.fake.Customers(), 3)
}
