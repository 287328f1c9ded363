package flowglad_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	aliceSub       = flowgladapitest.DemoAliceSubscriptionID
	aliceSubCancel = "POST /api/v1/subscriptions/sub_alice_pro/cancel"
	aliceSubAdjust = "POST /api/v1/subscriptions/sub_alice_pro/adjust"
	aliceUncancel  = "POST /api/v1/subscriptions/sub_alice_pro/uncancel"
)

// subscriptionStatus returns the status of the subscription in an answer's data.
func subscriptionStatus(t *testing.T, res *response) string {
	t.Helper()
	s, _ := objectAt(t, res.data(t), "subscription")["status"].(string)
	return s
}

// fakeStatus is the status the fake holds for a subscription.
func fakeStatus(t *testing.T, env *testEnv, id string) string {
	t.Helper()
	s, ok := env.fake.Subscription(id)
	require.True(t, ok, "no subscription %s", id)
	return s.Status
}

// addAliceTeamSubscription gives Alice a second current subscription.
func addAliceTeamSubscription(t *testing.T, env *testEnv) string {
	t.Helper()
	s, err := env.fake.AddSubscription(userAlice, flowgladapitest.Subscription{
		ID: "sub_alice_team", Items: []flowgladapitest.SubscriptionItem{{PriceSlug: flowgladapitest.DemoPriceTeamMonthly}},
	})
	require.NoError(t, err)
	return s.ID
}

func TestCancelSubscription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		setup      func(t *testing.T, env *testEnv)
		body       string
		wantTiming string
		wantStatus string
		golden     string
	}{
		{
			name:       "at the end of the period",
			body:       `{"id": "sub_alice_pro", "cancellation": {"timing": "at_end_of_current_billing_period"}}`,
			wantTiming: "at_end_of_current_billing_period", wantStatus: flowgladapitest.StatusCancellationScheduled,
			golden: "subscriptions/cancel/at-end-of-period",
		},
		{
			name:       "immediately",
			body:       `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`,
			wantTiming: "immediately", wantStatus: flowgladapitest.StatusCanceled,
			golden: "subscriptions/cancel/immediately",
		},
		{
			name:       "unknown members are not relayed",
			body:       `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately", "reason": "too expensive"}, "customerId": "cus_bob"}`,
			wantTiming: "immediately", wantStatus: flowgladapitest.StatusCanceled,
		},
		{
			name: "a scheduled cancellation made immediate",
			setup: func(t *testing.T, env *testEnv) {
				require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCancellationScheduled))
			},
			body:       `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`,
			wantTiming: "immediately", wantStatus: flowgladapitest.StatusCanceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.setup != nil {
				tc.setup(t, env)
			}
			res := env.post(userAlice, "subscriptions/cancel", tc.body)
			assert.Equal(t, []string{"subscription"}, dataKeys(t, res))
			assert.Equal(t, tc.wantStatus, subscriptionStatus(t, res))
			assert.Equal(t, tc.wantStatus, fakeStatus(t, env, aliceSub))
			assert.Equal(t, jsonValue(t, `{"cancellation": {"timing": "`+tc.wantTiming+`"}}`), env.lastBody("POST", "/api/v1/subscriptions/sub_alice_pro/cancel"))
			assert.Equal(t, []string{aliceBilling, aliceSubCancel}, env.calls(), "billing (ownership and status), then one POST")
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

func TestCancelSubscriptionAlreadyCanceled(t *testing.T) {
	t.Parallel()
	t.Run("canceled elsewhere", func(t *testing.T) {
		env := newEnv(t)
		require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCanceled))
		res := env.post(userAlice, "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`)
		res.assertError(t, http.StatusConflict, "already_canceled")
		assert.Equal(t, []string{aliceBilling}, env.calls(), "no cancel POST")
		assertGolden(t, "subscriptions/cancel/already-canceled", res)
	})
	t.Run("canceled through the handler: billing is read again", func(t *testing.T) {
		env := newEnv(t)
		body := `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`
		env.post(userAlice, "subscriptions/cancel", body).data(t)
		env.calls()
		res := env.post(userAlice, "subscriptions/cancel", body)
		res.assertError(t, http.StatusConflict, "already_canceled")
		assert.Equal(t, []string{aliceBilling}, env.calls())
	})
}

// TestSubscriptionAnswerWithoutSubscription: the route relays the subscription Flowglad
// answers with, undecoded; an answer without one is a 502, never an empty success, for the
// route and for a Go caller alike.
func TestSubscriptionAnswerWithoutSubscription(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, path, body string }{
		{"subscriptions/cancel", "/api/v1/subscriptions/" + aliceSub + "/cancel",
			`{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`},
		{"subscriptions/uncancel", "/api/v1/subscriptions/" + aliceSub + "/uncancel", `{"id": "sub_alice_pro"}`},
	} {
		t.Run(tc.key, func(t *testing.T) {
			env := newEnv(t, withoutSpec()) // the answer breaks the spec on purpose
			require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCancellationScheduled))
			env.fake.FailNext(1, flowgladapitest.Fault{Method: http.MethodPost, Path: tc.path, Status: http.StatusOK,
				Body: `{"subscription": null}`})
			env.post(userAlice, tc.key, tc.body).assertError(t, http.StatusBadGateway, "flowglad_unavailable")
		})
	}
	svc, fake := newGoService(t)
	require.NoError(t, fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusActive))
	fake.FailNext(1, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/subscriptions/" + aliceSub + "/cancel",
		Status: http.StatusOK, Body: `{"canceled": true}`})
	_, err := svc.CancelSubscription(t.Context(), flowglad.Customer{ExternalID: userAlice, Email: "alice@example.com"},
		flowglad.CancelSubscriptionParams{SubscriptionID: aliceSub, Timing: flowgladapi.CancelImmediately})
	assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
}

func TestCancelSubscriptionInvalidBody(t *testing.T) {
	t.Parallel()
	const end = `"cancellation": {"timing": "at_end_of_current_billing_period"}`
	runInvalidBodyCases(t, userAlice, "subscriptions/cancel", []invalidBodyCase{
		{"empty", `{}`, []string{"cancellation", "id"}},
		{"id missing", `{` + end + `}`, []string{"id"}},
		{"id empty", `{"id": "", ` + end + `}`, []string{"id"}},
		{"id null", `{"id": null, ` + end + `}`, []string{"id"}},
		{"id a number", `{"id": 7, ` + end + `}`, []string{"id"}},
		{"cancellation missing", `{"id": "sub_alice_pro"}`, []string{"cancellation"}},
		{"cancellation null", `{"id": "sub_alice_pro", "cancellation": null}`, []string{"cancellation"}},
		{"cancellation a string", `{"id": "sub_alice_pro", "cancellation": "immediately"}`, []string{"cancellation"}},
		{"timing missing", `{"id": "sub_alice_pro", "cancellation": {}}`, []string{"cancellation.timing"}},
		{"timing not in the enum", `{"id": "sub_alice_pro", "cancellation": {"timing": "auto"}}`, []string{"cancellation.timing"}},
		{"timing in another case", `{"id": "sub_alice_pro", "cancellation": {"timing": "Immediately"}}`, []string{"cancellation.timing"}},
		{"timing null", `{"id": "sub_alice_pro", "cancellation": {"timing": null}}`, []string{"cancellation.timing"}},
		{"timing a number", `{"id": "sub_alice_pro", "cancellation": {"timing": 1}}`, []string{"cancellation.timing"}},
		{"several at once", `{"id": 1, "cancellation": {"timing": "later"}}`, []string{"cancellation.timing", "id"}},
	})
}

func TestUncancelSubscription(t *testing.T) {
	t.Parallel()
	t.Run("scheduled cancellation is lifted", func(t *testing.T) {
		env := newEnv(t)
		require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCancellationScheduled))
		res := env.post(userAlice, "subscriptions/uncancel", `{"id": "sub_alice_pro"}`)
		assert.Equal(t, []string{"subscription"}, dataKeys(t, res))
		assert.Equal(t, flowgladapitest.StatusActive, subscriptionStatus(t, res))
		assert.Equal(t, flowgladapitest.StatusActive, fakeStatus(t, env, aliceSub))
		assert.Equal(t, map[string]any{}, env.lastBody("POST", "/api/v1/subscriptions/sub_alice_pro/uncancel"))
		assert.Equal(t, []string{aliceBilling, aliceUncancel}, env.calls())
		assertGolden(t, "subscriptions/uncancel/success", res)
	})
	t.Run("cancel then uncancel through the handler", func(t *testing.T) {
		env := newEnv(t)
		env.post(userAlice, "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "at_end_of_current_billing_period"}}`).data(t)
		env.calls()
		res := env.post(userAlice, "subscriptions/uncancel", `{"id": "sub_alice_pro", "extra": true}`)
		assert.Equal(t, flowgladapitest.StatusActive, subscriptionStatus(t, res))
		assert.Equal(t, []string{aliceBilling, aliceUncancel}, env.calls(), "billing read again after the cancel")
	})
	for _, status := range []string{flowgladapitest.StatusActive, flowgladapitest.StatusPastDue, flowgladapitest.StatusCanceled} {
		t.Run("no-op when "+status, func(t *testing.T) {
			env := newEnv(t)
			if status != flowgladapitest.StatusActive {
				require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, status))
			}
			res := env.post(userAlice, "subscriptions/uncancel", `{"id": "sub_alice_pro"}`)
			assert.Equal(t, []string{"subscription"}, dataKeys(t, res))
			assert.Equal(t, status, subscriptionStatus(t, res))
			assert.Equal(t, []string{aliceBilling}, env.calls(), "no uncancel POST")

			// The subscription is the one billing lists, unchanged.
			b, err := env.h.Client().GetBilling(context.Background(), userAlice)
			require.NoError(t, err)
			sub := b.Subscription(aliceSub)
			require.NotNil(t, sub)
			var want any
			require.NoError(t, json.Unmarshal(sub.Raw, &want))
			assert.Equal(t, want, res.data(t)["subscription"])
			assert.Equal(t, status, fakeStatus(t, env, aliceSub))
			if status == flowgladapitest.StatusActive {
				assertGolden(t, "subscriptions/uncancel/not-scheduled", res)
			}
		})
	}
}

func TestUncancelSubscriptionInvalidBody(t *testing.T) {
	t.Parallel()
	runInvalidBodyCases(t, userAlice, "subscriptions/uncancel", []invalidBodyCase{
		{"empty", `{}`, []string{"id"}},
		{"no body", ``, []string{"id"}},
		{"id empty", `{"id": ""}`, []string{"id"}},
		{"id blank", `{"id": "  "}`, []string{"id"}},
		{"id null", `{"id": null}`, []string{"id"}},
		{"id a number", `{"id": 3}`, []string{"id"}},
		{"id an array", `{"id": ["sub_alice_pro"]}`, []string{"id"}},
	})
}

// TestSubscriptionOwnership: another customer's subscription and one that does not exist get
// the same 403, decided from billing and one GET of the id, before any change.
func TestSubscriptionOwnership(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key    string
		body   string // SUB stands for the id
		golden string
	}{
		{"subscriptions/cancel", `{"id": "SUB", "cancellation": {"timing": "immediately"}}`, "subscriptions/cancel/forbidden"},
		{"subscriptions/uncancel", `{"id": "SUB"}`, "subscriptions/uncancel/forbidden"},
		{"subscriptions/adjust", `{"subscriptionId": "SUB", "priceSlug": "team-monthly"}`, "subscriptions/adjust/forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			env := newEnv(t)
			require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCancellationScheduled))
			env.calls()
			foreign := env.post(userBob, tc.key, strings.ReplaceAll(tc.body, "SUB", aliceSub))
			foreignAnswer := assertForbidden(t, foreign, aliceSub)
			assert.Equal(t, []string{bobBilling, "GET /api/v1/subscriptions/sub_alice_pro"}, env.calls())

			unknown := env.post(userBob, tc.key, strings.ReplaceAll(tc.body, "SUB", "sub_nope"))
			unknownAnswer := assertForbidden(t, unknown, "sub_nope")
			assert.Equal(t, []string{bobBilling, "GET /api/v1/subscriptions/sub_nope"}, env.calls())
			assert.Equal(t, foreignAnswer, unknownAnswer, "ids cannot be probed")

			assert.Equal(t, flowgladapitest.StatusCancellationScheduled, fakeStatus(t, env, aliceSub), "Alice's subscription is untouched")
			assertGolden(t, tc.golden, foreign)
		})
	}
}

// TestSubscriptionWritesAreNotRetried: cancel, uncancel and adjust reach Flowglad once, whatever
// it answers.
func TestSubscriptionWritesAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    string
		body   string
		call   string
		fault  flowgladapitest.Fault
		status int
		code   string
		golden string
	}{
		{"cancel: server error", "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`, aliceSubCancel,
			flowgladapitest.Fault{Status: 500}, 502, "flowglad_unavailable", "subscriptions/cancel/flowglad-unavailable"},
		{"cancel: dropped connection", "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`, aliceSubCancel,
			flowgladapitest.Fault{CloseConnection: true}, 502, "flowglad_unavailable", ""},
		{"cancel: rejected", "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "at_end_of_current_billing_period"}}`, aliceSubCancel,
			flowgladapitest.Fault{Status: 400, Message: "Subscription cannot be canceled"}, 400, "flowglad_rejected", ""},
		{"cancel: rate limited", "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`, aliceSubCancel,
			flowgladapitest.Fault{Status: 429}, 503, "flowglad_busy", ""},
		{"uncancel: server error", "subscriptions/uncancel", `{"id": "sub_alice_pro"}`, aliceUncancel,
			flowgladapitest.Fault{Status: 503}, 502, "flowglad_unavailable", ""},
		{"adjust: server error", "subscriptions/adjust", `{"priceSlug": "team-monthly"}`, aliceSubAdjust,
			flowgladapitest.Fault{Status: 500}, 502, "flowglad_unavailable", "subscriptions/adjust/flowglad-unavailable"},
		{"adjust: conflict", "subscriptions/adjust", `{"priceSlug": "team-monthly"}`, aliceSubAdjust,
			flowgladapitest.Fault{Status: 409, Message: "An adjustment is already in progress"}, 409, "flowglad_rejected", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.key == "subscriptions/uncancel" {
				require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCancellationScheduled))
			}
			before := fakeStatus(t, env, aliceSub)
			method, path, _ := strings.Cut(tc.call, " ")
			tc.fault.Method, tc.fault.Path = method, path
			env.fake.FailNext(1, tc.fault)
			res := env.do(request{user: userAlice, key: tc.key, body: tc.body, headers: fixedRequestID})
			j := res.assertError(t, tc.status, tc.code)
			if tc.code == "flowglad_rejected" {
				assert.Equal(t, codeForStatusText(tc.status), j["flowgladCode"])
			}
			assert.Equal(t, []string{aliceBilling, tc.call}, env.calls(), "exactly one POST")
			assert.Equal(t, before, fakeStatus(t, env, aliceSub))
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

// codeForStatusText is the tRPC code the fake sends with an injected fault's status.
func codeForStatusText(status int) string {
	switch status {
	case 400:
		return "BAD_REQUEST"
	case 409:
		return "CONFLICT"
	}
	return ""
}

func TestAdjustSubscription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		body         string // PRO and TEAM stand for the prices' ids
		wantSent     string
		wantResolved string
		wantUpgrade  bool
		golden       string
	}{
		{
			name:         "price slug: timing auto, quantity 1, prorated",
			body:         `{"priceSlug": "team-monthly"}`,
			wantSent:     `{"timing": "auto", "newSubscriptionItems": [{"priceSlug": "team-monthly", "quantity": 1}], "prorateCurrentBillingPeriod": true}`,
			wantResolved: "immediately", wantUpgrade: true,
			golden: "subscriptions/adjust/upgrade",
		},
		{
			name:         "price id with a quantity",
			body:         `{"priceId": "TEAM", "quantity": 2}`,
			wantSent:     `{"timing": "auto", "newSubscriptionItems": [{"priceId": "TEAM", "quantity": 2}], "prorateCurrentBillingPeriod": true}`,
			wantResolved: "immediately", wantUpgrade: true,
		},
		{
			name:         "subscription items, quantities filled in",
			body:         `{"subscriptionItems": [{"priceSlug": "team-monthly", "quantity": 2}, {"priceId": "PRO"}]}`,
			wantSent:     `{"timing": "auto", "newSubscriptionItems": [{"priceSlug": "team-monthly", "quantity": 2}, {"priceId": "PRO", "quantity": 1}], "prorateCurrentBillingPeriod": true}`,
			wantResolved: "immediately", wantUpgrade: true,
		},
		{
			name:         "end of period: prorate omitted even when given",
			body:         `{"priceSlug": "team-monthly", "timing": "at_end_of_current_billing_period", "prorate": true}`,
			wantSent:     `{"timing": "at_end_of_current_billing_period", "newSubscriptionItems": [{"priceSlug": "team-monthly", "quantity": 1}]}`,
			wantResolved: "at_end_of_current_billing_period", wantUpgrade: true,
		},
		{
			name:         "immediately without proration",
			body:         `{"priceSlug": "team-monthly", "timing": "immediately", "prorate": false}`,
			wantSent:     `{"timing": "immediately", "newSubscriptionItems": [{"priceSlug": "team-monthly", "quantity": 1}], "prorateCurrentBillingPeriod": false}`,
			wantResolved: "immediately", wantUpgrade: true,
		},
		{
			name:         "auto downgrade",
			body:         `{"priceSlug": "free-monthly", "timing": "auto"}`,
			wantSent:     `{"timing": "auto", "newSubscriptionItems": [{"priceSlug": "free-monthly", "quantity": 1}], "prorateCurrentBillingPeriod": true}`,
			wantResolved: "at_end_of_current_billing_period", wantUpgrade: false,
			golden: "subscriptions/adjust/downgrade",
		},
		{
			name:         "explicit own subscription id",
			body:         `{"subscriptionId": "sub_alice_pro", "priceSlug": "team-monthly", "quantity": 1.0, "unknown": "ignored"}`,
			wantSent:     `{"timing": "auto", "newSubscriptionItems": [{"priceSlug": "team-monthly", "quantity": 1}], "prorateCurrentBillingPeriod": true}`,
			wantResolved: "immediately", wantUpgrade: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			ids := strings.NewReplacer(
				"TEAM", demoPriceID(t, env, flowgladapitest.DemoPriceTeamMonthly),
				"PRO", demoPriceID(t, env, flowgladapitest.DemoPriceProMonthly))
			res := env.post(userAlice, "subscriptions/adjust", ids.Replace(tc.body))
			assert.Equal(t, []string{"isUpgrade", "resolvedTiming", "subscription", "subscriptionItems"}, dataKeys(t, res))
			d := res.data(t)
			assert.Equal(t, tc.wantResolved, d["resolvedTiming"])
			assert.Equal(t, tc.wantUpgrade, d["isUpgrade"])
			assert.Equal(t, aliceSub, objectAt(t, d, "subscription")["id"])
			assert.Equal(t, jsonValue(t, `{"adjustment": `+ids.Replace(tc.wantSent)+`}`), env.lastBody("POST", "/api/v1/subscriptions/sub_alice_pro/adjust"))
			assert.Equal(t, []string{aliceBilling, aliceSubAdjust}, env.calls(), "billing resolves and owns the subscription; one POST")
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

// testNoActiveSubscription posts body to key for Alice once her only subscription is
// canceled, in the fake behind the handler's back and then through the handler, and checks
// that both are refused with 400 no_active_subscription after the billing read alone. The
// first answer is compared with the golden file; check, when not nil, runs after each.
func testNoActiveSubscription(t *testing.T, key, body, golden string, check func(t *testing.T, env *testEnv)) {
	t.Helper()
	cancels := []struct {
		name   string
		cancel func(t *testing.T, env *testEnv)
		golden string
	}{
		{"canceled elsewhere", func(t *testing.T, env *testEnv) {
			require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCanceled))
		}, golden},
		{"canceled through the handler", func(t *testing.T, env *testEnv) {
			env.post(userAlice, "subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "immediately"}}`).data(t)
			env.calls()
		}, ""},
	}
	for _, c := range cancels {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t)
			c.cancel(t, env)
			res := env.post(userAlice, key, body)
			res.assertError(t, http.StatusBadRequest, "no_active_subscription")
			assert.Equal(t, []string{aliceBilling}, env.calls(), "no %s POST", key)
			assertGoldenIf(t, c.golden, res)
			if check != nil {
				check(t, env)
			}
		})
	}
}

func TestAdjustSubscriptionResolution(t *testing.T) {
	t.Parallel()
	testNoActiveSubscription(t, "subscriptions/adjust", `{"priceSlug": "team-monthly"}`, "subscriptions/adjust/no-active-subscription", nil)
	t.Run("several current subscriptions", func(t *testing.T) {
		env := newEnv(t)
		team := addAliceTeamSubscription(t, env)
		res := env.post(userAlice, "subscriptions/adjust", `{"priceSlug": "pro-monthly"}`)
		res.assertError(t, http.StatusBadRequest, "subscription_id_required")
		assert.Equal(t, []string{aliceBilling}, env.calls(), "no adjust POST")
		assertGolden(t, "subscriptions/adjust/subscription-id-required", res)

		res = env.post(userAlice, "subscriptions/adjust", `{"subscriptionId": "`+team+`", "priceSlug": "pro-monthly", "timing": "immediately"}`)
		assert.Equal(t, team, objectAt(t, res.data(t), "subscription")["id"])
		assert.Equal(t, []string{aliceBilling, "POST /api/v1/subscriptions/sub_alice_team/adjust"}, env.calls())
	})
}

// rejectedCase is a body Flowglad refuses, with the status and code of the handler's answer
// and the flowgladCode it relays ("" when not checked).
type rejectedCase struct {
	name     string
	body     string
	status   int
	code     string
	flowglad string
}

// runRejectedCases posts each case's body to key for Alice and checks the refusal, made
// after the billing read by the one call post, which is not retried. check, when not nil,
// runs after each.
func runRejectedCases(t *testing.T, key, post string, cases []rejectedCase, check func(t *testing.T, env *testEnv)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			res := env.post(userAlice, key, tc.body)
			j := res.assertError(t, tc.status, tc.code)
			if tc.flowglad != "" {
				assert.Equal(t, tc.flowglad, j["flowgladCode"])
			}
			assert.Equal(t, []string{aliceBilling, post}, env.calls(), "a 4xx is not retried")
			if check != nil {
				check(t, env)
			}
		})
	}
}

func TestAdjustSubscriptionRejectedByFlowglad(t *testing.T) {
	t.Parallel()
	runRejectedCases(t, "subscriptions/adjust", aliceSubAdjust, []rejectedCase{
		{"a usage price", `{"priceSlug": "api-calls-overage"}`, 400, "flowglad_rejected", ""},
		{"an unknown price", `{"priceSlug": "nope"}`, 404, "not_found", ""},
	}, nil)
}

func TestAdjustSubscriptionInvalidBody(t *testing.T) {
	t.Parallel()
	const slug = `"priceSlug": "team-monthly"`
	runInvalidBodyCases(t, userAlice, "subscriptions/adjust", []invalidBodyCase{
		{"empty", `{}`, []string{"priceSlug|priceId|subscriptionItems"}},
		{"only a quantity", `{"quantity": 2}`, []string{"priceSlug|priceId|subscriptionItems"}},
		{"slug and id", `{"priceSlug": "a", "priceId": "b"}`, []string{"priceSlug|priceId"}},
		{"slug and items", `{"priceSlug": "a", "subscriptionItems": [{"priceSlug": "b"}]}`, []string{"priceSlug|subscriptionItems"}},
		{"all three", `{"priceSlug": "a", "priceId": "b", "subscriptionItems": []}`, []string{"priceSlug|priceId|subscriptionItems"}},
		{"id null beside a slug", `{"priceSlug": "a", "priceId": null}`, []string{"priceSlug|priceId"}},
		{"slug empty", `{"priceSlug": ""}`, []string{"priceSlug"}},
		{"slug null", `{"priceSlug": null}`, []string{"priceSlug"}},
		{"id a number", `{"priceId": 3}`, []string{"priceId"}},
		{"items empty", `{"subscriptionItems": []}`, []string{"subscriptionItems"}},
		{"items not an array", `{"subscriptionItems": {"priceSlug": "a"}}`, []string{"subscriptionItems"}},
		{"items null", `{"subscriptionItems": null}`, []string{"subscriptionItems"}},
		{"item not an object", `{"subscriptionItems": [5]}`, []string{"subscriptionItems[0]"}},
		{"item without a price", `{"subscriptionItems": [{}]}`, []string{"subscriptionItems[0].priceSlug|priceId"}},
		{"item with both prices", `{"subscriptionItems": [{"priceSlug": "a", "priceId": "b"}]}`, []string{"subscriptionItems[0].priceSlug|priceId"}},
		{"item with an empty slug", `{"subscriptionItems": [{"priceSlug": ""}]}`, []string{"subscriptionItems[0].priceSlug"}},
		{"second item with quantity 0", `{"subscriptionItems": [{"priceSlug": "a"}, {"priceSlug": "b", "quantity": 0}]}`, []string{"subscriptionItems[1].quantity"}},
		{"item quantity a string", `{"subscriptionItems": [{"priceSlug": "a", "quantity": "2"}]}`, []string{"subscriptionItems[0].quantity"}},
		{"quantity with items", `{"subscriptionItems": [{"priceSlug": "a"}], "quantity": 2}`, []string{"quantity"}},
		{"a bad quantity with items, one issue", `{"subscriptionItems": [{"priceSlug": "a"}], "quantity": -1}`, []string{"quantity"}},
		{"quantity 0", `{` + slug + `, "quantity": 0}`, []string{"quantity"}},
		{"quantity -1", `{` + slug + `, "quantity": -1}`, []string{"quantity"}},
		{"quantity 1.5", `{` + slug + `, "quantity": 1.5}`, []string{"quantity"}},
		{"quantity a string", `{` + slug + `, "quantity": "2"}`, []string{"quantity"}},
		{"quantity null", `{` + slug + `, "quantity": null}`, []string{"quantity"}},
		{"timing not in the enum", `{` + slug + `, "timing": "next_month"}`, []string{"timing"}},
		{"timing empty", `{` + slug + `, "timing": ""}`, []string{"timing"}},
		{"timing null", `{` + slug + `, "timing": null}`, []string{"timing"}},
		{"prorate a string", `{` + slug + `, "prorate": "yes"}`, []string{"prorate"}},
		{"prorate null", `{` + slug + `, "prorate": null}`, []string{"prorate"}},
		{"subscription id a number", `{` + slug + `, "subscriptionId": 1}`, []string{"subscriptionId"}},
		{"subscription id null", `{` + slug + `, "subscriptionId": null}`, []string{"subscriptionId"}},
		{"subscription id empty", `{` + slug + `, "subscriptionId": ""}`, []string{"subscriptionId"}},
		{"several at once", `{"priceSlug": "", "quantity": 0, "timing": "soon", "prorate": "no", "subscriptionId": 1}`,
			[]string{"priceSlug", "prorate", "quantity", "subscriptionId", "timing"}},
		{"several items at once", `{"subscriptionItems": [1, {"priceId": 2, "quantity": -3}, {"priceSlug": "x", "priceId": "y"}], "timing": 5}`,
			[]string{"subscriptionItems[0]", "subscriptionItems[1].priceId", "subscriptionItems[1].quantity", "subscriptionItems[2].priceSlug|priceId", "timing"}},
	})
}

func TestListSubscriptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		setup       func(t *testing.T, env *testEnv)
		body        string
		historical  bool
		wantCurrent []string // ids
		wantAll     []string // ids in "subscriptions"
		golden      string
	}{
		{name: "current", body: `{}`, wantCurrent: []string{aliceSub}, wantAll: []string{aliceSub}, golden: "subscriptions/list/current"},
		{name: "no body", body: ``, wantCurrent: []string{aliceSub}, wantAll: []string{aliceSub}},
		{name: "includeHistorical false", body: `{"includeHistorical": false}`, wantCurrent: []string{aliceSub}, wantAll: []string{aliceSub}},
		{
			name: "history includes canceled subscriptions",
			setup: func(t *testing.T, env *testEnv) {
				team := addAliceTeamSubscription(t, env)
				require.NoError(t, env.fake.SetSubscriptionStatus(team, flowgladapitest.StatusCanceled))
			},
			body: `{"includeHistorical": true}`, historical: true,
			wantCurrent: []string{aliceSub}, wantAll: []string{aliceSub, "sub_alice_team"},
			golden: "subscriptions/list/historical",
		},
		{
			name: "without history, canceled ones are left out",
			setup: func(t *testing.T, env *testEnv) {
				team := addAliceTeamSubscription(t, env)
				require.NoError(t, env.fake.SetSubscriptionStatus(team, flowgladapitest.StatusCanceled))
			},
			body: `{}`, wantCurrent: []string{aliceSub}, wantAll: []string{aliceSub},
		},
		{
			name: "nothing current",
			setup: func(t *testing.T, env *testEnv) {
				require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCanceled))
			},
			body: `{}`, wantCurrent: []string{}, wantAll: []string{},
			golden: "subscriptions/list/none",
		},
		{
			name: "nothing current, with history",
			setup: func(t *testing.T, env *testEnv) {
				require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCanceled))
			},
			body: `{"includeHistorical": true}`, historical: true, wantCurrent: []string{}, wantAll: []string{aliceSub},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.setup != nil {
				tc.setup(t, env)
			}
			res := env.post(userAlice, "subscriptions/list", tc.body)
			assert.Equal(t, []string{"currentSubscription", "currentSubscriptions", "subscriptions"}, dataKeys(t, res))
			assert.Equal(t, []string{aliceBilling}, env.calls(), "billing only")
			d := res.data(t)
			assert.ElementsMatch(t, tc.wantCurrent, subscriptionIDs(t, d["currentSubscriptions"]))
			assert.ElementsMatch(t, tc.wantAll, subscriptionIDs(t, d["subscriptions"]))

			// Flowglad's objects, unchanged.
			b, err := env.h.Client().GetBilling(context.Background(), userAlice)
			require.NoError(t, err)
			var billing map[string]any
			require.NoError(t, json.Unmarshal(b.Raw, &billing))
			assert.Equal(t, billing["currentSubscriptions"], d["currentSubscriptions"])
			if tc.historical {
				assert.Equal(t, billing["subscriptions"], d["subscriptions"])
			} else {
				assert.Equal(t, billing["currentSubscriptions"], d["subscriptions"])
			}
			if len(tc.wantCurrent) == 0 {
				assert.Nil(t, d["currentSubscription"])
				assert.Contains(t, string(res.Body), `"currentSubscription":null`)
			} else {
				assert.Equal(t, billing["currentSubscriptions"].([]any)[0], d["currentSubscription"])
			}
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

func TestListSubscriptionsFirstVisit(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.post(userCarol, "subscriptions/list", `{}`)
	d := res.data(t)
	assert.Len(t, subscriptionIDs(t, d["currentSubscriptions"]), 1, "a new customer starts on the free plan")
	assert.Equal(t, []string{carolBilling, "POST /api/v1/customers", carolBilling}, env.calls())
}

func TestListSubscriptionsInvalidBody(t *testing.T) {
	t.Parallel()
	runInvalidBodyCases(t, userAlice, "subscriptions/list", []invalidBodyCase{
		{"unknown member (strict)", `{"foo": 1}`, []string{"foo"}},
		{"subscriptionId is not a member", `{"subscriptionId": "sub_alice_pro"}`, []string{"subscriptionId"}},
		{"includeHistorical a string", `{"includeHistorical": "true"}`, []string{"includeHistorical"}},
		{"includeHistorical a number", `{"includeHistorical": 1}`, []string{"includeHistorical"}},
		{"includeHistorical null", `{"includeHistorical": null}`, []string{"includeHistorical"}},
		{"several at once", `{"includeHistorical": 0, "limit": 10, "b": null}`, []string{"b", "includeHistorical", "limit"}},
	})
	env := newEnv(t)
	assertGolden(t, "subscriptions/list/invalid-body", env.post(userAlice, "subscriptions/list", `{"includeHistorical": "yes", "limit": 10}`))
}

// subscriptionIDs returns the id of each subscription in a JSON array.
func subscriptionIDs(t *testing.T, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	require.True(t, ok, "not an array: %v", v)
	out := []string{}
	for _, e := range arr {
		m, ok := e.(map[string]any)
		require.True(t, ok)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

func TestSubscriptionInvalidBodyGoldens(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, key, body string }{
		{"subscriptions/cancel/invalid-body", "subscriptions/cancel", `{"id": 1, "cancellation": {"timing": "later"}}`},
		{"subscriptions/uncancel/invalid-body", "subscriptions/uncancel", `{}`},
		{"subscriptions/adjust/invalid-body", "subscriptions/adjust", `{"subscriptionItems": [{"priceSlug": "a", "priceId": "b"}, {"priceSlug": "c", "quantity": 0}], "quantity": 2, "timing": "soon", "prorate": "no"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			assertGolden(t, tc.name, env.post(userAlice, tc.key, tc.body))
			assert.Empty(t, env.calls())
		})
	}
}

// TestMutationsUseAndForgetCachedBilling: with a billing cache, a mutation decides from the
// cached billing (one call: the mutation itself) and the next read asks Flowglad again.
func TestMutationsUseAndForgetCachedBilling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key   string
		body  string
		call  string
		setup func(t *testing.T, env *testEnv)
	}{
		{"subscriptions/cancel", `{"id": "sub_alice_pro", "cancellation": {"timing": "at_end_of_current_billing_period"}}`, aliceSubCancel, nil},
		{"subscriptions/uncancel", `{"id": "sub_alice_pro"}`, aliceUncancel, func(t *testing.T, env *testEnv) {
			require.NoError(t, env.fake.SetSubscriptionStatus(aliceSub, flowgladapitest.StatusCancellationScheduled))
		}},
		{"subscriptions/adjust", `{"priceSlug": "team-monthly"}`, aliceSubAdjust, nil},
		{"usage-events/create", `{"usageMeterSlug": "api-calls"}`, "POST /api/v1/usage-events", nil},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour }))
			if tc.setup != nil {
				tc.setup(t, env)
			}
			before := env.post(userAlice, "customers/billing", `{}`)
			before.data(t)
			assert.Equal(t, []string{aliceBilling}, env.calls())

			env.post(userAlice, tc.key, tc.body).data(t)
			assert.Equal(t, []string{tc.call}, env.calls(), "billing came from the cache")

			after := env.post(userAlice, "customers/billing", `{}`)
			after.data(t)
			assert.Equal(t, []string{aliceBilling}, env.calls(), "the mutation forgot the cached billing")
			assert.NotEqual(t, string(before.Body), string(after.Body), "the change is visible")
		})
	}
}
