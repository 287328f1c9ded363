package flowgladapitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	s := newPlainServer(t)
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantPrefix string
	}{
		{"bare key", s.APIKey(), http.StatusOK, ""},
		{"bearer", "Bearer " + s.APIKey(), http.StatusOK, ""},
		{"bearer any case", "bEaReR " + s.APIKey(), http.StatusOK, ""},
		{"missing", "", http.StatusUnauthorized, "Unauthorized. Authorization header is required"},
		{"wrong key", "sk_test_other", http.StatusUnauthorized, "API key invalid."},
		{"wrong bearer", "Bearer sk_test_other", http.StatusUnauthorized, "API key invalid."},
		{"other scheme", "Basic " + s.APIKey(), http.StatusUnauthorized, "API key invalid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := callAuth(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil, tt.auth)
			assert.Equal(t, tt.wantStatus, r.status)
			assert.NotEmpty(t, r.header.Get("X-Request-Id"))
			if tt.wantPrefix != "" {
				assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
				assert.True(t, strings.HasPrefix(string(r.body), tt.wantPrefix), "body %q", r.body)
			}
		})
	}
}

func TestWithAPIKey(t *testing.T) {
	s := newPlainServer(t, WithAPIKey("sk_test_mine"))
	assert.Equal(t, "sk_test_mine", s.APIKey())
	assert.Equal(t, http.StatusOK, callAuth(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil, "sk_test_mine").status)
	assert.Equal(t, http.StatusUnauthorized, callAuth(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil, DefaultAPIKey).status)
}

func TestUnknownRoutes(t *testing.T) {
	s := newPlainServer(t)
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/nope"},
		{http.MethodDelete, "/api/v1/customers/" + DemoCustomerAlice},
		{http.MethodGet, "/api/v1/customers"},
		{http.MethodGet, "/api/v1/usage-events/bulk"},
		{http.MethodGet, "/"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := call(t, s, tt.method, tt.path, nil)
			assert.Equal(t, http.StatusNotFound, r.status)
			assert.Equal(t, "Not Found", string(r.body))
			assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
			assert.NotEmpty(t, r.header.Get("X-Request-Id"))
		})
	}
}

// TestErrors checks the live server's error shape, {"error", "code",
// "request_id"}, for validation failures (400), missing records (404) and
// conflicts (409).
func TestErrors(t *testing.T) {
	s := newPlainServer(t)
	sub := "/api/v1/subscriptions/" + DemoAliceSubscriptionID
	claim := "/api/v1/resource-claims/" + DemoAliceSubscriptionID
	usage := func(fields map[string]any) map[string]any {
		ev := map[string]any{"subscriptionId": DemoAliceSubscriptionID, "amount": 1, "transactionId": "tx", "usageMeterSlug": DemoUsageMeterAPICalls}
		for k, v := range fields {
			if v == nil {
				delete(ev, k)
			} else {
				ev[k] = v
			}
		}
		return map[string]any{"usageEvent": ev}
	}
	tests := []refusalCase{
		{"invalid json", http.MethodPost, "/api/v1/usage-events", `{"usageEvent":`, 400, "", "Invalid JSON in request body"},
		{"archive empty body", http.MethodPost, "/api/v1/customers/" + DemoCustomerBob + "/archive", nil, 400, "", "Invalid JSON in request body"},
		{"cancel empty body", http.MethodPost, sub + "/cancel", nil, 400, "", "Invalid JSON in request body"},
		{"customer missing email", http.MethodPost, "/api/v1/customers", map[string]any{"customer": map[string]any{"externalId": "x", "name": "X"}}, 400, "BAD_REQUEST", "customer.email: Required"},
		{"customer missing wrapper", http.MethodPost, "/api/v1/customers", map[string]any{"externalId": "x"}, 400, "BAD_REQUEST", "customer: Required"},
		{"duplicate customer", http.MethodPost, "/api/v1/customers", map[string]any{"customer": map[string]any{"externalId": DemoCustomerAlice, "email": "a@example.com", "name": "A"}}, 409, "CONFLICT", "already exists"},
		{"usage amount zero", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"amount": 0}), 400, "BAD_REQUEST", "amount: Number must be greater than 0"},
		{"usage amount fraction", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"amount": 1.5}), 400, "BAD_REQUEST", "Expected integer"},
		{"usage amount string", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"amount": "1"}), 400, "BAD_REQUEST", "Expected number, received string"},
		{"usage two identifiers", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"priceSlug": DemoPriceAPICallsOverage}), 400, "BAD_REQUEST", "Exactly one of"},
		{"usage no identifier", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"usageMeterSlug": nil}), 400, "BAD_REQUEST", "Exactly one of"},
		{"usage no transaction", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"transactionId": nil}), 400, "BAD_REQUEST", "transactionId: Required"},
		{"usage non-usage price", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"usageMeterSlug": nil, "priceSlug": DemoPriceProMonthly}), 400, "BAD_REQUEST", "not a usage price"},
		{"usage unknown subscription", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"subscriptionId": "sub_nope"}), 404, "NOT_FOUND", "Subscription not found"},
		{"usage unknown meter", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"usageMeterSlug": "nope"}), 404, "NOT_FOUND", "Usage meter nope not found"},
		{"checkout no price", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerAlice}), 400, "BAD_REQUEST", "priceId or priceSlug"},
		{"checkout both prices", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceProMonthly, "priceId": "price_1"}), 400, "BAD_REQUEST", "priceId or priceSlug"},
		{"checkout quantity zero", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceProMonthly, "quantity": 0}), 400, "BAD_REQUEST", "quantity"},
		{"checkout relative url", http.MethodPost, "/api/v1/checkout-sessions", map[string]any{"checkoutSession": map[string]any{"type": "product", "customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceProMonthly, "successUrl": "/ok", "cancelUrl": "https://x.example/"}}, 400, "BAD_REQUEST", "successUrl: Invalid url"},
		{"checkout bad type", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("subscription", nil), 400, "BAD_REQUEST", "checkoutSession.type"},
		{"checkout unknown customer", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("product", map[string]any{"customerExternalId": "user_zed", "priceSlug": DemoPriceProMonthly}), 404, "NOT_FOUND", "Customer with externalId user_zed not found"},
		{"checkout unknown price", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": "gold"}), 404, "NOT_FOUND", "Price with slug gold not found"},
		{"checkout foreign target", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("add_payment_method", map[string]any{"customerExternalId": DemoCustomerBob, "targetSubscriptionId": DemoAliceSubscriptionID}), 400, "BAD_REQUEST", "does not belong"},
		{"checkout activate no target", http.MethodPost, "/api/v1/checkout-sessions", checkoutBody("activate_subscription", map[string]any{"customerExternalId": DemoCustomerBob}), 400, "BAD_REQUEST", "targetSubscriptionId: Required"},
		{"cancel bad timing", http.MethodPost, sub + "/cancel", map[string]any{"cancellation": map[string]any{"timing": "later"}}, 400, "BAD_REQUEST", "cancellation.timing"},
		{"uncancel active", http.MethodPost, sub + "/uncancel", nil, 400, "BAD_REQUEST", "not scheduled for cancellation"},
		{"adjust no items", http.MethodPost, sub + "/adjust", map[string]any{"adjustment": map[string]any{"timing": "auto", "newSubscriptionItems": []any{}}}, 400, "BAD_REQUEST", "at least 1"},
		{"adjust item without price", http.MethodPost, sub + "/adjust", map[string]any{"adjustment": map[string]any{"timing": "auto", "newSubscriptionItems": []any{map[string]any{"quantity": 2}}}}, 400, "BAD_REQUEST", "Exactly one of"},
		{"adjust single payment price", http.MethodPost, sub + "/adjust", map[string]any{"adjustment": map[string]any{"timing": "auto", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceCredits}}}}, 400, "BAD_REQUEST", "subscription prices"},
		{"claim two selectors", http.MethodPost, claim + "/claim", map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 1, "externalId": "u"}, 400, "BAD_REQUEST", "Exactly one of quantity, externalId, or externalIds"},
		{"claim no slug", http.MethodPost, claim + "/claim", map[string]any{"quantity": 1}, 400, "BAD_REQUEST", "resourceSlug: Required"},
		{"claim over capacity", http.MethodPost, claim + "/claim", map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 6}, 400, "BAD_REQUEST", "Cannot claim 6 seats: 5 of 5 available"},
		{"claim unknown resource", http.MethodPost, claim + "/claim", map[string]any{"resourceSlug": "desks", "quantity": 1}, 404, "NOT_FOUND", "Resource with slug desks not found"},
		{"release no selector", http.MethodPost, claim + "/release", map[string]any{"resourceSlug": DemoResourceSeats}, 400, "BAD_REQUEST", "Exactly one of"},
		{"release unknown external id", http.MethodPost, claim + "/release", map[string]any{"resourceSlug": DemoResourceSeats, "externalId": "ghost"}, 404, "NOT_FOUND", "externalId ghost"},
		{"release too many", http.MethodPost, claim + "/release", map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 1}, 400, "BAD_REQUEST", "only 0 exist"},
		{"usage both refs", http.MethodGet, claim + "/usage?resourceSlug=seats&resourceId=res_1", nil, 400, "BAD_REQUEST", "Exactly one of resourceSlug or resourceId"},
		{"subscription two customers", http.MethodPost, "/api/v1/subscriptions", map[string]any{"customerId": DemoAliceCustomerID, "customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceProMonthly}, 400, "BAD_REQUEST", "Exactly one of customerId, or customerExternalId"},
		{"subscription start date", http.MethodPost, "/api/v1/subscriptions", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceProMonthly, "startDate": "2026-01-01"}, 400, "BAD_REQUEST", "startDate"},
		{"subscription do not charge with pm", http.MethodPost, "/api/v1/subscriptions", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceProMonthly, "doNotCharge": true, "defaultPaymentMethodId": "pmeth_1"}, 400, "BAD_REQUEST", "doNotCharge"},
		{"get unknown customer", http.MethodGet, "/api/v1/customers/user_zed", nil, 404, "NOT_FOUND", "Customer not found"},
		{"billing unknown customer", http.MethodGet, "/api/v1/customers/user_zed/billing", nil, 404, "NOT_FOUND", "Customer not found"},
		{"update unknown customer", http.MethodPut, "/api/v1/customers/user_zed", map[string]any{"customer": map[string]any{"name": "Z"}}, 404, "NOT_FOUND", "Customer not found"},
		{"get unknown subscription", http.MethodGet, "/api/v1/subscriptions/sub_nope", nil, 404, "NOT_FOUND", "Subscription not found"},
		{"unknown pricing model", http.MethodGet, "/api/v1/pricing-models/pm_nope", nil, 404, "NOT_FOUND", "Pricing model not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, tt.method, tt.path, tt.body)
			assertAPIError(t, r, tt.wantStatus, tt.wantCode, tt.wantMessage)
			assert.True(t, strings.HasPrefix(r.header.Get("X-Request-Id"), "req_"))
		})
	}
}

// TestNewWithoutServer mounts a bare Fake (as an example app does) and
// checks that URLs it hands out follow the request's host.
func TestNewWithoutServer(t *testing.T) {
	f := New(WithSeed(DemoSeed()), WithClock(fixedClock))
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s := &Server{Fake: f, URL: srv.URL, HTTPServer: srv}

	m := ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions",
		checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly})))
	assert.Equal(t, srv.URL+"/checkout/"+dig(t, m, "checkoutSession", "id").(string), m["url"])
	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerBob+"/billing", nil))
	assert.Equal(t, srv.URL+"/billing-portal/"+DemoBobCustomerID, billing["billingPortalUrl"])
}

func TestWithCheckoutBaseURL(t *testing.T) {
	s := newPlainServer(t, WithCheckoutBaseURL("https://pay.example.com/c/"))
	m := ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions",
		checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly})))
	assert.Equal(t, "https://pay.example.com/c/"+dig(t, m, "checkoutSession", "id").(string), m["url"])
}

// TestDeterministic: the same seed and clock give the same bytes, so
// golden files built on the fake are stable.
func TestDeterministic(t *testing.T) {
	render := func() string {
		f := New(WithSeed(DemoSeed()), WithClock(fixedClock))
		post := httptest.NewRequest(http.MethodPost, "http://fake.test/api/v1/customers",
			strings.NewReader(`{"customer":{"externalId":"user_carol","email":"carol@example.com","name":"Carol"}}`))
		post.Header.Set("Authorization", f.APIKey())
		f.ServeHTTP(httptest.NewRecorder(), post)
		get := httptest.NewRequest(http.MethodGet, "http://fake.test/api/v1/customers/user_carol/billing", nil)
		get.Header.Set("Authorization", f.APIKey())
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, get)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec.Body.String()
	}
	first := render()
	assert.Equal(t, first, render())
	assert.Contains(t, first, `"id":"cus_1"`)
	assert.Contains(t, first, `"id":"sub_1"`)
	assert.Contains(t, first, `"billingPortalUrl":"http://fake.test/billing-portal/cus_1"`)
}
