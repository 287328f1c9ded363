package flowgladapitest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateCustomerGetsDefaultPlan(t *testing.T) {
	s := newSpecServer(t)
	m := ok(t, call(t, s, http.MethodPost, "/api/v1/customers",
		map[string]any{"customer": map[string]any{"externalId": DemoCustomerCarol, "email": "carol@example.com", "name": "Carol"}}))
	subID := dig(t, m, "data", "subscription", "id").(string)
	assert.Equal(t, true, dig(t, m, "data", "subscription", "isFreePlan"))
	assert.Len(t, dig(t, m, "data", "subscriptionItems"), 1)

	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerCarol+"/billing", nil))
	cur := billing["currentSubscription"]
	assert.Equal(t, subID, dig(t, cur, "id"))
	assert.Equal(t, []string{DemoFeatureBasic, DemoFeatureFreeAPICalls}, featureSlugs(t, cur))
	assert.InDelta(t, 100, balanceOf(t, cur, DemoUsageMeterAPICalls), 0)

	c, found := s.Customer(DemoCustomerCarol)
	require.True(t, found)
	assert.Equal(t, "Carol", c.Name)
	require.Len(t, c.Subscriptions, 1)
	assert.Equal(t, DemoPriceFreeMonthly, c.Subscriptions[0].Items[0].PriceSlug)
}

func TestUpdateAndArchiveCustomer(t *testing.T) {
	s := newSpecServer(t)
	path := "/api/v1/customers/" + DemoCustomerBob
	m := ok(t, call(t, s, http.MethodPut, path, map[string]any{"customer": map[string]any{"name": "Robert", "domain": "bob.example"}}))
	assert.Equal(t, "Robert", dig(t, m, "customer", "name"))
	assert.Equal(t, "bob.example", dig(t, m, "customer", "domain"))
	assert.Equal(t, "bob@example.com", dig(t, m, "customer", "email"))

	m = ok(t, call(t, s, http.MethodPost, path+"/archive", map[string]any{}))
	assert.Equal(t, true, dig(t, m, "customer", "archived"))
	sub, _ := s.Subscription(DemoBobSubscriptionID)
	assert.Equal(t, StatusCanceled, sub.Status, "archiving cancels current subscriptions")
	assert.Equal(t, http.StatusNotFound, call(t, s, http.MethodGet, path, nil).status)

	// The external id is free again.
	ok(t, call(t, s, http.MethodPost, "/api/v1/customers",
		map[string]any{"customer": map[string]any{"externalId": DemoCustomerBob, "email": "bob2@example.com", "name": "Bob 2"}}))
	c, _ := s.Customer(DemoCustomerBob)
	assert.NotEqual(t, DemoBobCustomerID, c.ID)
	assert.Len(t, s.Customers(), 3)
}

func usageBody(tx string, amount int) map[string]any {
	return map[string]any{"usageEvent": map[string]any{
		"subscriptionId": DemoAliceSubscriptionID, "amount": amount, "transactionId": tx, "usageMeterSlug": DemoUsageMeterAPICalls,
	}}
}

func TestUsageEvents(t *testing.T) {
	s := newSpecServer(t)
	first := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-a", 10)))
	again := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-a", 10)))
	assert.Equal(t, dig(t, first, "usageEvent", "id"), dig(t, again, "usageEvent", "id"), "same transactionId, same event")
	ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-b", 5)))

	events := s.UsageEvents()
	require.Len(t, events, 2)
	assert.Equal(t, DemoUsageMeterAPICalls, events[0].UsageMeterSlug)
	assert.Equal(t, testNow, events[0].UsageDate)
	bal, found := s.UsageBalance(DemoAliceSubscriptionID, DemoUsageMeterAPICalls)
	require.True(t, found)
	assert.InDelta(t, 1000-15, bal, 0)

	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/billing", nil))
	assert.InDelta(t, 985, balanceOf(t, billing["currentSubscription"], DemoUsageMeterAPICalls), 0)
	balances := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/usage-balances", nil))
	assert.InDelta(t, 985, dig(t, balances, "usageMeterBalances", 0, "availableBalance"), 0)
	one := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/usage-balances?subscriptionId="+DemoAliceSubscriptionID, nil))
	assert.InDelta(t, 985, dig(t, one, "usageMeterBalances", 0, "availableBalance"), 0)
	foreign := call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/usage-balances?subscriptionId="+DemoBobSubscriptionID, nil)
	assert.Equal(t, http.StatusNotFound, foreign.status, "another customer's subscription, as on the live server")

	t.Run("bulk is all or nothing", func(t *testing.T) {
		bad := call(t, s, http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{"usageEvents": []any{
			usageBody("tx-c", 1)["usageEvent"],
			map[string]any{"subscriptionId": DemoAliceSubscriptionID, "amount": 1, "transactionId": "tx-d", "usageMeterSlug": DemoUsageMeterAPICalls, "priceSlug": DemoPriceAPICallsOverage},
		}})
		assert.Equal(t, http.StatusBadRequest, bad.status)
		assert.Contains(t, string(bad.body), "usageEvents[1].priceSlug")
		assert.Len(t, s.UsageEvents(), 2)

		m := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{"usageEvents": []any{
			usageBody("tx-c", 1)["usageEvent"], usageBody("tx-a", 10)["usageEvent"],
		}}))
		assert.Len(t, m["usageEvents"], 1, "tx-a is recorded already: left out of the answer")
		assert.Len(t, s.UsageEvents(), 3, "tx-a is not counted twice")
	})

}

func TestResourceClaims(t *testing.T) {
	s := newSpecServer(t)
	base := "/api/v1/resource-claims/" + DemoAliceSubscriptionID
	claimBody := func(k string, v any) map[string]any {
		return map[string]any{"resourceSlug": DemoResourceSeats, k: v}
	}
	usage := func(m map[string]any) []float64 {
		u := m["usage"].(map[string]any)
		return []float64{u["capacity"].(float64), u["claimed"].(float64), u["available"].(float64)}
	}

	m := ok(t, call(t, s, http.MethodPost, base+"/claim", claimBody("quantity", 2)))
	assert.Equal(t, []float64{5, 2, 3}, usage(m))
	assert.Len(t, m["claims"], 2)

	m = ok(t, call(t, s, http.MethodPost, base+"/claim", claimBody("externalId", "u1")))
	u1 := dig(t, m, "claims", 0, "id")
	m = ok(t, call(t, s, http.MethodPost, base+"/claim", claimBody("externalIds", []string{"u1", "u2"})))
	assert.Equal(t, u1, dig(t, m, "claims", 0, "id"), "externalId claims are idempotent")
	assert.Equal(t, []float64{5, 4, 1}, usage(m))

	r := call(t, s, http.MethodPost, base+"/claim", claimBody("quantity", 2))
	assert.Equal(t, http.StatusBadRequest, r.status, "over capacity")
	assert.Len(t, s.Claims(DemoAliceSubscriptionID), 4, "a refused claim claims nothing")

	m = ok(t, call(t, s, http.MethodPost, base+"/release", claimBody("quantity", 1)))
	assert.Equal(t, []float64{5, 3, 2}, usage(m))
	assert.Nil(t, dig(t, m, "releasedClaims", 0, "externalId"), "quantity releases anonymous claims")
	assert.NotNil(t, dig(t, m, "releasedClaims", 0, "releasedAt"))

	m = ok(t, call(t, s, http.MethodPost, base+"/release", claimBody("claimIds", []any{u1})))
	assert.Equal(t, []float64{5, 2, 3}, usage(m))

	claims := s.Claims(DemoAliceSubscriptionID)
	require.Len(t, claims, 2)
	assert.Equal(t, "", claims[0].ExternalID)
	assert.Equal(t, "u2", claims[1].ExternalID)

	m = ok(t, call(t, s, http.MethodGet, base+"/claims", nil))
	assert.Len(t, m["claims"], 2)
	m = ok(t, call(t, s, http.MethodGet, base+"/usage?resourceSlug="+DemoResourceSeats, nil))
	assert.Equal(t, []float64{5, 2, 3}, usage(m))

	// An upgrade to Team raises the capacity to 20.
	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/adjust",
		map[string]any{"adjustment": map[string]any{"timing": "immediately", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceTeamMonthly}}}}))
	r = call(t, s, http.MethodGet, base+"/usages?resourceSlugs="+DemoResourceSeats+"&resourceSlugs="+DemoResourceSeats, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, string(r.body), `"capacity":20,"claimed":2,"available":18`)
	assert.True(t, strings.HasPrefix(string(r.body), "["), "usages is a bare array")

	// Bob (Free) has no seats at all.
	r = call(t, s, http.MethodGet, "/api/v1/resource-claims/"+DemoBobSubscriptionID+"/usages", nil)
	assert.Equal(t, "[]", string(r.body))
}

func TestCancelUncancel(t *testing.T) {
	s := newSpecServer(t)
	path := "/api/v1/subscriptions/" + DemoAliceSubscriptionID
	cancel := func(timing string) response {
		return call(t, s, http.MethodPost, path+"/cancel", map[string]any{"cancellation": map[string]any{"timing": timing}})
	}

	m := ok(t, cancel("at_end_of_current_billing_period"))
	assert.Equal(t, StatusCancellationScheduled, dig(t, m, "subscription", "status"))
	assert.Equal(t, dig(t, m, "subscription", "currentBillingPeriodEnd"), dig(t, m, "subscription", "cancelScheduledAt"))
	assert.Equal(t, true, dig(t, m, "subscription", "current"))

	m = ok(t, call(t, s, http.MethodPost, path+"/uncancel", nil))
	assert.Equal(t, StatusActive, dig(t, m, "subscription", "status"))
	assert.Nil(t, dig(t, m, "subscription", "cancelScheduledAt"))
	assert.Equal(t, http.StatusBadRequest, call(t, s, http.MethodPost, path+"/uncancel", "").status)

	m = ok(t, cancel("immediately"))
	assert.Equal(t, StatusCanceled, dig(t, m, "subscription", "status"))
	assert.Equal(t, float64(testNow.UnixMilli()), dig(t, m, "subscription", "canceledAt"))
	assert.Equal(t, false, dig(t, m, "subscription", "current"))
	assert.Equal(t, http.StatusBadRequest, cancel("immediately").status, "already canceled")

	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/billing", nil))
	assert.NotContains(t, billing, "currentSubscription", "absent, never null")
	assert.Empty(t, billing["currentSubscriptions"])
	assert.Len(t, billing["subscriptions"], 1)
	assert.NotContains(t, dig(t, billing, "subscriptions", 0), "experimental")

	sub, _ := s.Subscription(DemoAliceSubscriptionID)
	assert.Equal(t, testNow, sub.CanceledAt)
	assert.False(t, sub.Current())
}

func TestAdjust(t *testing.T) {
	s := newSpecServer(t)
	path := "/api/v1/subscriptions/" + DemoAliceSubscriptionID + "/adjust"
	adjust := func(timing, slug string, quantity int) map[string]any {
		return ok(t, call(t, s, http.MethodPost, path, map[string]any{"adjustment": map[string]any{
			"timing": timing, "newSubscriptionItems": []any{map[string]any{"priceSlug": slug, "quantity": quantity}},
		}}))
	}
	teamPrice := ""
	pm := ok(t, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil))
	for _, p := range dig(t, pm, "pricingModel", "products").([]any) {
		if p.(map[string]any)["slug"] == DemoProductTeam {
			teamPrice = dig(t, p, "defaultPrice", "id").(string)
		}
	}

	m := adjust("auto", DemoPriceTeamMonthly, 1)
	assert.Equal(t, "immediately", m["resolvedTiming"])
	assert.Equal(t, true, m["isUpgrade"])
	assert.Equal(t, teamPrice, dig(t, m, "subscription", "priceId"))
	assert.Equal(t, teamPrice, dig(t, m, "subscriptionItems", 0, "priceId"))
	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/billing", nil))
	assert.Contains(t, featureSlugs(t, billing["currentSubscription"]), DemoFeatureSSO)
	assert.InDelta(t, 10000, balanceOf(t, billing["currentSubscription"], DemoUsageMeterAPICalls), 0)

	m = adjust("auto", DemoPriceProMonthly, 1)
	assert.Equal(t, "at_end_of_current_billing_period", m["resolvedTiming"])
	assert.Equal(t, false, m["isUpgrade"])
	assert.Equal(t, teamPrice, dig(t, m, "subscription", "priceId"), "a downgrade waits for the period end")
	assert.Equal(t, dig(t, m, "subscription", "currentBillingPeriodEnd"), dig(t, m, "subscription", "scheduledAdjustmentAt"))
	sub, _ := s.Subscription(DemoAliceSubscriptionID)
	require.Len(t, sub.ScheduledItems, 1)
	assert.Equal(t, DemoPriceProMonthly, sub.ScheduledItems[0].PriceSlug)

	m = adjust("immediately", DemoPriceProMonthly, 3)
	assert.Equal(t, true, m["isUpgrade"], "3 x $20 is more than $50")
	assert.Nil(t, dig(t, m, "subscription", "scheduledAdjustmentAt"))
	r := call(t, s, http.MethodPost, "/api/v1/resource-claims/"+DemoAliceSubscriptionID+"/claim", map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 15})
	assert.Equal(t, http.StatusOK, r.status, "3 Pro items give 15 seats: %s", r.body)
}

func TestSubscriptionsCreate(t *testing.T) {
	s := newSpecServer(t)
	m := ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions",
		map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceTeamMonthly, "quantity": 2}))
	newID := dig(t, m, "subscription", "id").(string)
	free, _ := s.Subscription(DemoBobSubscriptionID)
	assert.Equal(t, StatusCanceled, free.Status, "the free plan is replaced")
	assert.Equal(t, newID, free.ReplacedBySubscriptionID)

	// A test can still give a customer two current subscriptions.
	_, err := s.AddSubscription(DemoCustomerBob, Subscription{Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
	require.NoError(t, err)
	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerBob+"/billing", nil))
	assert.Len(t, billing["currentSubscriptions"], 2)
	assert.Len(t, billing["subscriptions"], 3)
}

func TestCheckoutFlow(t *testing.T) {
	s := newSpecServer(t)
	noRedirect := browserOf(s)

	create := func(typ string, fields map[string]any) (id, url string) {
		m := ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions", checkoutBody(typ, fields)))
		return dig(t, m, "checkoutSession", "id").(string), m["url"].(string)
	}
	complete := func(url string) {
		page, err := noRedirect.Get(url)
		require.NoError(t, err)
		html := readBody(t, page)
		assert.Equal(t, "text/html; charset=utf-8", page.Header.Get("Content-Type"))
		assert.Contains(t, html, `id="complete-checkout"`)
		assert.Contains(t, html, `href="https://app.example.com/cancel"`)
		completeCheckout(t, noRedirect, url)
	}

	t.Run("subscription price moves the current plan", func(t *testing.T) {
		id, url := create("product", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly})
		assert.Equal(t, s.URL+"/checkout/"+id, url)
		complete(url)
		sub, _ := s.Subscription(DemoBobSubscriptionID)
		assert.Equal(t, DemoPriceProMonthly, sub.Items[0].PriceSlug)
		assert.Equal(t, "Pro", sub.Name)
		sessions := s.CheckoutSessions()
		assert.Equal(t, "succeeded", sessions[len(sessions)-1].Status)
		assert.Equal(t, DemoBobSubscriptionID, sessions[len(sessions)-1].Result)
	})

	t.Run("subscription price without a plan creates one", func(t *testing.T) {
		require.NoError(t, s.SetSubscriptionStatus(DemoAliceSubscriptionID, StatusCanceled))
		_, url := create("product", map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceTeamMonthly})
		complete(url)
		c, _ := s.Customer(DemoCustomerAlice)
		require.Len(t, c.Subscriptions, 2)
		assert.Equal(t, StatusActive, c.Subscriptions[1].Status)
		assert.Equal(t, DemoPriceTeamMonthly, c.Subscriptions[1].Items[0].PriceSlug)
	})

	t.Run("single payment", func(t *testing.T) {
		_, url := create("product", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceCredits, "quantity": 2})
		complete(url)
		c, _ := s.Customer(DemoCustomerBob)
		require.Len(t, c.Purchases, 1)
		assert.Equal(t, int64(2), c.Purchases[0].Quantity)
		assert.Equal(t, c.Purchases[0].ID, c.Invoices[len(c.Invoices)-1].PurchaseID)
		billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerBob+"/billing", nil))
		assert.Len(t, billing["purchases"], 1)
	})

	t.Run("add payment method", func(t *testing.T) {
		_, url := create("add_payment_method", map[string]any{"customerExternalId": DemoCustomerBob, "targetSubscriptionId": DemoBobSubscriptionID})
		complete(url)
		c, _ := s.Customer(DemoCustomerBob)
		require.NotEmpty(t, c.PaymentMethods)
		pm := c.PaymentMethods[len(c.PaymentMethods)-1]
		assert.True(t, pm.Default)
		sub, _ := s.Subscription(DemoBobSubscriptionID)
		assert.Equal(t, pm.ID, sub.DefaultPaymentMethodID)
	})

	t.Run("activate subscription", func(t *testing.T) {
		require.NoError(t, s.SetSubscriptionStatus(DemoBobSubscriptionID, StatusIncomplete))
		_, url := create("activate_subscription", map[string]any{"customerExternalId": DemoCustomerBob, "targetSubscriptionId": DemoBobSubscriptionID})
		complete(url)
		sub, _ := s.Subscription(DemoBobSubscriptionID)
		assert.Equal(t, StatusActive, sub.Status)
	})

	t.Run("completed page and unknown session", func(t *testing.T) {
		id, url := create("product", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceTeamMonthly})
		to, err := s.CompleteCheckout(id)
		require.NoError(t, err)
		assert.Equal(t, "https://app.example.com/success", to)
		page, err := noRedirect.Get(url)
		require.NoError(t, err)
		html := readBody(t, page)
		assert.NotContains(t, html, "complete-checkout")
		assert.Contains(t, html, "succeeded")

		resp, err := noRedirect.Get(s.URL + "/checkout/cs_nope")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		_, err = s.CompleteCheckout("cs_nope")
		assert.Error(t, err)
	})
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestSeedErrors(t *testing.T) {
	valid := DemoSeed
	tests := []seedCase{
		{"unknown feature", func(s *Seed) { s.PricingModel.Products[0].Features = []string{"nope"} }, `unknown feature "nope"`},
		{"product without price", func(s *Seed) { s.PricingModel.Products[0].Prices = nil }, "has no price"},
		{"duplicate price slug", func(s *Seed) { s.PricingModel.Products[1].Prices[0].Slug = DemoPriceFreeMonthly }, "used twice"},
		{"unknown subscription price", func(s *Seed) { s.Customers[0].Subscriptions[0].Items[0].PriceSlug = "gold" }, "gold"},
		{"duplicate customer", func(s *Seed) { s.Customers[1].ExternalID = DemoCustomerAlice }, "already exists"},
		{"duplicate id", func(s *Seed) { s.Customers[1].ID = DemoAliceCustomerID }, "used twice"},
		{"bad status", func(s *Seed) { s.Customers[0].Subscriptions[0].Status = "sleeping" }, "sleeping"},
		{"two defaults", func(s *Seed) { s.PricingModel.Products[1].Default = true }, "more than one default"},
		{"credit grant without meter", func(s *Seed) { s.PricingModel.Features[3].UsageMeter = "" }, "unknown usage meter"},
		{"invoice for someone else", func(s *Seed) { s.Customers[1].Invoices = []Invoice{{SubscriptionID: DemoAliceSubscriptionID}} }, "not this customer's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Contains(t, seedError(t, tt.mutate), tt.wantErr)
		})
	}
	assert.Panics(t, func() {
		seed := valid()
		seed.PricingModel.Products[0].Prices = nil
		New(WithSeed(seed))
	})
	assert.NotPanics(t, func() { New() }, "an empty fake is valid")
}

func TestEmptyFake(t *testing.T) {
	s := NewServer(t, WithClock(fixedClock))
	m := ok(t, call(t, s, http.MethodPost, "/api/v1/customers",
		map[string]any{"customer": map[string]any{"externalId": "u", "email": "u@example.com", "name": "U"}}))
	assert.NotContains(t, m["data"], "subscription", "no default product, no subscription")
	pm := ok(t, call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil))
	assert.Equal(t, s.PricingModelID(), dig(t, pm, "pricingModel", "id"))
}

// TestConcurrentUsage drives the fake from many goroutines; run with -race.
func TestConcurrentUsage(t *testing.T) {
	s := newPlainServer(t)
	var wg sync.WaitGroup
	statuses := make([]int, 40)
	for i := range statuses {
		wg.Go(func() {
			// Two requests per transaction id: each must be counted once.
			body := fmt.Sprintf(`{"usageEvent":{"subscriptionId":%q,"amount":1,"transactionId":"tx-%d","usageMeterSlug":"api-calls"}}`, DemoAliceSubscriptionID, i/2)
			req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/usage-events", strings.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Authorization", s.APIKey())
			resp, err := s.HTTPServer.Client().Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for _, st := range statuses {
		assert.Equal(t, http.StatusOK, st)
	}
	assert.Len(t, s.UsageEvents(), 20)
	bal, _ := s.UsageBalance(DemoAliceSubscriptionID, DemoUsageMeterAPICalls)
	assert.InDelta(t, 980, bal, 0)
	assert.Len(t, s.Requests(), 40)
}
