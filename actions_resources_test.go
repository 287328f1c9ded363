package flowglad_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flowglad calls of Alice's resource actions.
const (
	aliceUsages    = "GET /api/v1/resource-claims/sub_alice_pro/usages"
	aliceUsage     = "GET /api/v1/resource-claims/sub_alice_pro/usage"
	aliceClaim     = "POST /api/v1/resource-claims/sub_alice_pro/claim"
	aliceRelease   = "POST /api/v1/resource-claims/sub_alice_pro/release"
	aliceClaims    = "GET /api/v1/resource-claims/sub_alice_pro/claims"
	bobSubLookup   = "GET /api/v1/subscriptions/sub_bob_free"
	unknownSub     = "sub_does_not_exist"
	unknownSubCall = "GET /api/v1/subscriptions/" + unknownSub
)

// noCurrentSubscription cancels Alice's only subscription.
func noCurrentSubscription(t *testing.T, env *testEnv) map[string]string {
	t.Helper()
	require.NoError(t, env.fake.SetSubscriptionStatus(flowgladapitest.DemoAliceSubscriptionID, flowgladapitest.StatusCanceled))
	return nil
}

// secondSubscription gives Alice a second current subscription, sub_alice_team.
func secondSubscription(t *testing.T, env *testEnv) map[string]string {
	t.Helper()
	_, err := env.fake.AddSubscription(flowgladapitest.DemoCustomerAlice, flowgladapitest.Subscription{
		ID:    "sub_alice_team",
		Items: []flowgladapitest.SubscriptionItem{{PriceSlug: flowgladapitest.DemoPriceTeamMonthly}},
	})
	require.NoError(t, err)
	return nil
}

// subscriptionCases are the resolution and ownership cases every resource key shares: body
// is a valid body without subscriptionId, ending in "}", and next is the call after billing
// for Alice's subscription.
func subscriptionCases(body, next string) []actionCase {
	withSub := func(id string) string {
		if strings.TrimSpace(body) == "{}" {
			return `{"subscriptionId": "` + id + `"}`
		}
		return strings.TrimSuffix(strings.TrimSpace(body), "}") + `, "subscriptionId": "` + id + `"}`
	}
	return []actionCase{
		{name: "auto-resolved subscription", body: body, calls: []string{aliceBilling, next}},
		{name: "explicit own subscription", body: withSub("sub_alice_pro"), calls: []string{aliceBilling, next}},
		{
			name: "another customer's subscription", body: withSub("sub_bob_free"),
			status: http.StatusForbidden, code: "forbidden",
			calls: []string{aliceBilling, bobSubLookup},
		},
		{
			name: "unknown subscription", body: withSub(unknownSub),
			status: http.StatusForbidden, code: "forbidden",
			calls: []string{aliceBilling, unknownSubCall},
		},
		{
			name: "no current subscription", body: body, setup: noCurrentSubscription,
			status: http.StatusBadRequest, code: "no_active_subscription",
			calls: []string{aliceBilling},
		},
		{
			name: "several current subscriptions", body: body, setup: secondSubscription,
			status: http.StatusBadRequest, code: "subscription_id_required",
			calls: []string{aliceBilling},
		},
		{
			name: "several current subscriptions, one chosen", body: withSub("sub_alice_team"), setup: secondSubscription,
			calls: []string{aliceBilling, strings.Replace(next, "sub_alice_pro", "sub_alice_team", 1)},
		},
		{
			name: "empty subscriptionId", body: withSub(""),
			status: http.StatusBadRequest, code: "invalid_body", issues: []string{"subscriptionId"},
		},
		{
			name: "subscriptionId not a string", body: strings.Replace(withSub("x"), `"x"`, `42`, 1),
			status: http.StatusBadRequest, code: "invalid_body", issues: []string{"subscriptionId"},
		},
		{
			name: "subscriptionId null", body: strings.Replace(withSub("x"), `"x"`, `null`, 1),
			status: http.StatusBadRequest, code: "invalid_body", issues: []string{"subscriptionId"},
		},
		{name: "invalid JSON", body: `{"subscriptionId": `, status: http.StatusBadRequest, code: "invalid_json"},
		{name: "signed out", user: "-", body: body, status: http.StatusUnauthorized, code: "unauthenticated"},
	}
}

// TestForbiddenIsTheSameForForeignAndUnknownIDs: ids cannot be probed.
func TestForbiddenIsTheSameForForeignAndUnknownIDs(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"resources/usages", "resources/claims", "resources/usages/retrieve", "resources/claim", "resources/release"} {
		t.Run(key, func(t *testing.T) {
			env := newEnv(t)
			base := map[string]string{
				"resources/usages":          `{"subscriptionId": "%s"}`,
				"resources/claims":          `{"subscriptionId": "%s"}`,
				"resources/usages/retrieve": `{"subscriptionId": "%s", "resourceSlug": "seats"}`,
				"resources/claim":           `{"subscriptionId": "%s", "resourceSlug": "seats", "quantity": 1}`,
				"resources/release":         `{"subscriptionId": "%s", "resourceSlug": "seats", "quantity": 1}`,
			}[key]
			foreign := env.post("user_alice", key, strings.Replace(base, "%s", "sub_bob_free", 1))
			unknown := env.post("user_alice", key, strings.Replace(base, "%s", "sub_zzzzzzzzzzzz", 1))
			foreign.assertError(t, http.StatusForbidden, "forbidden")
			assert.Equal(t, strings.ReplaceAll(string(foreign.Body), "sub_bob_free", "sub_zzzzzzzzzzzz"), string(unknown.Body))
			_, ok := env.fake.Subscription("sub_bob_free")
			assert.True(t, ok, "the foreign subscription exists")
			assert.Empty(t, env.fake.Claims("sub_bob_free"), "nothing was claimed on it")
		})
	}
}

func TestResourcesUsages(t *testing.T) {
	t.Parallel()
	seatsOnly := func(t *testing.T, _ *testEnv, res *response) {
		t.Helper()
		assert.JSONEq(t, `{"resources": [{"resourceSlug": "seats", "resourceId": "res_1", "capacity": 5, "claimed": 0, "available": 5}]}`,
			jsonOf(t, res.data(t)))
	}
	cases := []actionCase{
		{
			name: "no body at all (as the React SDK sends)", noBody: true,
			calls: []string{aliceBilling, aliceUsages}, check: seatsOnly, golden: "resources/usages/alice",
		},
		{name: "empty object", body: `{}`, calls: []string{aliceBilling, aliceUsages}, check: seatsOnly},
		{name: "unknown fields are ignored", body: `{"junk": [1, 2], "resourceSlug": 3}`, calls: []string{aliceBilling, aliceUsages}, check: seatsOnly},
		{
			name: "after claims", body: `{}`,
			setup: func(t *testing.T, env *testEnv) map[string]string {
				mustPost(t, env, "user_alice", "resources/claim", `{"resourceSlug": "seats", "quantity": 2}`)
				return nil
			},
			calls: []string{aliceBilling, aliceUsages},
			check: func(t *testing.T, _ *testEnv, res *response) {
				assert.JSONEq(t, `{"resources": [{"resourceSlug": "seats", "resourceId": "res_1", "capacity": 5, "claimed": 2, "available": 3}]}`,
					jsonOf(t, res.data(t)))
			},
		},
		{
			name: "a plan without resources", user: "user_bob", body: `{}`,
			calls: []string{bobBilling, "GET /api/v1/resource-claims/sub_bob_free/usages"},
			check: func(t *testing.T, _ *testEnv, res *response) {
				assert.JSONEq(t, `{"resources": []}`, jsonOf(t, res.data(t)))
			},
		},
		{
			name: "another customer's subscription golden", body: `{"subscriptionId": "sub_bob_free"}`,
			status: http.StatusForbidden, code: "forbidden", calls: []string{aliceBilling, bobSubLookup},
			golden: "resources/usages/forbidden",
		},
		{
			name: "no current subscription golden", noBody: true, setup: noCurrentSubscription,
			status: http.StatusBadRequest, code: "no_active_subscription", calls: []string{aliceBilling},
			golden: "resources/usages/no-active-subscription",
		},
		{
			name: "several current subscriptions golden", noBody: true, setup: secondSubscription,
			status: http.StatusBadRequest, code: "subscription_id_required", calls: []string{aliceBilling},
			golden: "resources/usages/subscription-id-required",
		},
	}
	cases = append(cases, subscriptionCases(`{}`, aliceUsages)...)
	runActionCases(t, "resources/usages", cases)
}

func TestResourcesUsagesFirstVisitCalls(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.do(request{user: "user_carol", key: "resources/usages", noBody: true})
	res.data(t)
	c, ok := env.fake.Customer("user_carol")
	require.True(t, ok)
	require.Len(t, c.Subscriptions, 1, "Flowglad subscribes a new customer to the free plan")
	sub := c.Subscriptions[0].ID
	body := env.lastBody("POST", "/api/v1/customers")
	assert.Equal(t, map[string]any{"customer": map[string]any{"externalId": "user_carol", "email": "carol@example.com", "name": "Carol Example"}}, body)
	assert.Equal(t, []string{carolBilling, "POST /api/v1/customers", carolBilling,
		"GET /api/v1/resource-claims/" + sub + "/usages"}, env.calls())

	env.do(request{user: "user_carol", key: "resources/usages", noBody: true}).data(t)
	assert.Equal(t, []string{carolBilling, "GET /api/v1/resource-claims/" + sub + "/usages"}, env.calls(), "steady state: 2 calls")
}

func TestResourcesUsageRetrieve(t *testing.T) {
	t.Parallel()
	invalid := func(name, body string, issues ...string) actionCase {
		return actionCase{name: name, body: body, status: http.StatusBadRequest, code: "invalid_body", issues: issues}
	}
	cases := []actionCase{
		{
			name: "by slug", body: `{"resourceSlug": "seats"}`,
			calls: []string{aliceBilling, aliceUsage + "?resourceSlug=seats"},
			check: func(t *testing.T, _ *testEnv, res *response) {
				d := res.data(t)
				assert.ElementsMatch(t, []string{"usage", "claims"}, keysOf(d))
				assert.JSONEq(t, `{"resourceSlug": "seats", "resourceId": "res_1", "capacity": 5, "claimed": 0, "available": 5}`, jsonOf(t, d["usage"]))
				assert.Equal(t, []any{}, d["claims"])
			},
			golden: "resources/usages/retrieve/by-slug",
		},
		{name: "by id", body: `{"resourceId": "res_1"}`, calls: []string{aliceBilling, aliceUsage + "?resourceId=res_1"}},
		{
			name: "slug is escaped in the query", body: `{"resourceSlug": "a b&c=d"}`,
			status: http.StatusNotFound, code: "not_found",
			calls: []string{aliceBilling, aliceUsage + "?resourceSlug=a+b%26c%3Dd"},
		},
		{
			name: "unknown resource", body: `{"resourceSlug": "rockets"}`,
			status: http.StatusNotFound, code: "not_found",
			calls:  []string{aliceBilling, aliceUsage + "?resourceSlug=rockets"},
			golden: "resources/usages/retrieve/unknown-resource",
		},
		invalid("neither slug nor id", `{}`, "resourceSlug|resourceId"),
		invalid("no body at all", ``, "resourceSlug|resourceId"),
		invalid("both slug and id", `{"resourceSlug": "seats", "resourceId": "res_1"}`, "resourceSlug|resourceId"),
		invalid("a null counts as present", `{"resourceSlug": "seats", "resourceId": null}`, "resourceSlug|resourceId"),
		invalid("null slug", `{"resourceSlug": null}`, "resourceSlug"),
		invalid("empty slug", `{"resourceSlug": ""}`, "resourceSlug"),
		invalid("blank id", `{"resourceId": "  "}`, "resourceId"),
		invalid("slug not a string", `{"resourceSlug": ["seats"]}`, "resourceSlug"),
		invalid("several problems at once", `{"resourceSlug": 1, "subscriptionId": ""}`, "resourceSlug", "subscriptionId"),
	}
	cases = append(cases, subscriptionCases(`{"resourceSlug": "seats"}`, aliceUsage+"?resourceSlug=seats")...)
	runActionCases(t, "resources/usages/retrieve", cases)
}

func TestResourcesClaim(t *testing.T) {
	t.Parallel()
	invalid := func(name, body string, issues ...string) actionCase {
		return actionCase{name: name, body: body, status: http.StatusBadRequest, code: "invalid_body", issues: issues}
	}
	sent := func(want string) func(*testing.T, *testEnv, *response) {
		return func(t *testing.T, env *testEnv, _ *response) {
			t.Helper()
			assert.JSONEq(t, want, jsonOf(t, env.lastBody("POST", "/api/v1/resource-claims/sub_alice_pro/claim")))
		}
	}
	long := strings.Repeat("x", 501)
	cases := []actionCase{
		{
			name: "quantity", body: `{"resourceSlug": "seats", "quantity": 2}`,
			calls: []string{aliceBilling, aliceClaim},
			check: func(t *testing.T, env *testEnv, res *response) {
				sent(`{"resourceSlug": "seats", "quantity": 2}`)(t, env, res)
				d := res.data(t)
				assert.Len(t, d["claims"], 2)
				assert.JSONEq(t, `{"resourceSlug": "seats", "resourceId": "res_1", "capacity": 5, "claimed": 2, "available": 3}`, jsonOf(t, d["usage"]))
				assert.Len(t, env.fake.Claims("sub_alice_pro"), 2)
			},
			golden: "resources/claim/quantity",
		},
		{
			name: "externalId with metadata", body: `{"resourceSlug": "seats", "externalId": "seat-1", "metadata": {"role": "admin", "n": 1.5, "ok": true, "note": "` + strings.Repeat("é", 500) + `"}}`,
			calls: []string{aliceBilling, aliceClaim},
			check: func(t *testing.T, env *testEnv, res *response) {
				sent(`{"resourceSlug": "seats", "externalId": "seat-1", "metadata": {"role": "admin", "n": 1.5, "ok": true, "note": "`+strings.Repeat("é", 500)+`"}}`)(t, env, res)
				claims := env.fake.Claims("sub_alice_pro")
				require.Len(t, claims, 1)
				assert.Equal(t, "seat-1", claims[0].ExternalID)
			},
		},
		{
			name: "externalIds", body: `{"resourceSlug": "seats", "externalIds": ["a", "b"]}`,
			calls: []string{aliceBilling, aliceClaim},
			check: sent(`{"resourceSlug": "seats", "externalIds": ["a", "b"]}`),
		},
		{
			name: "externalId of 255 characters", body: `{"resourceSlug": "seats", "externalId": "` + strings.Repeat("y", 255) + `"}`,
			calls: []string{aliceBilling, aliceClaim},
		},
		{
			name: "over capacity: Flowglad refuses, not retried", body: `{"resourceSlug": "seats", "quantity": 6}`,
			status: http.StatusBadRequest, code: "flowglad_rejected",
			calls: []string{aliceBilling, aliceClaim},
			check: func(t *testing.T, _ *testEnv, res *response) {
				j := res.assertError(t, http.StatusBadRequest, "flowglad_rejected")
				assert.Equal(t, "BAD_REQUEST", j["flowgladCode"])
				assert.Contains(t, j["message"], "Cannot claim 6 seats")
			},
			golden: "resources/claim/over-capacity",
		},
		{
			name: "a 500 on the claim is not retried", body: `{"resourceSlug": "seats", "quantity": 1}`,
			setup:  failNext(1, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/resource-claims/sub_alice_pro/claim", Status: 500}),
			status: http.StatusBadGateway, code: "flowglad_unavailable",
			calls: []string{aliceBilling, aliceClaim},
		},
		invalid("missing resourceSlug", `{"quantity": 1}`, "resourceSlug"),
		invalid("empty resourceSlug", `{"resourceSlug": "", "quantity": 1}`, "resourceSlug"),
		invalid("no mode", `{"resourceSlug": "seats"}`, "quantity|externalId|externalIds"),
		invalid("no body at all", ``, "quantity|externalId|externalIds", "resourceSlug"),
		invalid("two modes", `{"resourceSlug": "seats", "quantity": 1, "externalId": "a"}`, "quantity|externalId"),
		invalid("three modes", `{"resourceSlug": "seats", "quantity": 1, "externalId": "a", "externalIds": ["b"]}`, "quantity|externalId|externalIds"),
		invalid("a null mode counts as present", `{"resourceSlug": "seats", "quantity": 1, "externalIds": null}`, "quantity|externalIds"),
		invalid("quantity 0", `{"resourceSlug": "seats", "quantity": 0}`, "quantity"),
		invalid("negative quantity", `{"resourceSlug": "seats", "quantity": -1}`, "quantity"),
		invalid("fractional quantity", `{"resourceSlug": "seats", "quantity": 1.5}`, "quantity"),
		invalid("quantity as a string", `{"resourceSlug": "seats", "quantity": "2"}`, "quantity"),
		invalid("null quantity", `{"resourceSlug": "seats", "quantity": null}`, "quantity"),
		invalid("empty externalId", `{"resourceSlug": "seats", "externalId": ""}`, "externalId"),
		invalid("externalId of 256 characters", `{"resourceSlug": "seats", "externalId": "`+strings.Repeat("y", 256)+`"}`, "externalId"),
		invalid("empty externalIds", `{"resourceSlug": "seats", "externalIds": []}`, "externalIds"),
		invalid("externalIds not strings", `{"resourceSlug": "seats", "externalIds": [1, "a", null]}`, "externalIds[0]", "externalIds[2]"),
		invalid("an empty externalId in the list", `{"resourceSlug": "seats", "externalIds": ["a", ""]}`, "externalIds[1]"),
		invalid("a long externalId in the list", `{"resourceSlug": "seats", "externalIds": ["`+strings.Repeat("z", 256)+`"]}`, "externalIds[0]"),
		invalid("externalIds not an array", `{"resourceSlug": "seats", "externalIds": "a"}`, "externalIds"),
		invalid("metadata string over 500 characters", `{"resourceSlug": "seats", "quantity": 1, "metadata": {"note": "`+long+`"}}`, "metadata.note"),
		invalid("metadata nested object", `{"resourceSlug": "seats", "quantity": 1, "metadata": {"nested": {"a": 1}}}`, "metadata.nested"),
		invalid("metadata array value", `{"resourceSlug": "seats", "quantity": 1, "metadata": {"list": [1]}}`, "metadata.list"),
		invalid("metadata null value", `{"resourceSlug": "seats", "quantity": 1, "metadata": {"x": null}}`, "metadata.x"),
		invalid("metadata number out of range", `{"resourceSlug": "seats", "quantity": 1, "metadata": {"n": 1e400}}`, "metadata.n"),
		invalid("metadata not an object", `{"resourceSlug": "seats", "quantity": 1, "metadata": "x"}`, "metadata"),
		invalid("several problems at once", `{"quantity": 0, "metadata": {"a": {}, "b": "`+long+`"}, "subscriptionId": ""}`,
			"metadata.a", "metadata.b", "quantity", "resourceSlug", "subscriptionId"),
	}
	cases = append(cases, subscriptionCases(`{"resourceSlug": "seats", "quantity": 1}`, aliceClaim)...)
	runActionCases(t, "resources/claim", cases)
}

func TestResourcesClaimGoldenInvalid(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.post("user_alice", "resources/claim", `{"quantity": 0, "externalId": "a", "metadata": {"a": {}}}`)
	assert.Empty(t, env.calls())
	assertGolden(t, "resources/claim/invalid-body", res)
}

func TestResourcesRelease(t *testing.T) {
	t.Parallel()
	invalid := func(name, body string, issues ...string) actionCase {
		return actionCase{name: name, body: body, status: http.StatusBadRequest, code: "invalid_body", issues: issues}
	}
	// claimSome claims two anonymous seats and seat "s-1", and returns the first claim's id
	// as {claimId}.
	claimSome := func(t *testing.T, env *testEnv) map[string]string {
		t.Helper()
		d := mustPost(t, env, "user_alice", "resources/claim", `{"resourceSlug": "seats", "quantity": 2}`)
		mustPost(t, env, "user_alice", "resources/claim", `{"resourceSlug": "seats", "externalId": "s-1"}`)
		claims, _ := d["claims"].([]any)
		require.Len(t, claims, 2)
		id, _ := claims[0].(map[string]any)["id"].(string)
		require.NotEmpty(t, id)
		return map[string]string{"{claimId}": id}
	}
	remaining := func(n int) func(*testing.T, *testEnv, *response) {
		return func(t *testing.T, env *testEnv, res *response) {
			t.Helper()
			assert.Len(t, env.fake.Claims("sub_alice_pro"), n)
			d := res.data(t)
			assert.ElementsMatch(t, []string{"releasedClaims", "usage"}, keysOf(d))
		}
	}
	cases := []actionCase{
		{
			name: "quantity", body: `{"resourceSlug": "seats", "quantity": 1}`, setup: claimSome,
			calls: []string{aliceBilling, aliceRelease},
			check: func(t *testing.T, env *testEnv, res *response) {
				remaining(2)(t, env, res)
				assert.JSONEq(t, `{"resourceSlug": "seats", "quantity": 1}`, jsonOf(t, env.lastBody("POST", "/api/v1/resource-claims/sub_alice_pro/release")))
				d := res.data(t)
				assert.Len(t, d["releasedClaims"], 1)
			},
			golden: "resources/release/quantity",
		},
		{name: "externalId", body: `{"resourceSlug": "seats", "externalId": "s-1"}`, setup: claimSome, calls: []string{aliceBilling, aliceRelease}, check: remaining(2)},
		{name: "externalIds", body: `{"resourceSlug": "seats", "externalIds": ["s-1"]}`, setup: claimSome, calls: []string{aliceBilling, aliceRelease}, check: remaining(2)},
		{
			name: "claimIds", body: `{"resourceSlug": "seats", "claimIds": ["{claimId}"]}`, setup: claimSome,
			calls: []string{aliceBilling, aliceRelease},
			check: func(t *testing.T, env *testEnv, res *response) {
				remaining(2)(t, env, res)
				sentBody := env.lastBody("POST", "/api/v1/resource-claims/sub_alice_pro/release")
				assert.Equal(t, []string{"claimIds", "resourceSlug"}, keysOf(sentBody))
			},
		},
		{
			name: "unknown externalId", body: `{"resourceSlug": "seats", "externalId": "nobody"}`, setup: claimSome,
			status: http.StatusNotFound, code: "not_found", calls: []string{aliceBilling, aliceRelease},
			golden: "resources/release/unknown-claim",
		},
		{
			name: "more than claimed", body: `{"resourceSlug": "seats", "quantity": 3}`, setup: claimSome,
			status: http.StatusBadRequest, code: "flowglad_rejected", calls: []string{aliceBilling, aliceRelease},
		},
		{
			name: "metadata is not a release field (ignored)", body: `{"resourceSlug": "seats", "quantity": 1, "metadata": {"a": {}}}`, setup: claimSome,
			calls: []string{aliceBilling, aliceRelease},
			check: func(t *testing.T, env *testEnv, _ *response) {
				assert.NotContains(t, env.lastBody("POST", "/api/v1/resource-claims/sub_alice_pro/release"), "metadata")
			},
		},
		invalid("missing resourceSlug", `{"quantity": 1}`, "resourceSlug"),
		invalid("no mode", `{"resourceSlug": "seats"}`, "quantity|externalId|externalIds|claimIds"),
		invalid("two modes", `{"resourceSlug": "seats", "externalId": "a", "claimIds": ["c"]}`, "externalId|claimIds"),
		invalid("all modes", `{"resourceSlug": "seats", "quantity": 1, "externalId": "a", "externalIds": ["b"], "claimIds": ["c"]}`, "quantity|externalId|externalIds|claimIds"),
		invalid("empty claimIds", `{"resourceSlug": "seats", "claimIds": []}`, "claimIds"),
		invalid("claimIds not strings", `{"resourceSlug": "seats", "claimIds": [7]}`, "claimIds[0]"),
		invalid("quantity 0", `{"resourceSlug": "seats", "quantity": 0}`, "quantity"),
		invalid("empty externalIds item", `{"resourceSlug": "seats", "externalIds": [""]}`, "externalIds[0]"),
		invalid("long externalId", `{"resourceSlug": "seats", "externalId": "`+strings.Repeat("q", 256)+`"}`, "externalId"),
		invalid("several problems at once", `{"resourceSlug": 5, "claimIds": [], "subscriptionId": 1}`, "claimIds", "resourceSlug", "subscriptionId"),
	}
	// The resolution cases need something to release: their successes claim first, on the
	// subscription the release names.
	subCases := subscriptionCases(`{"resourceSlug": "seats", "quantity": 1}`, aliceRelease)
	for i := range subCases {
		tc := &subCases[i]
		if tc.status != 0 {
			continue
		}
		prev, body := tc.setup, tc.body
		tc.setup = func(t *testing.T, env *testEnv) map[string]string {
			t.Helper()
			if prev != nil {
				prev(t, env)
			}
			mustPost(t, env, "user_alice", "resources/claim", strings.Replace(body, `"quantity": 1`, `"quantity": 2`, 1))
			return nil
		}
	}
	cases = append(cases, subCases...)
	runActionCases(t, "resources/release", cases)
}

func TestResourcesClaims(t *testing.T) {
	t.Parallel()
	claimTwo := func(t *testing.T, env *testEnv) map[string]string {
		t.Helper()
		mustPost(t, env, "user_alice", "resources/claim", `{"resourceSlug": "seats", "externalIds": ["a", "b"]}`)
		return nil
	}
	cases := []actionCase{
		{
			name: "by slug (as useResource sends)", body: `{"resourceSlug": "seats"}`, setup: claimTwo,
			calls: []string{aliceBilling, aliceClaims + "?resourceSlug=seats"},
			check: func(t *testing.T, _ *testEnv, res *response) {
				d := res.data(t)
				assert.Equal(t, []string{"claims"}, keysOf(d))
				assert.Len(t, d["claims"], 2)
			},
			golden: "resources/claims/by-slug",
		},
		{
			name: "all resources", body: `{}`, setup: claimTwo,
			calls: []string{aliceBilling, aliceClaims},
			check: func(t *testing.T, _ *testEnv, res *response) { assert.Len(t, res.data(t)["claims"], 2) },
		},
		{
			name: "none claimed", noBody: true, calls: []string{aliceBilling, aliceClaims},
			check: func(t *testing.T, _ *testEnv, res *response) { assert.Equal(t, []any{}, res.data(t)["claims"]) },
		},
		{
			name: "unknown resource", body: `{"resourceSlug": "rockets"}`,
			status: http.StatusNotFound, code: "not_found", calls: []string{aliceBilling, aliceClaims + "?resourceSlug=rockets"},
			golden: "resources/claims/unknown-resource",
		},
		{name: "empty slug", body: `{"resourceSlug": ""}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"resourceSlug"},
			golden: "resources/claims/invalid-body"},
		{name: "slug not a string", body: `{"resourceSlug": {}}`, status: http.StatusBadRequest, code: "invalid_body", issues: []string{"resourceSlug"}},
		{name: "unknown fields are ignored", body: `{"resourceSlug": "seats", "limit": 3}`, calls: []string{aliceBilling, aliceClaims + "?resourceSlug=seats"}},
	}
	cases = append(cases, subscriptionCases(`{"resourceSlug": "seats"}`, aliceClaims+"?resourceSlug=seats")...)
	runActionCases(t, "resources/claims", cases)
}

// keysOf returns a JSON object's keys, sorted.
func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
