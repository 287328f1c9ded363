package flowglad_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	checkoutPost = "POST /api/v1/checkout-sessions"
	successURL   = "https://app.example.com/billing/success?session=1"
	cancelURL    = "http://localhost:3000/billing"
	urlsJSON     = `"successUrl": "` + successURL + `", "cancelUrl": "` + cancelURL + `"`
)

// assertCheckoutAnswer checks the {checkoutSession, url} the React SDK reads and returns the
// session.
func assertCheckoutAnswer(t *testing.T, res *response) map[string]any {
	t.Helper()
	assert.Equal(t, []string{"checkoutSession", "url"}, dataKeys(t, res))
	d := res.data(t)
	cs := objectAt(t, d, "checkoutSession")
	id, _ := cs["id"].(string)
	assert.NotEmpty(t, id)
	url, _ := d["url"].(string)
	assert.True(t, strings.HasSuffix(url, "/"+id), "url %q leads to session %q", url, id)
	return cs
}

func TestCreateCheckoutSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		wantSent string // checkoutSession as Flowglad received it; PRICE_ID stands for pro-monthly's id
		golden   string
	}{
		{
			name:     "price slug, quantity defaults to 1",
			body:     `{` + urlsJSON + `, "priceSlug": "pro-monthly"}`,
			wantSent: `{"type": "product", "customerExternalId": "user_alice", ` + urlsJSON + `, "priceSlug": "pro-monthly", "quantity": 1, "anonymous": false}`,
			golden:   "checkout-sessions/create/success",
		},
		{
			name:     "price id",
			body:     `{` + urlsJSON + `, "priceId": "PRICE_ID"}`,
			wantSent: `{"type": "product", "customerExternalId": "user_alice", ` + urlsJSON + `, "priceId": "PRICE_ID", "quantity": 1, "anonymous": false}`,
		},
		{
			name:     "quantity, output metadata and name passed through",
			body:     `{` + urlsJSON + `, "priceSlug": "team-monthly", "quantity": 3, "outputMetadata": {"team": "acme", "seats": 3, "trial": false}, "outputName": "Acme team plan"}`,
			wantSent: `{"type": "product", "customerExternalId": "user_alice", ` + urlsJSON + `, "priceSlug": "team-monthly", "quantity": 3, "anonymous": false, "outputMetadata": {"team": "acme", "seats": 3, "trial": false}, "outputName": "Acme team plan"}`,
		},
		{
			name:     "integral float quantity",
			body:     `{` + urlsJSON + `, "priceSlug": "credits-100", "quantity": 2.0}`,
			wantSent: `{"type": "product", "customerExternalId": "user_alice", ` + urlsJSON + `, "priceSlug": "credits-100", "quantity": 2, "anonymous": false}`,
		},
		{
			name:     "the SDK's type and autoRedirect are ignored",
			body:     `{` + urlsJSON + `, "priceSlug": "pro-monthly", "type": "subscription", "autoRedirect": true}`,
			wantSent: `{"type": "product", "customerExternalId": "user_alice", ` + urlsJSON + `, "priceSlug": "pro-monthly", "quantity": 1, "anonymous": false}`,
		},
		{
			name:     "unknown members are ignored",
			body:     `{` + urlsJSON + `, "priceSlug": "pro-monthly", "customerExternalId": "user_bob", "anonymous": true}`,
			wantSent: `{"type": "product", "customerExternalId": "user_alice", ` + urlsJSON + `, "priceSlug": "pro-monthly", "quantity": 1, "anonymous": false}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withFixedCheckoutURLs())
			priceID := demoPriceID(t, env, flowgladapitest.DemoPriceProMonthly)
			body := strings.ReplaceAll(tc.body, "PRICE_ID", priceID)
			res := env.post(userAlice, "checkout-sessions/create", body)
			cs := assertCheckoutAnswer(t, res)
			assert.Equal(t, "product", cs["type"])
			sent := env.lastBody("POST", "/api/v1/checkout-sessions")
			assert.Equal(t, jsonValue(t, `{"checkoutSession": `+strings.ReplaceAll(tc.wantSent, "PRICE_ID", priceID)+`}`), sent)
			assert.Equal(t, []string{checkoutPost}, env.calls(), "one call, no billing read")

			sessions := env.fake.CheckoutSessions()
			require.Len(t, sessions, 1)
			assert.Equal(t, cs["id"], sessions[0].ID)
			assert.Equal(t, flowgladapitest.DemoAliceCustomerID, sessions[0].CustomerID)
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

// TestCreateCheckoutSessionFirstVisit: a user who never loaded billing has no Flowglad
// customer; the checkout confirms that with a customer lookup (never from the message's
// text alone), creates it and tries once more (4 calls), instead of failing.
func TestCreateCheckoutSessionFirstVisit(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withFixedCheckoutURLs())
	res := env.post(userCarol, "checkout-sessions/create", `{`+urlsJSON+`, "priceSlug": "pro-monthly"}`)
	assertCheckoutAnswer(t, res)
	assert.Equal(t, []string{checkoutPost, "GET /api/v1/customers/user_carol", "POST /api/v1/customers", checkoutPost}, env.calls())
	cust, ok := env.fake.Customer(userCarol)
	require.True(t, ok)
	sessions := env.fake.CheckoutSessions()
	require.Len(t, sessions, 1, "the refused attempt created nothing")
	assert.Equal(t, cust.ID, sessions[0].CustomerID)

	// Now she exists: one call.
	env.post(userCarol, "checkout-sessions/create", `{`+urlsJSON+`, "priceSlug": "pro-monthly"}`).data(t)
	assert.Equal(t, []string{checkoutPost}, env.calls())
}

func TestCreateCheckoutSessionInvalidBody(t *testing.T) {
	t.Parallel()
	const price = `"priceSlug": "pro-monthly"`
	runInvalidBodyCases(t, userAlice, "checkout-sessions/create", []invalidBodyCase{
		{"empty", `{}`, []string{"cancelUrl", "priceId|priceSlug", "successUrl"}},
		{"success URL missing", `{"cancelUrl": "https://a.example", ` + price + `}`, []string{"successUrl"}},
		{"relative success URL", `{"successUrl": "/billing/success", "cancelUrl": "https://a.example", ` + price + `}`, []string{"successUrl"}},
		{"scheme-relative success URL", `{"successUrl": "//a.example/x", "cancelUrl": "https://a.example", ` + price + `}`, []string{"successUrl"}},
		{"ftp URL", `{"successUrl": "ftp://a.example/x", "cancelUrl": "https://a.example", ` + price + `}`, []string{"successUrl"}},
		{"javascript URL", `{"successUrl": "https://a.example", "cancelUrl": "javascript:alert(1)", ` + price + `}`, []string{"cancelUrl"}},
		{"URL without host", `{"successUrl": "https://", "cancelUrl": "https://a.example", ` + price + `}`, []string{"successUrl"}},
		{"empty cancel URL", `{"successUrl": "https://a.example", "cancelUrl": "", ` + price + `}`, []string{"cancelUrl"}},
		{"blank cancel URL", `{"successUrl": "https://a.example", "cancelUrl": "   ", ` + price + `}`, []string{"cancelUrl"}},
		{"null success URL", `{"successUrl": null, "cancelUrl": "https://a.example", ` + price + `}`, []string{"successUrl"}},
		{"success URL a number", `{"successUrl": 1, "cancelUrl": "https://a.example", ` + price + `}`, []string{"successUrl"}},
		{"both price id and slug", `{` + urlsJSON + `, "priceId": "price_1", "priceSlug": "pro-monthly"}`, []string{"priceId|priceSlug"}},
		{"neither price id nor slug", `{` + urlsJSON + `}`, []string{"priceId|priceSlug"}},
		{"price id null and a slug", `{` + urlsJSON + `, "priceId": null, "priceSlug": "pro-monthly"}`, []string{"priceId|priceSlug"}},
		{"price slug null", `{` + urlsJSON + `, "priceSlug": null}`, []string{"priceSlug"}},
		{"price slug empty", `{` + urlsJSON + `, "priceSlug": ""}`, []string{"priceSlug"}},
		{"price id a number", `{` + urlsJSON + `, "priceId": 12}`, []string{"priceId"}},
		{"quantity 0", `{` + urlsJSON + `, ` + price + `, "quantity": 0}`, []string{"quantity"}},
		{"quantity -1", `{` + urlsJSON + `, ` + price + `, "quantity": -1}`, []string{"quantity"}},
		{"quantity 1.5", `{` + urlsJSON + `, ` + price + `, "quantity": 1.5}`, []string{"quantity"}},
		{"quantity a string", `{` + urlsJSON + `, ` + price + `, "quantity": "2"}`, []string{"quantity"}},
		{"quantity null", `{` + urlsJSON + `, ` + price + `, "quantity": null}`, []string{"quantity"}},
		{"quantity beyond int53", `{` + urlsJSON + `, ` + price + `, "quantity": 9007199254740993}`, []string{"quantity"}},
		{"quantity beyond Flowglad's int32", `{` + urlsJSON + `, ` + price + `, "quantity": 2147483648}`, []string{"quantity"}},
		{"output metadata a string", `{` + urlsJSON + `, ` + price + `, "outputMetadata": "x"}`, []string{"outputMetadata"}},
		{"output metadata an array", `{` + urlsJSON + `, ` + price + `, "outputMetadata": []}`, []string{"outputMetadata"}},
		{"output metadata null", `{` + urlsJSON + `, ` + price + `, "outputMetadata": null}`, []string{"outputMetadata"}},
		{"nested output metadata", `{` + urlsJSON + `, ` + price + `, "outputMetadata": {"ok": 1, "a": {"b": 1}, "c": null}}`, []string{"outputMetadata.a", "outputMetadata.c"}},
		{"output name a number", `{` + urlsJSON + `, ` + price + `, "outputName": 5}`, []string{"outputName"}},
		{"several at once", `{"successUrl": "/x", "cancelUrl": "ftp://y", "priceId": "a", "priceSlug": "b", "quantity": 0, "outputName": null}`,
			[]string{"cancelUrl", "outputName", "priceId|priceSlug", "quantity", "successUrl"}},
	})
}

func TestCreateCheckoutSessionGoldenInvalid(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.post(userAlice, "checkout-sessions/create", `{"successUrl": "/x", "cancelUrl": "ftp://y", "priceId": "a", "priceSlug": "b", "quantity": 0}`)
	assertGolden(t, "checkout-sessions/create/invalid-body", res)
	assert.Empty(t, env.calls())
}

// TestCheckoutUpstreamAnswers: checkout-session creation is never retried, whatever
// Flowglad answers.
func TestCheckoutUpstreamAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		key        string
		body       string
		fault      *flowgladapitest.Fault
		status     int
		code       string
		flowglad   string // json.flowgladCode
		wantCalls  []string
		golden     string
		retryAfter bool
	}{
		{
			name: "usage price refused by Flowglad", key: "checkout-sessions/create",
			body:   `{` + urlsJSON + `, "priceSlug": "api-calls-overage"}`,
			status: 400, code: "flowglad_rejected", flowglad: "BAD_REQUEST",
			wantCalls: []string{checkoutPost},
			golden:    "checkout-sessions/create/flowglad-rejected",
		},
		{
			name: "unknown price slug as the live server answers it", key: "checkout-sessions/create",
			body:   `{` + urlsJSON + `, "priceSlug": "nope"}`,
			fault:  &flowgladapitest.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", Status: 400, Message: "Price with slug nope not found"},
			status: 400, code: "flowglad_rejected", flowglad: "BAD_REQUEST",
			wantCalls: []string{checkoutPost},
		},
		{
			name: "unknown price slug as the fake answers it", key: "checkout-sessions/create",
			body:   `{` + urlsJSON + `, "priceSlug": "nope"}`,
			status: 404, code: "not_found",
			wantCalls: []string{checkoutPost},
		},
		{
			name: "server error", key: "checkout-sessions/create",
			body:   `{` + urlsJSON + `, "priceSlug": "pro-monthly"}`,
			fault:  &flowgladapitest.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", Status: 500},
			status: 502, code: "flowglad_unavailable",
			wantCalls: []string{checkoutPost},
			golden:    "checkout-sessions/create/flowglad-unavailable",
		},
		{
			name: "dropped connection", key: "checkout-sessions/create",
			body:   `{` + urlsJSON + `, "priceSlug": "pro-monthly"}`,
			fault:  &flowgladapitest.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", CloseConnection: true},
			status: 502, code: "flowglad_unavailable",
			wantCalls: []string{checkoutPost},
		},
		{
			name: "rate limited", key: "checkout-sessions/create",
			body:   `{` + urlsJSON + `, "priceSlug": "pro-monthly"}`,
			fault:  &flowgladapitest.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", Status: 429, RetryAfter: time.Second},
			status: 503, code: "flowglad_busy", retryAfter: true,
			wantCalls: []string{checkoutPost},
		},
		{
			name: "add payment method: server error", key: "checkout-sessions/create-add-payment-method",
			body:   `{` + urlsJSON + `, "targetSubscriptionId": "sub_alice_pro"}`,
			fault:  &flowgladapitest.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", Status: 502},
			status: 502, code: "flowglad_unavailable",
			wantCalls: []string{aliceBilling, checkoutPost},
		},
		{
			name: "activate subscription: server error", key: "checkout-sessions/create-activate-subscription",
			body:   `{` + urlsJSON + `, "targetSubscriptionId": "sub_alice_pro"}`,
			fault:  &flowgladapitest.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", Status: 500},
			status: 502, code: "flowglad_unavailable",
			wantCalls: []string{aliceBilling, checkoutPost},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.fault != nil {
				env.fake.FailNext(1, *tc.fault)
			}
			res := env.do(request{user: userAlice, key: tc.key, body: tc.body, headers: fixedRequestID})
			j := res.assertError(t, tc.status, tc.code)
			if tc.flowglad != "" {
				assert.Equal(t, tc.flowglad, j["flowgladCode"])
			}
			if tc.retryAfter {
				assert.NotEmpty(t, res.Header.Get("Retry-After"))
			}
			assert.Equal(t, tc.wantCalls, env.calls(), "exactly one checkout POST, never retried")
			assert.Empty(t, env.fake.CheckoutSessions())
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

func TestCreateAddPaymentMethodCheckout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		user      string
		body      string
		wantCalls []string
		wantSent  string
		golden    string
	}{
		{
			name:      "no target: no billing read",
			user:      userAlice,
			body:      `{` + urlsJSON + `}`,
			wantCalls: []string{checkoutPost},
			wantSent:  `{"type": "add_payment_method", "customerExternalId": "user_alice", ` + urlsJSON + `}`,
			golden:    "checkout-sessions/create-add-payment-method/success",
		},
		{
			name:      "own target subscription",
			user:      userAlice,
			body:      `{` + urlsJSON + `, "targetSubscriptionId": "sub_alice_pro", "outputMetadata": {"source": "settings"}, "outputName": "Card"}`,
			wantCalls: []string{aliceBilling, checkoutPost},
			wantSent:  `{"type": "add_payment_method", "customerExternalId": "user_alice", ` + urlsJSON + `, "targetSubscriptionId": "sub_alice_pro", "outputMetadata": {"source": "settings"}, "outputName": "Card"}`,
		},
		{
			name:      "price members are not for this type",
			user:      userBob,
			body:      `{` + urlsJSON + `, "priceSlug": "pro-monthly", "quantity": 0}`,
			wantCalls: []string{checkoutPost},
			wantSent:  `{"type": "add_payment_method", "customerExternalId": "user_bob", ` + urlsJSON + `}`,
		},
		{
			name:      "first visit",
			user:      userCarol,
			body:      `{` + urlsJSON + `}`,
			wantCalls: []string{checkoutPost, "GET /api/v1/customers/user_carol", "POST /api/v1/customers", checkoutPost},
			wantSent:  `{"type": "add_payment_method", "customerExternalId": "user_carol", ` + urlsJSON + `}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withFixedCheckoutURLs())
			res := env.post(tc.user, "checkout-sessions/create-add-payment-method", tc.body)
			cs := assertCheckoutAnswer(t, res)
			assert.Equal(t, "add_payment_method", cs["type"])
			assert.Equal(t, jsonValue(t, `{"checkoutSession": `+tc.wantSent+`}`), env.lastBody("POST", "/api/v1/checkout-sessions"))
			assert.Equal(t, tc.wantCalls, env.calls())
			assert.Len(t, env.fake.CheckoutSessions(), 1)
			assertGoldenIf(t, tc.golden, res)
		})
	}
}

func TestCreateActivateSubscriptionCheckout(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withFixedCheckoutURLs())
	require.NoError(t, env.fake.SetSubscriptionStatus(flowgladapitest.DemoAliceSubscriptionID, flowgladapitest.StatusIncomplete))
	res := env.post(userAlice, "checkout-sessions/create-activate-subscription",
		`{`+urlsJSON+`, "targetSubscriptionId": "sub_alice_pro", "outputName": "Pro", "autoRedirect": true}`)
	cs := assertCheckoutAnswer(t, res)
	assert.Equal(t, "activate_subscription", cs["type"])
	assert.Equal(t, jsonValue(t, `{"checkoutSession": {"type": "activate_subscription", "customerExternalId": "user_alice", `+urlsJSON+`, "targetSubscriptionId": "sub_alice_pro", "outputName": "Pro"}}`),
		env.lastBody("POST", "/api/v1/checkout-sessions"))
	assert.Equal(t, []string{aliceBilling, checkoutPost}, env.calls(), "billing (ownership), then the checkout")
	sessions := env.fake.CheckoutSessions()
	require.Len(t, sessions, 1)
	assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, sessions[0].TargetSubscriptionID)
	assertGolden(t, "checkout-sessions/create-activate-subscription/success", res)
}

// TestCheckoutTargetNotListedInBilling: billing read before the subscription existed (a
// cached billing) does not list it; ownership is then confirmed with one GET.
func TestCheckoutTargetNotListedInBilling(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour }))
	env.post(userAlice, "customers/billing", `{}`).data(t)
	sub, err := env.fake.AddSubscription(userAlice, flowgladapitest.Subscription{
		ID: "sub_alice_team", Items: []flowgladapitest.SubscriptionItem{{PriceSlug: flowgladapitest.DemoPriceTeamMonthly}},
	})
	require.NoError(t, err)
	env.calls()

	for _, key := range []string{"checkout-sessions/create-activate-subscription", "checkout-sessions/create-add-payment-method"} {
		t.Run(key, func(t *testing.T) {
			res := env.post(userAlice, key, `{`+urlsJSON+`, "targetSubscriptionId": "`+sub.ID+`"}`)
			assertCheckoutAnswer(t, res)
			assert.Equal(t, []string{"GET /api/v1/subscriptions/sub_alice_team", checkoutPost}, env.calls(),
				"billing came from the cache; the subscription is confirmed by id")
		})
	}
}

func TestCheckoutTargetOwnership(t *testing.T) {
	t.Parallel()
	keys := []string{"checkout-sessions/create-activate-subscription", "checkout-sessions/create-add-payment-method"}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			tests := []struct {
				name      string
				target    string
				wantCalls []string
			}{
				{"another customer's subscription", flowgladapitest.DemoAliceSubscriptionID, []string{bobBilling, "GET /api/v1/subscriptions/sub_alice_pro"}},
				{"a subscription that does not exist", "sub_nope", []string{bobBilling, "GET /api/v1/subscriptions/sub_nope"}},
				{"an id that needs escaping", "sub/../../customers", []string{bobBilling, "GET /api/v1/subscriptions/sub%2F..%2F..%2Fcustomers"}},
			}
			answers := []string{}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					env := newEnv(t)
					res := env.post(userBob, key, `{`+urlsJSON+`, "targetSubscriptionId": "`+tc.target+`"}`)
					answers = append(answers, assertForbidden(t, res, tc.target))
					assert.Equal(t, tc.wantCalls, env.calls(), "no checkout POST")
					assert.Empty(t, env.fake.CheckoutSessions())
				})
			}
			for _, a := range answers[1:] {
				assert.Equal(t, answers[0], a, "foreign and unknown ids get the same answer")
			}
		})
	}
	for _, key := range keys {
		env := newEnv(t)
		res := env.post(userBob, key, `{`+urlsJSON+`, "targetSubscriptionId": "sub_alice_pro"}`)
		assertGolden(t, key+"/forbidden", res)
	}
}

func TestPaymentMethodCheckoutInvalidBody(t *testing.T) {
	t.Parallel()
	common := []invalidBodyCase{
		{"relative success URL", `{"successUrl": "success", "cancelUrl": "https://a.example", "targetSubscriptionId": "sub_alice_pro"}`, []string{"successUrl"}},
		{"ftp cancel URL", `{"successUrl": "https://a.example", "cancelUrl": "ftp://a.example", "targetSubscriptionId": "sub_alice_pro"}`, []string{"cancelUrl"}},
		{"URLs missing", `{"targetSubscriptionId": "sub_alice_pro"}`, []string{"cancelUrl", "successUrl"}},
		{"target empty", `{` + urlsJSON + `, "targetSubscriptionId": ""}`, []string{"targetSubscriptionId"}},
		{"target null", `{` + urlsJSON + `, "targetSubscriptionId": null}`, []string{"targetSubscriptionId"}},
		{"target a number", `{` + urlsJSON + `, "targetSubscriptionId": 42}`, []string{"targetSubscriptionId"}},
		{"output metadata not an object", `{` + urlsJSON + `, "targetSubscriptionId": "sub_alice_pro", "outputMetadata": [1]}`, []string{"outputMetadata"}},
		{"output name not a string", `{` + urlsJSON + `, "targetSubscriptionId": "sub_alice_pro", "outputName": {}}`, []string{"outputName"}},
		{"several at once", `{"successUrl": "x", "targetSubscriptionId": 1, "outputMetadata": 1, "outputName": 1}`,
			[]string{"cancelUrl", "outputMetadata", "outputName", "successUrl", "targetSubscriptionId"}},
	}
	t.Run("add payment method", func(t *testing.T) {
		runInvalidBodyCases(t, userAlice, "checkout-sessions/create-add-payment-method", common)
	})
	t.Run("activate subscription", func(t *testing.T) {
		runInvalidBodyCases(t, userAlice, "checkout-sessions/create-activate-subscription", append(common,
			invalidBodyCase{"target missing", `{` + urlsJSON + `}`, []string{"targetSubscriptionId"}},
			invalidBodyCase{"empty", `{}`, []string{"cancelUrl", "successUrl", "targetSubscriptionId"}},
		))
	})
}

func TestPaymentMethodCheckoutGoldenInvalid(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	assertGolden(t, "checkout-sessions/create-add-payment-method/invalid-body",
		env.post(userAlice, "checkout-sessions/create-add-payment-method", `{"successUrl": "/ok", "targetSubscriptionId": ""}`))
	assertGolden(t, "checkout-sessions/create-activate-subscription/invalid-body",
		env.post(userAlice, "checkout-sessions/create-activate-subscription", `{"successUrl": "https://a.example", "cancelUrl": "https://a.example"}`))
	assert.Empty(t, env.calls())
}

// TestCreateCheckoutSessionUnknownCustomerAs400: the live server may refuse an unknown
// customer with a 400 rather than a 404; that is handled the same way.
func TestCreateCheckoutSessionUnknownCustomerAs400(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.fake.FailNext(1, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", Status: 400,
		Message: "Customer with externalId user_carol does not exist"})
	assertCheckoutAnswer(t, env.post(userCarol, "checkout-sessions/create", `{`+urlsJSON+`, "priceSlug": "pro-monthly"}`))
	assert.Equal(t, []string{checkoutPost, "GET /api/v1/customers/user_carol", "POST /api/v1/customers", checkoutPost}, env.calls())
	assert.Len(t, env.fake.CheckoutSessions(), 1)
}

// TestCheckoutPriceSlugCannotSteerCustomerCreation: a price slug that makes Flowglad's
// message mention a customer ("Price with slug customer not found") does not make the
// handler create the customer or post the checkout twice: a lookup shows the customer
// exists, and the refusal is answered as it is.
func TestCheckoutPriceSlugCannotSteerCustomerCreation(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	res := env.post(userAlice, "checkout-sessions/create", `{`+urlsJSON+`, "priceSlug": "customer"}`)
	res.assertError(t, 404, "not_found")
	assert.Equal(t, []string{checkoutPost, "GET /api/v1/customers/user_alice"}, env.calls())
	assert.Empty(t, env.fake.CheckoutSessions())
}
