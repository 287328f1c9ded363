package flowgladapitest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/spectest"
)

// TestSpecEveryRoute walks every route's happy path through the spectest
// middleware, so every 2xx body the fake can produce (billing in its
// various states included) is validated against the OpenAPI document's
// closed schemas. A violation fails the test via t.Errorf.
func TestSpecEveryRoute(t *testing.T) {
	spectest.Load(t) // skip without the document: validating is the point
	s := newSpecServer(t)
	alice, bob := "/api/v1/customers/"+DemoCustomerAlice, "/api/v1/customers/"+DemoCustomerBob
	aliceSub := DemoAliceSubscriptionID

	steps := []struct {
		name, method, path string
		body               any
	}{
		{"get customer", http.MethodGet, alice, nil},
		{"billing alice", http.MethodGet, alice + "/billing", nil},
		{"billing bob", http.MethodGet, bob + "/billing", nil},
		{"usage balances", http.MethodGet, alice + "/usage-balances", nil},
		{"usage balances filtered", http.MethodGet, alice + "/usage-balances?subscriptionId=" + aliceSub, nil},
		{"create customer", http.MethodPost, "/api/v1/customers",
			map[string]any{"customer": map[string]any{"externalId": DemoCustomerCarol, "email": "carol@example.com", "name": "Carol"}}},
		{"billing new customer", http.MethodGet, "/api/v1/customers/" + DemoCustomerCarol + "/billing", nil},
		{"update customer", http.MethodPut, alice,
			map[string]any{"customer": map[string]any{"name": "Alice B. Example",
				"billingAddress": map[string]any{"email": "alice.b@example.com", "address": map[string]any{"country": "US", "city": "Paris"}}}}},
		{"billing after update", http.MethodGet, alice + "/billing", nil},
		{"default pricing model", http.MethodGet, "/api/v1/pricing-models/default", nil},
		{"pricing model by id", http.MethodGet, "/api/v1/pricing-models/" + DemoPricingModelID, nil},
		{"get subscription", http.MethodGet, "/api/v1/subscriptions/" + aliceSub, nil},
		{"checkout product", http.MethodPost, "/api/v1/checkout-sessions",
			checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "anonymous": false, "outputMetadata": map[string]any{"plan": "pro"}, "outputName": "Bob's Pro"})},
		{"checkout anonymous", http.MethodPost, "/api/v1/checkout-sessions",
			checkoutBody("product", map[string]any{"anonymous": true, "priceSlug": DemoPriceCredits})},
		{"checkout add payment method", http.MethodPost, "/api/v1/checkout-sessions",
			checkoutBody("add_payment_method", map[string]any{"customerExternalId": DemoCustomerAlice, "targetSubscriptionId": aliceSub})},
		{"checkout activate", http.MethodPost, "/api/v1/checkout-sessions",
			checkoutBody("activate_subscription", map[string]any{"customerExternalId": DemoCustomerAlice, "targetSubscriptionId": aliceSub})},
		{"usage event by meter slug", http.MethodPost, "/api/v1/usage-events",
			map[string]any{"usageEvent": map[string]any{"subscriptionId": aliceSub, "amount": 3, "transactionId": "tx-1", "usageMeterSlug": DemoUsageMeterAPICalls}}},
		{"usage event by price slug", http.MethodPost, "/api/v1/usage-events",
			map[string]any{"usageEvent": map[string]any{"subscriptionId": aliceSub, "amount": 2, "transactionId": "tx-2", "priceSlug": DemoPriceAPICallsOverage, "usageDate": 1767225600000, "properties": map[string]any{"route": "/x"}}}},
		{"usage events bulk", http.MethodPost, "/api/v1/usage-events/bulk",
			map[string]any{"usageEvents": []any{
				map[string]any{"subscriptionId": aliceSub, "amount": 1, "transactionId": "tx-3", "usageMeterSlug": DemoUsageMeterAPICalls},
				map[string]any{"subscriptionId": aliceSub, "amount": 1, "transactionId": "tx-1", "usageMeterSlug": DemoUsageMeterAPICalls},
			}}},
		{"billing after usage", http.MethodGet, alice + "/billing", nil},
		{"claim quantity", http.MethodPost, "/api/v1/resource-claims/" + aliceSub + "/claim",
			map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 2, "metadata": map[string]any{"team": "a", "n": 1, "ok": true}}},
		{"claim external ids", http.MethodPost, "/api/v1/resource-claims/" + aliceSub + "/claim",
			map[string]any{"resourceSlug": DemoResourceSeats, "externalIds": []string{"u1", "u2"}}},
		{"claim usage", http.MethodGet, "/api/v1/resource-claims/" + aliceSub + "/usage?resourceSlug=" + DemoResourceSeats, nil},
		{"claim usages", http.MethodGet, "/api/v1/resource-claims/" + aliceSub + "/usages?resourceSlugs=seats&resourceSlugs=seats", nil},
		{"claim usages unfiltered", http.MethodGet, "/api/v1/resource-claims/" + aliceSub + "/usages", nil},
		{"claims", http.MethodGet, "/api/v1/resource-claims/" + aliceSub + "/claims?resourceSlug=" + DemoResourceSeats, nil},
		{"release", http.MethodPost, "/api/v1/resource-claims/" + aliceSub + "/release",
			map[string]any{"resourceSlug": DemoResourceSeats, "externalId": "u1"}},
		{"adjust up", http.MethodPost, "/api/v1/subscriptions/" + aliceSub + "/adjust",
			map[string]any{"adjustment": map[string]any{"timing": "auto", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceTeamMonthly, "quantity": 1}}}}},
		{"billing after adjust", http.MethodGet, alice + "/billing", nil},
		{"adjust down at period end", http.MethodPost, "/api/v1/subscriptions/" + aliceSub + "/adjust",
			map[string]any{"adjustment": map[string]any{"timing": "at_end_of_current_billing_period", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceProMonthly}}}}},
		{"cancel at end", http.MethodPost, "/api/v1/subscriptions/" + aliceSub + "/cancel",
			map[string]any{"cancellation": map[string]any{"timing": "at_end_of_current_billing_period"}}},
		{"billing cancellation scheduled", http.MethodGet, alice + "/billing", nil},
		{"uncancel", http.MethodPost, "/api/v1/subscriptions/" + aliceSub + "/uncancel", nil},
		{"cancel now", http.MethodPost, "/api/v1/subscriptions/" + aliceSub + "/cancel",
			map[string]any{"cancellation": map[string]any{"timing": "immediately"}}},
		{"billing after cancel", http.MethodGet, alice + "/billing", nil},
		{"create subscription", http.MethodPost, "/api/v1/subscriptions",
			map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceProMonthly, "metadata": map[string]any{"source": "test"}}},
		{"create usage subscription", http.MethodPost, "/api/v1/subscriptions",
			map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceAPICallsOverage}},
		{"billing two current", http.MethodGet, bob + "/billing", nil},
		{"archive", http.MethodPost, "/api/v1/customers/" + DemoCustomerCarol + "/archive", map[string]any{}},
	}
	for _, st := range steps {
		r := call(t, s, st.method, st.path, st.body)
		assert.Equal(t, http.StatusOK, r.status, "%s: %s", st.name, r.body)
	}

	// The hosted checkout completions produce purchases, invoices, cards
	// and subscriptions; billing must still validate afterwards.
	for _, cs := range s.CheckoutSessions() {
		_, err := s.CompleteCheckout(cs.ID)
		require.NoError(t, err)
	}
	for _, ext := range []string{DemoCustomerAlice, DemoCustomerBob} {
		r := call(t, s, http.MethodGet, "/api/v1/customers/"+url.PathEscape(ext)+"/billing", nil)
		assert.Equal(t, http.StatusOK, r.status)
	}
}

// TestSpecVariants builds the less common shapes (non-renewing and trialing
// subscriptions, a subscription purchase, a count-distinct meter with its
// generated price, explicit invoice lines, a bank account) and validates
// billing and the other bodies that carry them.
func TestSpecVariants(t *testing.T) {
	seed := DemoSeed()
	pm := &seed.PricingModel
	pm.UsageMeters = append(pm.UsageMeters, UsageMeter{Slug: "active-users", AggregationType: AggregationCountDistinctProperties})
	pm.Features = append(pm.Features, Feature{Slug: "once-credits", Type: FeatureUsageCreditGrant, Amount: 5, UsageMeter: "active-users", RenewalFrequency: RenewOnce})
	pm.Products = append(pm.Products, Product{
		Slug: "trial", Name: "Trial", Features: []string{"once-credits", DemoFeatureProSeats},
		Prices: []Price{
			{Slug: "trial-yearly", UnitPrice: 10000, Interval: "year", TrialPeriodDays: 14},
			{Slug: "trial-weekly", UnitPrice: 500, Interval: "week", IntervalCount: 2, Default: true},
		},
	})
	spectest.Load(t)
	s := newSpecServer(t, WithSeed(seed))

	_, err := s.AddCustomer(Customer{ExternalID: "user_dave", PaymentMethods: []PaymentMethod{{Type: "us_bank_account"}, {Brand: "mastercard", Last4: "4444"}}})
	require.NoError(t, err)
	trial, err := s.AddSubscription("user_dave", Subscription{Items: []SubscriptionItem{{PriceSlug: "trial-yearly", Quantity: 2}}, Metadata: map[string]any{"seats": 2}})
	require.NoError(t, err)
	assert.Equal(t, StatusTrialing, trial.Status)
	_, err = s.AddSubscription("user_dave", Subscription{NonRenewing: true, Status: StatusCreditTrial, Items: []SubscriptionItem{{PriceSlug: DemoPriceFreeMonthly}}})
	require.NoError(t, err)
	pastDue, err := s.AddSubscription("user_dave", Subscription{Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
	require.NoError(t, err)
	require.NoError(t, s.SetSubscriptionStatus(pastDue.ID, StatusPastDue))
	_, err = s.AddSubscription("user_dave", Subscription{NonRenewing: true, Status: StatusCanceled, Items: []SubscriptionItem{{PriceSlug: DemoPriceFreeMonthly}}})
	require.NoError(t, err)
	pur, err := s.AddPurchase("user_dave", Purchase{PriceSlug: DemoPriceTeamMonthly})
	require.NoError(t, err)
	_, err = s.AddInvoice("user_dave", Invoice{PurchaseID: pur.ID, Status: "open", LineItems: []InvoiceLineItem{{Description: "Team", PriceSlug: DemoPriceTeamMonthly, Price: 5000}, {Description: "Setup fee", Price: 1500}}})
	require.NoError(t, err)

	ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": map[string]any{
		"subscriptionId": trial.ID, "amount": 1, "transactionId": "tx-au", "usageMeterSlug": "active-users", "properties": map[string]any{"user": "u1"},
	}}))
	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/user_dave/billing", nil))
	assert.Len(t, billing["currentSubscriptions"], 3)
	assert.Len(t, billing["subscriptions"], 4)
	bal, _ := s.UsageBalance(trial.ID, "active-users")
	assert.InDelta(t, 9, bal, 0, "5 credits x 2 items - 1")

	for _, path := range []string{
		"/api/v1/subscriptions/" + trial.ID,
		"/api/v1/customers/user_dave/usage-balances",
		"/api/v1/resource-claims/" + trial.ID + "/usages",
		"/api/v1/pricing-models/default",
	} {
		assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, path, nil).status, path)
	}
	r := call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": map[string]any{
		"subscriptionId": trial.ID, "amount": 1, "transactionId": "tx-au2", "usageMeterSlug": "active-users",
	}})
	assert.Equal(t, http.StatusBadRequest, r.status, "count_distinct_properties needs properties")
}
