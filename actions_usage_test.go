package flowglad_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	usagePost = "POST /api/v1/usage-events"
	// aliceCredits is the api-calls balance of Alice's Pro subscription in the demo seed.
	aliceCredits = 1000
)

// demoMeterID returns the id the fake gave the api-calls usage meter.
func demoMeterID(t *testing.T, env *testEnv) string {
	t.Helper()
	b, err := env.h.Client().GetBilling(context.Background(), userAlice)
	require.NoError(t, err)
	env.fake.ResetRequests()
	var pm struct {
		UsageMeters []struct{ ID, Slug string } `json:"usageMeters"`
	}
	require.NoError(t, json.Unmarshal(b.PricingModel.Raw, &pm))
	for _, m := range pm.UsageMeters {
		if m.Slug == flowgladapitest.DemoUsageMeterAPICalls {
			return m.ID
		}
	}
	t.Fatal("no api-calls meter in the demo pricing model")
	return ""
}

// aliceBalance is what is left of Alice's api-calls credits.
func aliceBalance(t *testing.T, env *testEnv) float64 {
	t.Helper()
	v, ok := env.fake.UsageBalance(aliceSub, flowgladapitest.DemoUsageMeterAPICalls)
	require.True(t, ok)
	return v
}

// usageBodies returns the usageEvent objects of every usage POST Flowglad received.
func usageBodies(t *testing.T, env *testEnv) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range env.fake.Requests() {
		if r.Method+" "+r.Path != usagePost {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &m))
		out = append(out, objectAt(t, m, "usageEvent"))
	}
	return out
}

func TestCreateUsageEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string // METER and OVERAGE stand for the meter's and its price's ids
		wantSent   string
		wantAmount int64
		golden     string
	}{
		{
			name:       "by usage meter slug",
			body:       `{"usageMeterSlug": "api-calls", "transactionId": "tx-meter-slug"}`,
			wantSent:   `{"subscriptionId": "sub_alice_pro", "amount": 1, "transactionId": "tx-meter-slug", "usageMeterSlug": "api-calls"}`,
			wantAmount: 1,
			golden:     "usage-events/create/success",
		},
		{
			name:       "by usage meter id",
			body:       `{"usageMeterId": "METER", "transactionId": "tx-meter-id", "amount": 3}`,
			wantSent:   `{"subscriptionId": "sub_alice_pro", "amount": 3, "transactionId": "tx-meter-id", "usageMeterId": "METER"}`,
			wantAmount: 3,
		},
		{
			name:       "by price slug",
			body:       `{"priceSlug": "api-calls-overage", "transactionId": "tx-price-slug"}`,
			wantSent:   `{"subscriptionId": "sub_alice_pro", "amount": 1, "transactionId": "tx-price-slug", "priceSlug": "api-calls-overage"}`,
			wantAmount: 1,
		},
		{
			name:       "by price id",
			body:       `{"priceId": "OVERAGE", "transactionId": "tx-price-id", "amount": 2.0}`,
			wantSent:   `{"subscriptionId": "sub_alice_pro", "amount": 2, "transactionId": "tx-price-id", "priceId": "OVERAGE"}`,
			wantAmount: 2,
		},
		{
			name: "every optional member",
			body: `{"usageMeterSlug": "api-calls", "subscriptionId": "sub_alice_pro", "amount": 25, "transactionId": "tx-all",
				"properties": {"endpoint": "/v1/chat", "tokens": 1200, "cached": false}, "usageDate": 1768400000000, "unknown": 1}`,
			wantSent: `{"subscriptionId": "sub_alice_pro", "amount": 25, "transactionId": "tx-all", "usageMeterSlug": "api-calls",
				"properties": {"endpoint": "/v1/chat", "tokens": 1200, "cached": false}, "usageDate": 1768400000000}`,
			wantAmount: 25,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			ids := strings.NewReplacer("METER", demoMeterID(t, env), "OVERAGE", demoPriceID(t, env, flowgladapitest.DemoPriceAPICallsOverage))
			res := env.post(userAlice, "usage-events/create", ids.Replace(tc.body))
			assert.Equal(t, []string{"usageEvent"}, dataKeys(t, res))
			ev := objectAt(t, res.data(t), "usageEvent")
			assert.NotEmpty(t, ev["id"])
			assert.Equal(t, jsonValue(t, `{"usageEvent": `+ids.Replace(tc.wantSent)+`}`), env.lastBody("POST", "/api/v1/usage-events"))
			assert.Equal(t, []string{aliceBilling, usagePost}, env.calls(), "billing (subscription), then one POST")

			events := env.fake.UsageEvents()
			require.Len(t, events, 1)
			assert.Equal(t, ev["id"], events[0].ID)
			assert.Equal(t, tc.wantAmount, events[0].Amount)
			assert.Equal(t, float64(aliceCredits-tc.wantAmount), aliceBalance(t, env))
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

// TestUsageEventTransactionIDGenerated: without a transactionId each request gets a new
// one, fixed before the first attempt so that a retry cannot count twice.
func TestUsageEventTransactionIDGenerated(t *testing.T) {
	t.Parallel()
	t.Run("one per request", func(t *testing.T) {
		env := newEnv(t)
		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls"}`).data(t)
		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls"}`).data(t)
		sent := usageBodies(t, env)
		require.Len(t, sent, 2)
		for _, s := range sent {
			tx, _ := s["transactionId"].(string)
			_, err := uuid.Parse(tx)
			assert.NoError(t, err, "a generated transactionId is a UUID: %q", tx)
		}
		assert.NotEqual(t, sent[0]["transactionId"], sent[1]["transactionId"])
		assert.Len(t, env.fake.UsageEvents(), 2, "two requests are two events")
		assert.Equal(t, float64(aliceCredits-2), aliceBalance(t, env))
	})
	// One attempt fails and the retry succeeds: the same event is sent again, transactionId
	// included, and counted once, whether or not Flowglad recorded it the first time.
	for _, tc := range []struct {
		name  string
		fault flowgladapitest.Fault
	}{
		{"same across retries", flowgladapitest.Fault{Status: 500}},
		{"answer garbled after the event was recorded", flowgladapitest.Fault{Status: http.StatusOK,
			Body: `{"usageEvent": {"id": "usage_ev`, AfterApply: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []envOption
			if tc.fault.Body != "" {
				opts = append(opts, withoutSpec()) // a garbled 200 breaks the spec on purpose
			}
			env := newEnv(t, opts...)
			f := tc.fault
			f.Method, f.Path = "POST", "/api/v1/usage-events"
			env.fake.FailNext(1, f)
			d := env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 4}`).data(t)
			sent := usageBodies(t, env)
			require.Len(t, sent, 2)
			assert.Equal(t, sent[0], sent[1], "the retry sends the same event, transactionId included")
			assert.Equal(t, []string{aliceBilling, usagePost, usagePost}, env.calls())
			events := env.fake.UsageEvents()
			require.Len(t, events, 1)
			assert.Equal(t, sent[0]["transactionId"], events[0].TransactionID)
			assert.Equal(t, events[0].ID, d["usageEvent"].(map[string]any)["id"], "the answer names the recorded event")
			assert.Equal(t, float64(aliceCredits-4), aliceBalance(t, env), "counted once")
		})
	}
	t.Run("dropped connection then success", func(t *testing.T) {
		env := newEnv(t)
		env.fake.FailNext(1, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/usage-events", CloseConnection: true})
		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls"}`).data(t)
		sent := usageBodies(t, env)
		require.Len(t, sent, 2)
		assert.Equal(t, sent[0]["transactionId"], sent[1]["transactionId"])
		assert.Equal(t, []string{aliceBilling, usagePost, usagePost}, env.calls())
		assert.Len(t, env.fake.UsageEvents(), 1)
	})
	t.Run("every attempt fails", func(t *testing.T) {
		env := newEnv(t)
		env.fake.FailNext(3, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/usage-events", Status: 503})
		res := env.do(request{user: userAlice, key: "usage-events/create", body: `{"usageMeterSlug": "api-calls", "transactionId": "tx-down"}`, headers: fixedRequestID})
		res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
		sent := usageBodies(t, env)
		require.Len(t, sent, 3, "the first attempt and two retries")
		for _, s := range sent {
			assert.Equal(t, "tx-down", s["transactionId"])
		}
		assert.Equal(t, []string{aliceBilling, usagePost, usagePost, usagePost}, env.calls())
		assert.Empty(t, env.fake.UsageEvents())
		assertGolden(t, "usage-events/create/flowglad-unavailable", res)
	})
	t.Run("answers lost: the error names the transactionId, a retry with it counts once", func(t *testing.T) {
		env := newEnv(t)
		// Flowglad records the event every time, but no answer comes back.
		env.fake.FailNext(3, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/usage-events", Status: 502, AfterApply: true})
		res := env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 6}`)
		j := res.assertError(t, http.StatusBadGateway, "flowglad_unavailable")
		tx, _ := j["transactionId"].(string)
		require.NotEmpty(t, tx, "the generated transactionId is returned, so the browser can retry with it")
		require.Len(t, env.fake.UsageEvents(), 1, "recorded once despite three attempts")

		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 6, "transactionId": "`+tx+`"}`).data(t)
		assert.Len(t, env.fake.UsageEvents(), 1, "the browser's retry is the same event")
		assert.Equal(t, float64(aliceCredits-6), aliceBalance(t, env), "counted once")
	})
}

// TestUsageEventExplicitTransactionID: the same transactionId twice is one event.
func TestUsageEventExplicitTransactionID(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	body := `{"usageMeterSlug": "api-calls", "amount": 7, "transactionId": "order-42"}`
	first := env.post(userAlice, "usage-events/create", body)
	assert.Equal(t, []string{aliceBilling, usagePost}, env.calls())
	second := env.post(userAlice, "usage-events/create", body)
	assert.Equal(t, []string{aliceBilling, usagePost}, env.calls(), "sent again: Flowglad deduplicates")
	assert.Equal(t, objectAt(t, first.data(t), "usageEvent")["id"], objectAt(t, second.data(t), "usageEvent")["id"])
	require.Len(t, env.fake.UsageEvents(), 1)
	assert.Equal(t, "order-42", env.fake.UsageEvents()[0].TransactionID)
	assert.Equal(t, float64(aliceCredits-7), aliceBalance(t, env), "balance lowered once")
}

func TestUsageEventSubscription(t *testing.T) {
	t.Parallel()
	t.Run("several current: billing's current subscription", func(t *testing.T) {
		env := newEnv(t)
		addAliceTeamSubscription(t, env)
		b, err := env.h.Client().GetBilling(context.Background(), userAlice)
		require.NoError(t, err)
		require.NotNil(t, b.CurrentSubscription)
		env.calls()
		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls"}`).data(t)
		sent := usageBodies(t, env)
		require.Len(t, sent, 1)
		assert.Equal(t, b.CurrentSubscription.ID, sent[0]["subscriptionId"])
		assert.Equal(t, []string{aliceBilling, usagePost}, env.calls())
	})
	t.Run("another current subscription of the customer", func(t *testing.T) {
		env := newEnv(t)
		team := addAliceTeamSubscription(t, env)
		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "subscriptionId": "`+team+`"}`).data(t)
		events := env.fake.UsageEvents()
		require.Len(t, events, 1)
		assert.Equal(t, team, events[0].SubscriptionID)
		assert.Equal(t, []string{aliceBilling, usagePost}, env.calls())
	})
	t.Run("first visit: the new customer's plan", func(t *testing.T) {
		env := newEnv(t)
		res := env.post(userCarol, "usage-events/create", `{"usageMeterSlug": "api-calls"}`)
		res.data(t)
		assert.Equal(t, []string{carolBilling, "POST /api/v1/customers", carolBilling, usagePost}, env.calls())
		cust, ok := env.fake.Customer(userCarol)
		require.True(t, ok)
		require.Len(t, cust.Subscriptions, 1)
		events := env.fake.UsageEvents()
		require.Len(t, events, 1)
		assert.Equal(t, cust.Subscriptions[0].ID, events[0].SubscriptionID)
	})
}

func TestUsageEventForbiddenSubscription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		user      string
		sub       string
		setup     func(t *testing.T, env *testEnv) string // returns the id when it is made here
		wantCalls []string
	}{
		{name: "another customer's subscription", user: userBob, sub: aliceSub, wantCalls: []string{bobBilling}},
		{name: "a subscription that does not exist", user: userBob, sub: "sub_nope", wantCalls: []string{bobBilling}},
		{
			name: "an own canceled subscription", user: userAlice,
			setup: func(t *testing.T, env *testEnv) string {
				team := addAliceTeamSubscription(t, env)
				require.NoError(t, env.fake.SetSubscriptionStatus(team, flowgladapitest.StatusCanceled))
				return team
			},
			wantCalls: []string{aliceBilling},
		},
	}
	answers := []string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			sub := tc.sub
			if tc.setup != nil {
				sub = tc.setup(t, env)
			}
			res := env.post(tc.user, "usage-events/create", `{"usageMeterSlug": "api-calls", "subscriptionId": "`+sub+`", "transactionId": "tx-1"}`)
			answers = append(answers, assertForbidden(t, res, sub))
			assert.Equal(t, tc.wantCalls, env.calls(), "no usage POST")
			assert.Empty(t, env.fake.UsageEvents())
			if tc.user == userBob && sub == aliceSub {
				assertGolden(t, "usage-events/create/forbidden", res)
			}
		})
	}
	for _, a := range answers[1:] {
		assert.Equal(t, answers[0], a, "the same answer whatever the reason")
	}
}

func TestUsageEventNoActiveSubscription(t *testing.T) {
	t.Parallel()
	testNoActiveSubscription(t, "usage-events/create", `{"usageMeterSlug": "api-calls", "transactionId": "tx-1"}`,
		"usage-events/create/no-active-subscription", func(t *testing.T, env *testEnv) {
			assert.Empty(t, env.fake.UsageEvents())
		})
}

func TestUsageEventRejectedByFlowglad(t *testing.T) {
	t.Parallel()
	runRejectedCases(t, "usage-events/create", usagePost, []rejectedCase{
		{"not a usage price", `{"priceSlug": "pro-monthly"}`, 400, "flowglad_rejected", "BAD_REQUEST"},
		{"unknown meter", `{"usageMeterSlug": "nope"}`, 404, "not_found", ""},
	}, func(t *testing.T, env *testEnv) {
		assert.Empty(t, env.fake.UsageEvents())
	})
}

func TestUsageEventInvalidBody(t *testing.T) {
	t.Parallel()
	const meter = `"usageMeterSlug": "api-calls"`
	runInvalidBodyCases(t, userAlice, "usage-events/create", []invalidBodyCase{
		{"no identifier", `{}`, []string{"priceId|priceSlug|usageMeterId|usageMeterSlug"}},
		{"no body", ``, []string{"priceId|priceSlug|usageMeterId|usageMeterSlug"}},
		{"two identifiers", `{"priceSlug": "api-calls-overage", ` + meter + `}`, []string{"priceSlug|usageMeterSlug"}},
		{"four identifiers", `{"priceId": "a", "priceSlug": "b", "usageMeterId": "c", ` + meter + `}`, []string{"priceId|priceSlug|usageMeterId|usageMeterSlug"}},
		{"an identifier and a null one", `{"usageMeterId": null, ` + meter + `}`, []string{"usageMeterId|usageMeterSlug"}},
		{"meter slug empty", `{"usageMeterSlug": ""}`, []string{"usageMeterSlug"}},
		{"meter slug null", `{"usageMeterSlug": null}`, []string{"usageMeterSlug"}},
		{"price id a number", `{"priceId": 10}`, []string{"priceId"}},
		{"amount 0", `{` + meter + `, "amount": 0}`, []string{"amount"}},
		{"amount -1", `{` + meter + `, "amount": -1}`, []string{"amount"}},
		{"amount 1.5", `{` + meter + `, "amount": 1.5}`, []string{"amount"}},
		{"amount a string", `{` + meter + `, "amount": "2"}`, []string{"amount"}},
		{"amount null", `{` + meter + `, "amount": null}`, []string{"amount"}},
		{"amount a boolean", `{` + meter + `, "amount": true}`, []string{"amount"}},
		{"properties a string", `{` + meter + `, "properties": "a=b"}`, []string{"properties"}},
		{"properties an array", `{` + meter + `, "properties": [1]}`, []string{"properties"}},
		{"properties null", `{` + meter + `, "properties": null}`, []string{"properties"}},
		{"usage date negative", `{` + meter + `, "usageDate": -1}`, []string{"usageDate"}},
		{"usage date a string", `{` + meter + `, "usageDate": "2026-01-15T12:00:00Z"}`, []string{"usageDate"}},
		{"usage date fractional", `{` + meter + `, "usageDate": 1.5}`, []string{"usageDate"}},
		{"transaction id empty", `{` + meter + `, "transactionId": ""}`, []string{"transactionId"}},
		{"transaction id null", `{` + meter + `, "transactionId": null}`, []string{"transactionId"}},
		{"transaction id a number", `{` + meter + `, "transactionId": 42}`, []string{"transactionId"}},
		{"transaction id too long", `{` + meter + `, "transactionId": "` + strings.Repeat("x", 256) + `"}`, []string{"transactionId"}},
		{"subscription id empty", `{` + meter + `, "subscriptionId": ""}`, []string{"subscriptionId"}},
		{"subscription id null", `{` + meter + `, "subscriptionId": null}`, []string{"subscriptionId"}},
		{"subscription id a number", `{` + meter + `, "subscriptionId": 1}`, []string{"subscriptionId"}},
		{"empty transaction id beside another issue", `{` + meter + `, "amount": 0, "transactionId": ""}`, []string{"amount", "transactionId"}},
		{"several at once", `{"priceId": "a", "priceSlug": "b", "amount": "1", "properties": [], "usageDate": -5, "transactionId": 5, "subscriptionId": ""}`,
			[]string{"amount", "priceId|priceSlug", "properties", "subscriptionId", "transactionId", "usageDate"}},
	})
	env := newEnv(t)
	assertGolden(t, "usage-events/create/invalid-body", env.post(userAlice, "usage-events/create", `{"priceSlug": "a", "usageMeterSlug": "b", "amount": 0, "properties": []}`))
}

// TestUsageEventTransactionIDLength: 255 characters is the longest transactionId accepted.
func TestUsageEventTransactionIDLength(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	tx := strings.Repeat("é", 255)
	env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "transactionId": "`+tx+`"}`).data(t)
	events := env.fake.UsageEvents()
	require.Len(t, events, 1)
	assert.Equal(t, tx, events[0].TransactionID)
}
