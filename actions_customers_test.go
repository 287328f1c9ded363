package flowglad_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Helpers shared by the per-action tests of this package (actions_*_test.go).

// invalidBodyCase is a request body that must be refused with 400 invalid_body, listing
// exactly the given issue paths, before any Flowglad call.
type invalidBodyCase struct {
	name  string
	body  string
	paths []string
}

// runInvalidBodyCases posts each body as user to key and checks the refusal.
func runInvalidBodyCases(t *testing.T, user, key string, cases []invalidBodyCase) {
	t.Helper()
	env := newEnv(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := env.post(user, key, tc.body)
			assertInvalidBody(t, res, tc.paths...)
			assert.Empty(t, env.calls(), "an invalid body must not reach Flowglad")
		})
	}
}

// assertInvalidBody checks a 400 invalid_body answer whose json.issues have exactly the given
// paths (in any order). The list is sent once: the message names the first issue (by path
// order) and counts the others.
func assertInvalidBody(t *testing.T, res *response, paths ...string) {
	t.Helper()
	j := res.assertError(t, http.StatusBadRequest, "invalid_body")
	raw, ok := j["issues"].([]any)
	require.True(t, ok, "no json.issues: %s", res.Body)
	got := []string{}
	for _, it := range raw {
		m, ok := it.(map[string]any)
		require.True(t, ok, "issue is not an object: %s", res.Body)
		p, _ := m["path"].(string)
		msg, _ := m["message"].(string)
		assert.NotEmpty(t, msg, "every issue says what is wrong: %s", res.Body)
		got = append(got, p)
	}
	want := append([]string(nil), paths...)
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "issue paths; body: %s", res.Body)
	if len(want) > 0 && want[0] != "" {
		assert.Contains(t, j["message"], want[0]+": ", "the message names the first issue")
	}
	switch n := len(want) - 1; n {
	case 0:
		assert.NotContains(t, j["message"], "more issue")
	case 1:
		assert.Contains(t, j["message"], "(and 1 more issue)")
	default:
		assert.Contains(t, j["message"], fmt.Sprintf("(and %d more issues)", n))
	}
}

// assertForbidden checks the one 403 answer given for an id that is not the customer's or
// does not exist: the same code and the same message but for the id itself, so ids cannot be
// probed.
func assertForbidden(t *testing.T, res *response, id string) string {
	t.Helper()
	j := res.assertError(t, http.StatusForbidden, "forbidden")
	msg, _ := j["message"].(string)
	assert.Contains(t, msg, id)
	return strings.ReplaceAll(string(res.Body), id, "<id>")
}

// dataKeys returns the sorted member names of an answer's data.
func dataKeys(t *testing.T, res *response) []string {
	t.Helper()
	d := res.data(t)
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonValue decodes a JSON document given in a test table.
func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), "bad JSON in the test: %s", s)
	return v
}

// objectAt returns m[key] as an object, failing the test when it is not one.
func objectAt(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := m[key].(map[string]any)
	require.True(t, ok, "%q is not an object in %v", key, m)
	return o
}

// demoPriceID returns the id the fake gave the demo price with this slug (ids are
// generated, slugs are fixed), without leaving a call in the log.
func demoPriceID(t *testing.T, env *testEnv, slug string) string {
	t.Helper()
	b, err := env.h.Client().GetBilling(context.Background(), flowgladapitest.DemoCustomerAlice)
	require.NoError(t, err)
	p := b.Price(slug)
	require.NotNil(t, p, "no price %q", slug)
	env.fake.ResetRequests()
	return p.ID
}

// withFixedCheckoutURLs makes checkout URLs independent of the fake's port, for golden files.
func withFixedCheckoutURLs() envOption {
	return withFake(flowgladapitest.WithCheckoutBaseURL("https://checkout.flowglad.test/"))
}

// fixedRequestID pins the request id that 5xx answers carry, for golden files.
var fixedRequestID = map[string]string{"X-Request-Id": "req-golden"}

const (
	userAlice = flowgladapitest.DemoCustomerAlice
	userBob   = flowgladapitest.DemoCustomerBob
	userCarol = flowgladapitest.DemoCustomerCarol
)

func TestFindOrCreateCustomer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		user      string
		body      string
		wantCalls []string
		wantExt   string
		wantID    string
		golden    string
	}{
		{
			name: "existing customer: one call", user: userAlice, body: `{}`,
			wantCalls: []string{"GET /api/v1/customers/user_alice"},
			wantExt:   userAlice, wantID: flowgladapitest.DemoAliceCustomerID,
			golden: "customers/find-or-create/existing",
		},
		{
			name: "body is ignored", user: userBob, body: `{"externalId": "user_alice", "customer": {"id": "cus_alice"}}`,
			wantCalls: []string{"GET /api/v1/customers/user_bob"},
			wantExt:   userBob, wantID: flowgladapitest.DemoBobCustomerID,
		},
		{
			name: "first visit creates the customer", user: userCarol, body: `{}`,
			wantCalls: []string{"GET /api/v1/customers/user_carol", "POST /api/v1/customers"},
			wantExt:   userCarol,
			golden:    "customers/find-or-create/created",
		},
		{
			name: "external id is one escaped path segment", user: "escaped", body: `{}`,
			wantCalls: []string{"GET /api/v1/customers/a%20b%2Fc%3Fd", "POST /api/v1/customers"},
			wantExt:   "a b/c?d",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			res := env.post(tc.user, "customers/find-or-create", tc.body)
			assert.Equal(t, []string{"customer"}, dataKeys(t, res), "always single-wrapped {customer}")
			cust := objectAt(t, res.data(t), "customer")
			assert.Equal(t, tc.wantExt, cust["externalId"])
			if tc.wantID != "" {
				assert.Equal(t, tc.wantID, cust["id"])
			}
			assert.Equal(t, tc.wantCalls, env.calls())
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

func TestFindOrCreateCustomerCreatesOnce(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	first := env.post(userCarol, "customers/find-or-create", `{}`)
	first.data(t)
	body := env.lastBody("POST", "/api/v1/customers")
	assert.Equal(t, jsonValue(t, `{"customer": {"externalId": "user_carol", "email": "carol@example.com", "name": "Carol Example"}}`), body)
	env.calls()

	fc, ok := env.fake.Customer(userCarol)
	require.True(t, ok, "the customer exists in Flowglad")
	assert.Equal(t, "carol@example.com", fc.Email)

	second := env.post(userCarol, "customers/find-or-create", `{}`)
	assert.Equal(t, []string{"GET /api/v1/customers/user_carol"}, env.calls(), "found the second time")
	assert.Equal(t, objectAt(t, first.data(t), "customer")["id"], objectAt(t, second.data(t), "customer")["id"])
	assert.Len(t, env.fake.Customers(), 3, "Alice, Bob and one Carol")
}

// TestFindOrCreateCustomerRace: Flowglad says the customer does not exist, but another
// request creates it before ours does; the 409 means "created meanwhile", so the customer
// is read and returned.
func TestFindOrCreateCustomerRace(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.fake.FailNext(1, flowgladapitest.Fault{Method: "GET", Path: "/api/v1/customers/user_alice", Status: 404, Code: "NOT_FOUND", Message: "Customer not found"})
	res := env.post(userAlice, "customers/find-or-create", `{}`)
	assert.Equal(t, "cus_alice", objectAt(t, res.data(t), "customer")["id"])
	assert.Equal(t, []string{"GET /api/v1/customers/user_alice", "POST /api/v1/customers", "GET /api/v1/customers/user_alice"}, env.calls())
}

func TestFindOrCreateCustomerUpstreamFailure(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.fake.FailNext(1, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/customers", Status: 500})
	res := env.do(request{user: userCarol, key: "customers/find-or-create", body: `{}`, headers: fixedRequestID})
	res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
	assert.Equal(t, []string{"GET /api/v1/customers/user_carol", "POST /api/v1/customers"}, env.calls(),
		"a customer creation is never retried")
	assertGolden(t, "customers/find-or-create/flowglad-unavailable", res)
}

func TestUpdateCustomer(t *testing.T) {
	t.Parallel()
	const put = "PUT /api/v1/customers/user_alice"
	tests := []struct {
		name      string
		body      string
		wantCalls []string
		wantSent  string // the body Flowglad received
		check     func(t *testing.T, cust map[string]any)
		golden    string
	}{
		{
			name:      "name only",
			body:      `{"customer": {"name": "Alice Renamed"}}`,
			wantCalls: []string{put},
			wantSent:  `{"customer": {"name": "Alice Renamed"}}`,
			check: func(t *testing.T, cust map[string]any) {
				assert.Equal(t, "Alice Renamed", cust["name"])
				assert.Equal(t, "alice@example.com", cust["email"])
			},
			golden: "customers/update/name",
		},
		{
			name:      "own external id: no extra call",
			body:      `{"customer": {"email": "alice@new.example.com"}, "externalId": "user_alice"}`,
			wantCalls: []string{put},
			wantSent:  `{"customer": {"email": "alice@new.example.com"}}`,
			check: func(t *testing.T, cust map[string]any) {
				assert.Equal(t, "alice@new.example.com", cust["email"])
			},
		},
		{
			name:      "own Flowglad id: checked against billing",
			body:      `{"customer": {"id": "cus_alice", "name": "A", "phone": "+1 555 0100"}}`,
			wantCalls: []string{aliceBilling, put},
			wantSent:  `{"customer": {"name": "A", "phone": "+1 555 0100"}}`,
			check: func(t *testing.T, cust map[string]any) {
				assert.Equal(t, "A", cust["name"])
				assert.Equal(t, "cus_alice", cust["id"])
			},
		},
		{
			name:      "billing address relayed as is",
			body:      `{"customer": {"billingAddress": {"name": "Alice", "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}}}}`,
			wantCalls: []string{put},
			wantSent:  `{"customer": {"billingAddress": {"name": "Alice", "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}}}}`,
			check: func(t *testing.T, cust map[string]any) {
				addr := objectAt(t, cust, "billingAddress")
				assert.Equal(t, "US", objectAt(t, addr, "address")["country"])
			},
		},
		{
			name:      "empty name is a change",
			body:      `{"customer": {"name": ""}}`,
			wantCalls: []string{put},
			wantSent:  `{"customer": {"name": ""}}`,
			check:     func(t *testing.T, cust map[string]any) { assert.Equal(t, "", cust["name"]) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			res := env.post(userAlice, "customers/update", tc.body)
			assert.Equal(t, []string{"customer"}, dataKeys(t, res))
			tc.check(t, objectAt(t, res.data(t), "customer"))
			assert.Equal(t, jsonValue(t, tc.wantSent), env.lastBody("PUT", "/api/v1/customers/user_alice"))
			assert.Equal(t, tc.wantCalls, env.calls())
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

// TestUpdateCustomerRefreshesBilling: an update made through the handler is seen by the next
// billing read, even with a billing cache.
func TestUpdateCustomerRefreshesBilling(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour }))
	env.post(userAlice, "customers/billing", `{}`).data(t)
	env.post(userAlice, "customers/update", `{"customer": {"name": "Alice Cached"}}`).data(t)
	env.calls()
	details := env.post(userAlice, "customerDetails", `{}`)
	assert.Equal(t, "Alice Cached", objectAt(t, details.data(t), "customer")["name"])
	assert.Equal(t, []string{aliceBilling}, env.calls(), "billing read again after the update")
}

func TestUpdateCustomerOwnership(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		id        string
		wantCalls []string
	}{
		{"another external id", `{"customer": {"name": "X"}, "externalId": "user_bob"}`, "user_bob", []string{}},
		{"an unknown external id", `{"customer": {"name": "X"}, "externalId": "user_nobody"}`, "user_nobody", []string{}},
		{"another customer's Flowglad id", `{"customer": {"id": "cus_bob", "name": "X"}}`, "cus_bob", []string{aliceBilling}},
		{"an unknown Flowglad id", `{"customer": {"id": "cus_nobody", "name": "X"}}`, "cus_nobody", []string{aliceBilling}},
		{"own external id, another Flowglad id", `{"customer": {"id": "cus_bob", "name": "X"}, "externalId": "user_alice"}`, "cus_bob", []string{aliceBilling}},
	}
	answers := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			res := env.post(userAlice, "customers/update", tc.body)
			answers[tc.name] = assertForbidden(t, res, tc.id)
			assert.Equal(t, tc.wantCalls, env.calls(), "no PUT")
			bobNow, _ := env.fake.Customer(userBob)
			assert.Equal(t, "Bob Example", bobNow.Name)
			aliceNow, _ := env.fake.Customer(userAlice)
			assert.Equal(t, "Alice Example", aliceNow.Name)
		})
	}
	assert.Equal(t, answers["another external id"], answers["an unknown external id"], "ids cannot be probed")
	assert.Equal(t, answers["another customer's Flowglad id"], answers["an unknown Flowglad id"], "ids cannot be probed")
}

func TestUpdateCustomerInvalidBody(t *testing.T) {
	t.Parallel()
	runInvalidBodyCases(t, userAlice, "customers/update", []invalidBodyCase{
		{"empty object", `{}`, []string{"customer"}},
		{"empty body", ``, []string{"customer"}},
		{"customer null", `{"customer": null}`, []string{"customer"}},
		{"customer not an object", `{"customer": "Alice"}`, []string{"customer"}},
		{"customer an array", `{"customer": [{"name": "A"}]}`, []string{"customer"}},
		{"nothing to change", `{"customer": {}}`, []string{"customer"}},
		{"only the id", `{"customer": {"id": "cus_alice"}}`, []string{"customer"}},
		{"name not a string", `{"customer": {"name": 5}}`, []string{"customer.name"}},
		{"name null", `{"customer": {"name": null}}`, []string{"customer.name"}},
		{"invalid email", `{"customer": {"email": "not-an-email"}}`, []string{"customer.email"}},
		{"email with a display name", `{"customer": {"email": "Alice <alice@example.com>"}}`, []string{"customer.email"}},
		{"email without a real TLD", `{"customer": {"email": "a@b.c"}}`, []string{"customer.email"}},
		{"email null", `{"customer": {"email": null}}`, []string{"customer.email"}},
		{"phone not a string", `{"customer": {"phone": 5551234}}`, []string{"customer.phone"}},
		{"id not a string", `{"customer": {"id": 1, "name": "A"}}`, []string{"customer.id"}},
		{"billing address not an object", `{"customer": {"billingAddress": "1 Main St"}}`, []string{"customer.billingAddress"}},
		{"external id not a string", `{"customer": {"name": "A"}, "externalId": 7}`, []string{"externalId"}},
		{"several at once", `{"customer": {"name": 1, "email": "x", "phone": false}, "externalId": null}`,
			[]string{"customer.email", "customer.name", "customer.phone", "externalId"}},
		{"nothing to change and a bad external id", `{"customer": {}, "externalId": 7}`, []string{"customer", "externalId"}},
	})
}

// TestUpdateCustomerFirstVisit: a customer Flowglad does not know cannot be updated; the
// answer is Flowglad's 404, after exactly one PUT.
func TestUpdateCustomerFirstVisit(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.post(userCarol, "customers/update", `{"customer": {"name": "Carol"}}`)
	res.assertError(t, http.StatusNotFound, "not_found")
	assert.Equal(t, []string{"PUT /api/v1/customers/user_carol"}, env.calls())
}

func TestUpdateCustomerRejectedByFlowglad(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	// The fake, like Flowglad, needs a country in a billing address.
	res := env.post(userAlice, "customers/update", `{"customer": {"billingAddress": {"address": {"line1": "1 Main St"}}}}`)
	j := res.assertError(t, http.StatusBadRequest, "flowglad_rejected")
	assert.Equal(t, "BAD_REQUEST", j["flowgladCode"])
	assert.Equal(t, []string{"PUT /api/v1/customers/user_alice"}, env.calls(), "never retried")

	env.fake.FailNext(1, flowgladapitest.Fault{Method: "PUT", Status: 503})
	res = env.post(userAlice, "customers/update", `{"customer": {"name": "B"}}`)
	res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
	assert.Equal(t, []string{"PUT /api/v1/customers/user_alice"}, env.calls(), "a PUT is never retried")
	aliceNow, _ := env.fake.Customer(userAlice)
	assert.Equal(t, "Alice Example", aliceNow.Name)
}

func TestUpdateCustomerGoldenFailures(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	assertGolden(t, "customers/update/invalid-body", env.post(userAlice, "customers/update", `{"customer": {"name": 1, "email": "x"}, "externalId": null}`))
	assert.Empty(t, env.calls())
	assertGolden(t, "customers/update/forbidden", env.post(userAlice, "customers/update", `{"customer": {"name": "X"}, "externalId": "user_bob"}`))
	assert.Empty(t, env.calls())
}
