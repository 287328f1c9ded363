package flowglad_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	defaultPricingModel = "GET /api/v1/pricing-models/default"
	aliceBalances       = "GET /api/v1/customers/user_alice/usage-balances"
)

// strictCases are refusals every strict key shares; none reaches Flowglad.
func strictCases() []actionCase {
	return []actionCase{
		{name: "unknown field", body: `{"junk": 1}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"junk"}},
		{name: "several unknown fields", body: `{"b": 1, "a": null}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"a", "b"}},
		{name: "invalid JSON", body: `{`, status: http.StatusBadRequest, code: "invalid_json"},
		{name: "JSON array", body: `[]`, status: http.StatusBadRequest, code: "invalid_json"},
	}
}

func TestPricingModelsRetrieve(t *testing.T) {
	t.Parallel()
	cases := []actionCase{
		{
			name: "anonymous: the default pricing model", user: "-", body: `{}`,
			calls: []string{defaultPricingModel},
			check: func(t *testing.T, _ *testEnv, res *response) {
				d := res.data(t)
				assert.Equal(t, []string{"pricingModel", "source"}, keysOf(d))
				assert.Equal(t, "default", d["source"])
				pm, _ := d["pricingModel"].(map[string]any)
				assert.Equal(t, flowgladapitest.DemoPricingModelID, pm["id"])
				assert.NotEmpty(t, pm["products"])
			},
			golden: "pricing-models/retrieve/anonymous",
		},
		{name: "anonymous, no body", user: "-", noBody: true, calls: []string{defaultPricingModel}},
		{
			name: "signed in: the customer's pricing model, from billing", body: `{}`,
			calls:  []string{aliceBilling},
			check:  func(t *testing.T, _ *testEnv, res *response) { assert.Equal(t, "customer", res.data(t)["source"]) },
			golden: "pricing-models/retrieve/customer",
		},
		{
			name: "signed in, first visit", user: "user_carol", body: `{}`,
			calls: []string{carolBilling, "POST /api/v1/customers", carolBilling},
			check: func(t *testing.T, _ *testEnv, res *response) { assert.Equal(t, "customer", res.data(t)["source"]) },
		},
		{
			name: "signed in and billing fails: an error, not the default", body: `{}`,
			setup:  failNext(3, flowgladapitest.Fault{Method: "GET", Path: "/api/v1/customers/user_alice/billing", Status: 500}),
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			calls:  []string{aliceBilling, aliceBilling, aliceBilling},
			golden: "pricing-models/retrieve/customer-failure",
		},
		{
			name: "signed in and Flowglad refuses our key: an error, not the default", body: `{}`,
			setup:  failNext(1, flowgladapitest.Fault{Status: 403}),
			status: http.StatusBadGateway, code: "flowglad_auth_failed",
			calls: []string{aliceBilling},
		},
		{
			name: "anonymous and the default fails", user: "-", body: `{}`,
			setup:  failNext(3, flowgladapitest.Fault{Status: 503}),
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			calls: []string{defaultPricingModel, defaultPricingModel, defaultPricingModel},
		},
		{
			name: "a broken authenticator serves anonymous", user: "db-down", body: `{}`,
			calls: []string{defaultPricingModel},
			check: func(t *testing.T, env *testEnv, res *response) {
				assert.Equal(t, "default", res.data(t)["source"])
				found := false
				for _, l := range logLines(t, env) {
					if l["level"] == "WARN" && l["action"] == "pricing-models/retrieve" {
						found = true
						assert.Contains(t, l["error"], "authenticator failed: *errors.errorString", "the type of the error")
						assert.NotContains(t, l["error"], "session store unreachable", "not its text")
						assert.NotEmpty(t, l["request_id"])
					}
				}
				assert.True(t, found, "a Warn record names the action: %s", env.logs.String())
			},
		},
		{
			name: "a panicking authenticator serves anonymous", user: "panic", body: `{}`,
			calls: []string{defaultPricingModel},
			check: func(t *testing.T, env *testEnv, res *response) {
				assert.Equal(t, "default", res.data(t)["source"])
				assert.Contains(t, env.logs.String(), `"level":"WARN"`)
			},
		},
		{
			name: "an unknown session is anonymous without a warning", user: "nobody-known", body: `{}`,
			calls: []string{defaultPricingModel},
			check: func(t *testing.T, env *testEnv, res *response) {
				assert.Equal(t, "default", res.data(t)["source"])
				assert.NotContains(t, env.logs.String(), `"level":"WARN"`)
			},
		},
		{
			name: "anonymous with an unknown field", user: "-", body: `{"locale": "fr"}`,
			status: http.StatusBadRequest, code: "invalid_body", issues: []string{"locale"},
		},
		{name: "anonymous with invalid JSON", user: "-", body: `{`, status: http.StatusBadRequest, code: "invalid_json"},
	}
	cases = append(cases, strictCases()...)
	runActionCases(t, "pricing-models/retrieve", cases)
}

func TestPricingModelsRetrieveDefaultShape(t *testing.T) {
	t.Parallel()
	t.Run("answer without pricingModel", func(t *testing.T) {
		stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id": "pm_1"}`))
		})
		env := newEnv(t, withStub(stub))
		env.do(request{key: "pricing-models/retrieve", body: `{}`}).assertError(t, http.StatusBadGateway, "flowglad_unavailable")
	})
	t.Run("unwrapped and relayed as sent", func(t *testing.T) {
		stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"pricingModel": {"id":"pm_1", "products":[], "x": 1.50}}`))
		})
		env := newEnv(t, withStub(stub))
		res := env.do(request{key: "pricing-models/retrieve", body: `{}`})
		// Whitespace aside, the value is Flowglad's: 1.50 stays 1.50.
		assert.Equal(t, `{"data":{"pricingModel":{"id":"pm_1","products":[],"x":1.50},"source":"default"}}`, string(res.Body))
		assert.Equal(t, []string{defaultPricingModel}, stub.takeCalls())
	})
}

// TestPricingModelsRetrieveCustomerIsBillings: a signed-in customer gets billing's
// pricingModel as Flowglad sent it.
func TestPricingModelsRetrieveCustomerIsBillings(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var billing struct {
		PricingModel json.RawMessage `json:"pricingModel"`
	}
	require.NoError(t, json.Unmarshal(fakeBilling(t, env, "user_alice"), &billing))
	res := env.post("user_alice", "pricing-models/retrieve", `{}`)
	var got struct {
		Data struct {
			PricingModel json.RawMessage `json:"pricingModel"`
			Source       string          `json:"source"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &got))
	assert.Equal(t, "customer", got.Data.Source)
	assert.Equal(t, string(billing.PricingModel), string(got.Data.PricingModel))
	assert.Equal(t, []string{aliceBilling}, env.calls())
}

func TestUsageMetersBalances(t *testing.T) {
	t.Parallel()
	cases := []actionCase{
		{
			name: "all balances: one call", body: `{}`, calls: []string{aliceBalances},
			check: func(t *testing.T, _ *testEnv, res *response) {
				d := res.data(t)
				assert.Equal(t, []string{"usageMeterBalances"}, keysOf(d))
				bals, _ := d["usageMeterBalances"].([]any)
				require.Len(t, bals, 1)
				b, _ := bals[0].(map[string]any)
				assert.Equal(t, "api-calls", b["slug"])
				assert.EqualValues(t, 1000, b["availableBalance"])
			},
			golden: "usage-meters/balances/alice",
		},
		{name: "no body", noBody: true, calls: []string{aliceBalances}},
		{name: "one subscription", body: `{"subscriptionId": "sub_alice_pro"}`, calls: []string{aliceBalances + "?subscriptionId=sub_alice_pro"}},
		{
			name: "own canceled subscription", body: `{"subscriptionId": "sub_alice_pro"}`, setup: noCurrentSubscription,
			calls: []string{aliceBalances + "?subscriptionId=sub_alice_pro"},
			check: func(t *testing.T, _ *testEnv, res *response) {
				assert.Len(t, res.data(t)["usageMeterBalances"], 1, "a subscription named is read whatever its status")
			},
		},
		{
			// Flowglad answers 404 NOT_FOUND (the code of a missing customer too): the one
			// answer for an id that is not the customer's, with no customer created.
			name: "another customer's subscription: forbidden, in one call", body: `{"subscriptionId": "sub_bob_free"}`,
			status: http.StatusForbidden, code: "forbidden",
			calls: []string{aliceBalances + "?subscriptionId=sub_bob_free"},
		},
		{
			name: "the filter is escaped", body: `{"subscriptionId": "a&b=c"}`,
			status: http.StatusForbidden, code: "forbidden",
			calls: []string{aliceBalances + "?subscriptionId=a%26b%3Dc"},
		},
		{
			name: "first visit with another customer's subscription: forbidden, nothing created", user: "user_carol", body: `{"subscriptionId": "sub_bob_free"}`,
			status: http.StatusForbidden, code: "forbidden",
			calls: []string{"GET /api/v1/customers/user_carol/usage-balances?subscriptionId=sub_bob_free"},
			check: func(t *testing.T, env *testEnv, _ *response) {
				_, ok := env.fake.Customer("user_carol")
				assert.False(t, ok)
			},
		},
		{
			name: "after usage", body: `{}`,
			setup: func(t *testing.T, env *testEnv) map[string]string {
				mustPost(t, env, "user_alice", "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 7}`)
				return nil
			},
			calls: []string{aliceBalances},
			check: func(t *testing.T, _ *testEnv, res *response) {
				bals, _ := res.data(t)["usageMeterBalances"].([]any)
				require.Len(t, bals, 1)
				assert.EqualValues(t, 993, bals[0].(map[string]any)["availableBalance"])
			},
		},
		{
			name: "first visit: create the customer (the 404 on its own path says it), then read again", user: "user_carol", body: `{}`,
			calls: []string{"GET /api/v1/customers/user_carol/usage-balances", "POST /api/v1/customers", "GET /api/v1/customers/user_carol/usage-balances"},
			check: func(t *testing.T, env *testEnv, res *response) {
				_, ok := env.fake.Customer("user_carol")
				assert.True(t, ok)
				bals, _ := res.data(t)["usageMeterBalances"].([]any)
				assert.Len(t, bals, 1, "the free plan's credits")
			},
		},
		{
			name: "Flowglad down", body: `{}`,
			setup:  failNext(3, flowgladapitest.Fault{Status: 500}),
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			calls:  []string{aliceBalances, aliceBalances, aliceBalances},
			golden: "usage-meters/balances/flowglad-unavailable",
		},
		{name: "empty subscriptionId", body: `{"subscriptionId": ""}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"subscriptionId"}},
		{name: "subscriptionId not a string", body: `{"subscriptionId": 3}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"subscriptionId"}},
		{
			name: "unknown field with a valid filter", body: `{"subscriptionId": "sub_alice_pro", "includeHistorical": true}`,
			status: http.StatusBadRequest, code: "invalid_body", issues: []string{"includeHistorical"},
			golden: "usage-meters/balances/unknown-field",
		},
		{
			name: "several problems at once", body: `{"subscriptionId": null, "z": 1}`,
			status: http.StatusBadRequest, code: "invalid_body", issues: []string{"subscriptionId", "z"},
		},
		{name: "signed out", user: "-", body: `{}`, status: http.StatusUnauthorized, code: "unauthenticated"},
	}
	cases = append(cases, strictCases()...)
	runActionCases(t, "usage-meters/balances", cases)
}

func TestFeaturesAccess(t *testing.T) {
	t.Parallel()
	features := func(want string) func(*testing.T, *testEnv, *response) {
		return func(t *testing.T, _ *testEnv, res *response) {
			t.Helper()
			assert.JSONEq(t, want, jsonOf(t, res.data(t)))
		}
	}
	cases := []actionCase{
		{
			name: "toggles of the current subscription", body: `{}`, calls: []string{aliceBilling},
			check:  features(`{"features": [{"id": "sif_1", "livemode": false, "slug": "premium", "name": "Premium"}]}`),
			golden: "features/access/alice",
		},
		{name: "no body", noBody: true, calls: []string{aliceBilling}, check: features(`{"features": [{"id": "sif_1", "livemode": false, "slug": "premium", "name": "Premium"}]}`)},
		{name: "another plan", user: "user_bob", body: `{}`, calls: []string{bobBilling},
			check: features(`{"features": [{"id": "sif_4", "livemode": false, "slug": "basic", "name": "Basic"}]}`)},
		{name: "one subscription", body: `{"subscriptionId": "sub_alice_pro"}`, calls: []string{aliceBilling},
			check: features(`{"features": [{"id": "sif_1", "livemode": false, "slug": "premium", "name": "Premium"}]}`)},
		{name: "unknown subscription: empty list", body: `{"subscriptionId": "sub_nope"}`, calls: []string{aliceBilling}, check: features(`{"features": []}`)},
		{name: "another customer's subscription: empty list", body: `{"subscriptionId": "sub_bob_free"}`, calls: []string{aliceBilling}, check: features(`{"features": []}`)},
		{
			name: "first of each slug across current subscriptions", body: `{}`, setup: secondSubscription,
			calls: []string{aliceBilling},
			check: func(t *testing.T, _ *testEnv, res *response) {
				var slugs []string
				list, _ := res.data(t)["features"].([]any)
				for _, f := range list {
					slugs = append(slugs, f.(map[string]any)["slug"].(string))
				}
				assert.ElementsMatch(t, []string{"premium", "sso"}, slugs, "premium once, though both plans grant it")
			},
		},
		{
			name: "canceled subscription grants nothing", body: `{"subscriptionId": "sub_alice_pro"}`, setup: noCurrentSubscription,
			calls: []string{aliceBilling}, check: features(`{"features": []}`),
		},
		{name: "empty subscriptionId", body: `{"subscriptionId": ""}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"subscriptionId"}},
		{
			name: "unknown field", body: `{"subscriptionId": "sub_alice_pro", "slug": "premium"}`,
			status: http.StatusBadRequest, code: "invalid_body", issues: []string{"slug"},
			golden: "features/access/unknown-field",
		},
		{name: "signed out", user: "-", body: `{}`, status: http.StatusUnauthorized, code: "unauthenticated"},
	}
	cases = append(cases, strictCases()...)
	runActionCases(t, "features/access", cases)
}

// TestReadsFromMinimalBilling uses a Flowglad stand-in whose billing leaves out optional
// members, to check the defaults of payment-methods/list and customerDetails, and the
// top-level featureItems of newer Flowglad versions.
func TestReadsFromMinimalBilling(t *testing.T) {
	t.Parallel()
	const billing = `{
		"customer": {"id": "cus_min", "livemode": true, "email": "min@example.com", "createdAt": 1700000000123, "updatedAt": "2024-02-03T04:05:06.789Z"},
		"subscriptions": [{"id": "sub_1", "customerId": "cus_min", "status": "active", "current": true}],
		"currentSubscriptions": [{"id": "sub_1", "customerId": "cus_min", "status": "active", "current": true,
			"featureItems": [
				{"id": "f1", "type": "toggle", "slug": "top", "name": "Top-level", "livemode": true},
				{"id": "f2", "type": "usage_credit_grant", "slug": "credits", "name": "Credits", "livemode": true},
				{"id": "f3", "type": "toggle", "slug": "top", "name": "Duplicate", "livemode": true}
			],
			"experimental": {"featureItems": [{"id": "old", "type": "toggle", "slug": "legacy", "name": "Legacy"}]}}],
		"pricingModel": {"id": "pm_1", "products": []},
		"purchases": [],
		"invoices": []
	}`
	stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(billing))
	})
	env := newEnv(t, withStub(stub))

	pm := env.post("user_alice", "payment-methods/list", `{}`)
	assert.JSONEq(t, `{"paymentMethods": [], "billingPortalUrl": null}`, jsonOf(t, pm.data(t)))

	cd := env.post("user_alice", "customerDetails", `{}`)
	assert.JSONEq(t, `{"customer": {"id": "cus_min", "livemode": true, "email": "min@example.com", "name": null, "externalId": null,
		"createdAt": "2023-11-14T22:13:20.123Z", "updatedAt": "2024-02-03T04:05:06.789Z"}}`, jsonOf(t, cd.data(t)))

	fa := env.post("user_alice", "features/access", `{}`)
	assert.JSONEq(t, `{"features": [{"id": "f1", "livemode": true, "slug": "top", "name": "Top-level"}]}`, jsonOf(t, fa.data(t)),
		"top-level featureItems win over experimental.featureItems; toggles only; first of each slug")

	inv := env.post("user_alice", "invoices/list", `{"limit": 5}`)
	assert.JSONEq(t, `{"invoices": []}`, jsonOf(t, inv.data(t)))
	pu := env.post("user_alice", "purchases/list", `{"startingAfter": "x"}`)
	assert.JSONEq(t, `{"purchases": []}`, jsonOf(t, pu.data(t)))
	assert.Equal(t, repeat(aliceBilling, 5), stub.takeCalls())
}

func TestPaymentMethodsList(t *testing.T) {
	t.Parallel()
	cases := []actionCase{
		{
			name: "card and portal", body: `{}`, calls: []string{aliceBilling},
			check: func(t *testing.T, env *testEnv, res *response) {
				d := res.data(t)
				assert.Equal(t, []string{"billingPortalUrl", "paymentMethods"}, keysOf(d))
				list, _ := d["paymentMethods"].([]any)
				require.Len(t, list, 1)
				assert.Equal(t, "card", list[0].(map[string]any)["type"])
				assert.Equal(t, env.fake.URL+"/billing-portal/cus_alice", d["billingPortalUrl"])
			},
			golden: "payment-methods/list/alice",
		},
		{
			name: "no payment method", user: "user_bob", body: `{}`, calls: []string{bobBilling},
			check: func(t *testing.T, _ *testEnv, res *response) {
				assert.Equal(t, []any{}, res.data(t)["paymentMethods"])
			},
		},
		{name: "no body", noBody: true, calls: []string{aliceBilling}},
		{name: "signed out", user: "-", body: `{}`, status: http.StatusUnauthorized, code: "unauthenticated"},
		{
			name: "Flowglad down", body: `{}`,
			setup:  failNext(3, flowgladapitest.Fault{Status: 502}),
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			calls: []string{aliceBilling, aliceBilling, aliceBilling},
		},
		{name: "unknown field golden", body: `{"limit": 1}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"limit"},
			golden: "payment-methods/list/unknown-field"},
	}
	cases = append(cases, strictCases()...)
	runActionCases(t, "payment-methods/list", cases)
}

func TestCustomerDetails(t *testing.T) {
	t.Parallel()
	cases := []actionCase{
		{
			name: "ISO-8601 times with milliseconds", body: `{}`, calls: []string{aliceBilling},
			check: func(t *testing.T, _ *testEnv, res *response) {
				assert.JSONEq(t, `{"customer": {"id": "cus_alice", "livemode": false, "email": "alice@example.com", "name": "Alice Example",
					"externalId": "user_alice", "createdAt": "2026-01-15T12:00:00.000Z", "updatedAt": "2026-01-15T12:00:00.000Z"}}`, jsonOf(t, res.data(t)))
			},
			golden: "customerDetails/alice",
		},
		{name: "no body", noBody: true, calls: []string{aliceBilling}},
		{
			name: "first visit", user: "user_carol", body: `{}`,
			calls: []string{carolBilling, "POST /api/v1/customers", carolBilling},
			check: func(t *testing.T, _ *testEnv, res *response) {
				c, _ := res.data(t)["customer"].(map[string]any)
				assert.Equal(t, "user_carol", c["externalId"])
				assert.Equal(t, "2026-01-15T12:00:00.000Z", c["createdAt"])
			},
		},
		{name: "signed out", user: "-", body: `{}`, status: http.StatusUnauthorized, code: "unauthenticated"},
		{name: "unknown field golden", body: `{"id": "cus_bob"}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"id"},
			golden: "customerDetails/unknown-field"},
	}
	cases = append(cases, strictCases()...)
	runActionCases(t, "customerDetails", cases)
}

// threePurchases gives Alice two more purchases: pur_alice_credits, pur_b, pur_c in order.
func threePurchases(t *testing.T, env *testEnv) map[string]string {
	t.Helper()
	for _, id := range []string{"pur_b", "pur_c"} {
		_, err := env.fake.AddPurchase(flowgladapitest.DemoCustomerAlice, flowgladapitest.Purchase{ID: id, PriceSlug: flowgladapitest.DemoPriceCredits})
		require.NoError(t, err)
	}
	return nil
}

// listIDs returns the ids of a list in data: list[i][inner].id, or list[i].id when inner is
// empty.
func listIDs(t *testing.T, res *response, list, inner string) []string {
	t.Helper()
	items, ok := res.data(t)[list].([]any)
	require.True(t, ok, "%s is not a list: %s", list, res.Body)
	out := []string{}
	for _, it := range items {
		m := it.(map[string]any)
		if inner != "" {
			m = m[inner].(map[string]any)
		}
		out = append(out, m["id"].(string))
	}
	return out
}

func pageCases(list, inner string, all []string, setup func(*testing.T, *testEnv) map[string]string) []actionCase {
	ids := func(want ...string) func(*testing.T, *testEnv, *response) {
		return func(t *testing.T, _ *testEnv, res *response) {
			t.Helper()
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, listIDs(t, res, list, inner))
		}
	}
	invalid := func(name, body string, issues ...string) actionCase {
		return actionCase{name: name, body: body, setup: setup, status: http.StatusBadRequest, code: "invalid_body", issues: issues}
	}
	ok := func(name, body string, want ...string) actionCase {
		return actionCase{name: name, body: body, setup: setup, calls: []string{aliceBilling}, check: ids(want...)}
	}
	return []actionCase{
		ok("all", `{}`, all...),
		ok("limit", `{"limit": 2}`, all[:2]...),
		ok("limit as an integral float", `{"limit": 2.0}`, all[:2]...),
		ok("limit above the count", `{"limit": 99}`, all...),
		ok("limit 0", `{"limit": 0}`),
		ok("huge limit", `{"limit": 9007199254740991}`, all...),
		ok("after the first", `{"startingAfter": "`+all[0]+`"}`, all[1:]...),
		ok("after the first, limit 1", `{"startingAfter": "`+all[0]+`", "limit": 1}`, all[1]),
		ok("after the last", `{"startingAfter": "`+all[len(all)-1]+`"}`),
		ok("unknown cursor: from the start", `{"startingAfter": "nope"}`, all...),
		ok("empty cursor: from the start", `{"startingAfter": ""}`, all...),
		invalid("negative limit", `{"limit": -1}`, "limit"),
		invalid("fractional limit", `{"limit": 1.5}`, "limit"),
		invalid("limit as a string", `{"limit": "2"}`, "limit"),
		invalid("null limit", `{"limit": null}`, "limit"),
		invalid("cursor not a string", `{"startingAfter": 4}`, "startingAfter"),
		invalid("unknown field", `{"limit": 1, "page": 2}`, "page"),
		invalid("several problems at once", `{"limit": -2, "startingAfter": [], "cursor": "x"}`, "cursor", "limit", "startingAfter"),
		{name: "signed out", user: "-", body: `{}`, status: http.StatusUnauthorized, code: "unauthenticated"},
		{name: "invalid JSON", body: `{"limit": }`, status: http.StatusBadRequest, code: "invalid_json"},
		{
			name: "first visit: nothing yet", user: "user_carol", body: `{}`,
			calls: []string{carolBilling, "POST /api/v1/customers", carolBilling},
			check: func(t *testing.T, _ *testEnv, res *response) { assert.Empty(t, listIDs(t, res, list, inner)) },
		},
	}
}

func TestInvoicesList(t *testing.T) {
	t.Parallel()
	cases := pageCases("invoices", "invoice", []string{"inv_1", "inv_2"}, nil)
	cases = append(cases,
		actionCase{
			name: "items are {invoice, invoiceLineItems}", body: `{"limit": 1}`, calls: []string{aliceBilling},
			check: func(t *testing.T, _ *testEnv, res *response) {
				list, _ := res.data(t)["invoices"].([]any)
				require.Len(t, list, 1)
				assert.Equal(t, []string{"invoice", "invoiceLineItems"}, keysOf(list[0].(map[string]any)))
			},
			golden: "invoices/list/limit-1",
		},
		actionCase{name: "negative limit golden", body: `{"limit": -1}`, status: http.StatusBadRequest, code: "invalid_body",
			issues: []string{"limit"}, golden: "invoices/list/negative-limit"},
	)
	runActionCases(t, "invoices/list", cases)
}

func TestPurchasesList(t *testing.T) {
	t.Parallel()
	cases := pageCases("purchases", "", []string{"pur_alice_credits", "pur_b", "pur_c"}, threePurchases)
	cases = append(cases,
		actionCase{name: "the seed's purchase", body: `{}`, calls: []string{aliceBilling}, golden: "purchases/list/alice",
			check: func(t *testing.T, _ *testEnv, res *response) {
				assert.Equal(t, []string{"pur_alice_credits"}, listIDs(t, res, "purchases", ""))
			}},
		actionCase{name: "unknown field golden", body: `{"limit": 1, "offset": 1}`, status: http.StatusBadRequest, code: "invalid_body",
			issues: []string{"offset"}, golden: "purchases/list/unknown-field"},
	)
	runActionCases(t, "purchases/list", cases)
}

// TestReadKeysCostOneCall: every billing-based read costs exactly one call for an
// existing customer (CONTRACT §5 "2 → 1").
func TestReadKeysCostOneCall(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	for _, key := range []string{"customers/billing", "pricing-models/retrieve", "features/access", "payment-methods/list",
		"customerDetails", "invoices/list", "purchases/list", "subscriptions/list"} {
		env.post("user_alice", key, `{}`).data(t)
		assert.Equal(t, []string{aliceBilling}, env.calls(), key)
	}
	env.post("user_alice", "usage-meters/balances", `{}`).data(t)
	assert.Equal(t, []string{aliceBalances}, env.calls())
	assert.False(t, strings.Contains(env.logs.String(), `"level":"ERROR"`))
}

// TestCustomerDetailsTimeForms: epoch milliseconds (integers, or integral floats) become
// ISO-8601 with milliseconds, strings pass through, and null or absent times are null.
func TestCustomerDetailsTimeForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, times, want string
	}{
		{"epoch ms", `"createdAt": 1700000000123, "updatedAt": 0`, `"createdAt": "2023-11-14T22:13:20.123Z", "updatedAt": "1970-01-01T00:00:00.000Z"`},
		{"integral float", `"createdAt": 1.7e12, "updatedAt": 1700000000000.0`, `"createdAt": "2023-11-14T22:13:20.000Z", "updatedAt": "2023-11-14T22:13:20.000Z"`},
		{"strings, normalised; unreadable is null", `"createdAt": "2024-01-01T00:00:00Z", "updatedAt": ""`, `"createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": null`},
		{"null and absent", `"createdAt": null`, `"createdAt": null, "updatedAt": null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"customer": {"id": "cus_1", "livemode": false, "email": "x@example.com", "name": "X", "externalId": "user_alice", ` + tc.times + `}}`))
			})
			env := newEnv(t, withStub(stub))
			res := env.post("user_alice", "customerDetails", `{}`)
			assert.JSONEq(t, `{"customer": {"id": "cus_1", "livemode": false, "email": "x@example.com", "name": "X", "externalId": "user_alice", `+tc.want+`}}`,
				jsonOf(t, res.data(t)))
		})
	}
}
