package flowgladapitest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trialSeed is DemoSeed plus a "trial" product whose monthly price starts
// with a 7-day trial.
func trialSeed() Seed {
	seed := DemoSeed()
	seed.PricingModel.Products = append(seed.PricingModel.Products, Product{
		Slug: "trial", Name: "Trial plan", Features: []string{DemoFeaturePremium},
		Prices: []Price{{Slug: "trial-monthly", UnitPrice: 900, TrialPeriodDays: 7}},
	})
	return seed
}

// TestCheckoutCompletion creates each kind of session through the
// API (validated against the spec), completes it, and checks what the
// completion did to the customer's records, as CompleteCheckout documents.
func TestCheckoutCompletion(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*testing.T, *Server)
		typ    string
		fields func(ids map[string]string) map[string]any
		check  func(t *testing.T, s *Server, cs CheckoutSession)
	}{
		{
			name: "single payment by price id, named",
			typ:  CheckoutProduct,
			fields: func(ids map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "priceId": ids[DemoPriceCredits], "quantity": 3, "outputName": "Top-up"}
			},
			check: func(t *testing.T, s *Server, cs CheckoutSession) {
				alice, _ := s.Customer(DemoCustomerAlice)
				require.Len(t, alice.Purchases, 2)
				pur := alice.Purchases[1]
				assert.Equal(t, Purchase{ID: pur.ID, PriceID: cs.PriceID, PriceSlug: DemoPriceCredits, Quantity: 3, Status: "paid", Name: "Top-up"}, pur)
				assert.Equal(t, pur.ID, cs.Result)
				require.Len(t, alice.Invoices, 3)
				inv := alice.Invoices[2]
				assert.Equal(t, pur.ID, inv.PurchaseID)
				assert.Equal(t, "paid", inv.Status)
				assert.Equal(t, int64(3), inv.LineItems[0].Quantity)
				assert.Len(t, alice.Subscriptions, 1, "a purchase leaves subscriptions alone")
			},
		},
		{
			name: "subscription price lifts a scheduled cancellation",
			setup: func(t *testing.T, s *Server) {
				ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/cancel",
					map[string]any{"cancellation": map[string]any{"timing": "at_end_of_current_billing_period"}}))
			},
			typ: CheckoutProduct,
			fields: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceTeamMonthly, "outputName": "Alice's team"}
			},
			check: func(t *testing.T, s *Server, cs CheckoutSession) {
				sub, _ := s.Subscription(DemoAliceSubscriptionID)
				assert.Equal(t, DemoAliceSubscriptionID, cs.Result, "the current plan moves")
				assert.Equal(t, StatusActive, sub.Status)
				assert.True(t, sub.CancelScheduledAt.IsZero())
				assert.Equal(t, "Alice's team", sub.Name)
				require.Len(t, sub.Items, 1)
				assert.Equal(t, DemoPriceTeamMonthly, sub.Items[0].PriceSlug)
				alice, _ := s.Customer(DemoCustomerAlice)
				require.Len(t, alice.Invoices, 3, "a paid plan is invoiced")
				assert.Equal(t, DemoAliceSubscriptionID, alice.Invoices[2].SubscriptionID)
				assert.Equal(t, DemoPriceTeamMonthly, alice.Invoices[2].LineItems[0].PriceSlug)
			},
		},
		{
			name: "free subscription price is not invoiced",
			typ:  CheckoutProduct,
			fields: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceFreeMonthly}
			},
			check: func(t *testing.T, s *Server, _ CheckoutSession) {
				alice, _ := s.Customer(DemoCustomerAlice)
				assert.Len(t, alice.Invoices, 2)
				sub, _ := s.Subscription(DemoAliceSubscriptionID)
				assert.Equal(t, DemoPriceFreeMonthly, sub.Items[0].PriceSlug)
			},
		},
		{
			name: "trial price creates a trialing subscription",
			setup: func(t *testing.T, s *Server) {
				_, err := s.AddCustomer(Customer{ExternalID: DemoCustomerCarol})
				require.NoError(t, err)
			},
			typ: CheckoutProduct,
			fields: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerCarol, "priceSlug": "trial-monthly", "outputName": "Carol's trial", "outputMetadata": map[string]any{"campaign": "spring", "seats": 2}}
			},
			check: func(t *testing.T, s *Server, cs CheckoutSession) {
				carol, _ := s.Customer(DemoCustomerCarol)
				require.Len(t, carol.Subscriptions, 1)
				sub := carol.Subscriptions[0]
				assert.Equal(t, sub.ID, cs.Result)
				assert.Equal(t, StatusTrialing, sub.Status)
				assert.Equal(t, "Carol's trial", sub.Name)
				assert.Equal(t, map[string]any{"campaign": "spring", "seats": float64(2)}, sub.Metadata)
				api := ok(t, call(t, s, http.MethodGet, "/api/v1/subscriptions/"+sub.ID, nil))
				assert.InDelta(t, testNow.AddDate(0, 0, 7).UnixMilli(), dig(t, api, "subscription", "trialEnd"), 0)
			},
		},
		{
			name: "add payment method updating every subscription",
			setup: func(t *testing.T, s *Server) {
				_, err := s.AddSubscription(DemoCustomerAlice, Subscription{ID: "sub_alice_team", Items: []SubscriptionItem{{PriceSlug: DemoPriceTeamMonthly}}})
				require.NoError(t, err)
			},
			typ: CheckoutAddPaymentMethod,
			fields: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "automaticallyUpdateSubscriptions": true}
			},
			check: func(t *testing.T, s *Server, cs CheckoutSession) {
				alice, _ := s.Customer(DemoCustomerAlice)
				require.Len(t, alice.PaymentMethods, 2)
				card := alice.PaymentMethods[1]
				assert.Equal(t, card.ID, cs.Result)
				assert.True(t, card.Default)
				assert.False(t, alice.PaymentMethods[0].Default)
				for _, sub := range alice.Subscriptions {
					assert.Equal(t, card.ID, sub.DefaultPaymentMethodID, sub.ID)
				}
			},
		},
		{
			name: "add payment method without a target",
			typ:  CheckoutAddPaymentMethod,
			fields: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "automaticallyUpdateSubscriptions": nil}
			},
			check: func(t *testing.T, s *Server, cs CheckoutSession) {
				alice, _ := s.Customer(DemoCustomerAlice)
				require.Len(t, alice.PaymentMethods, 2)
				assert.Equal(t, alice.PaymentMethods[1].ID, cs.Result)
				assert.True(t, alice.PaymentMethods[1].Default, "the new card is the customer's default")
				assert.Equal(t, alice.PaymentMethods[0].ID, alice.Subscriptions[0].DefaultPaymentMethodID, "subscriptions keep their card")
			},
		},
		{
			name: "activate a past-due subscription",
			setup: func(t *testing.T, s *Server) {
				require.NoError(t, s.SetSubscriptionStatus(DemoAliceSubscriptionID, StatusPastDue))
			},
			typ: CheckoutActivateSubscription,
			fields: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "targetSubscriptionId": DemoAliceSubscriptionID, "automaticallyUpdateSubscriptions": true}
			},
			check: func(t *testing.T, s *Server, cs CheckoutSession) {
				sub, _ := s.Subscription(DemoAliceSubscriptionID)
				assert.Equal(t, StatusActive, sub.Status)
				assert.Equal(t, DemoAliceSubscriptionID, cs.Result)
				assert.Equal(t, DemoAliceSubscriptionID, cs.TargetSubscriptionID)
				alice, _ := s.Customer(DemoCustomerAlice)
				assert.Equal(t, alice.PaymentMethods[len(alice.PaymentMethods)-1].ID, sub.DefaultPaymentMethodID)
			},
		},
		{
			name: "anonymous purchase attaches nothing",
			typ:  CheckoutProduct,
			fields: func(map[string]string) map[string]any {
				return map[string]any{"anonymous": true, "customerExternalId": nil, "priceSlug": DemoPriceCredits}
			},
			check: func(t *testing.T, s *Server, cs CheckoutSession) {
				assert.Empty(t, cs.Result)
				assert.Empty(t, cs.CustomerID)
				assert.Len(t, s.Customers(), 2)
				alice, _ := s.Customer(DemoCustomerAlice)
				assert.Len(t, alice.Purchases, 1)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpecServer(t, WithSeed(trialSeed()))
			if tt.setup != nil {
				tt.setup(t, s)
			}
			m := ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions", checkoutBody(tt.typ, tt.fields(catalogIDs(t, s)))))
			id := dig(t, m, "checkoutSession", "id").(string)
			assert.Equal(t, "open", dig(t, m, "checkoutSession", "status"))
			assert.InDelta(t, testNow.Add(24*time.Hour).UnixMilli(), dig(t, m, "checkoutSession", "expires"), 0, "sessions stay open a day")

			to, err := s.CompleteCheckout(id)
			require.NoError(t, err)
			assert.Equal(t, "https://app.example.com/success", to)
			sessions := s.CheckoutSessions()
			cs := sessions[len(sessions)-1]
			require.Equal(t, id, cs.ID)
			assert.Equal(t, "succeeded", cs.Status)
			tt.check(t, s, cs)

			// Completing again changes nothing and sends the customer to the
			// same place.
			customers := s.Customers()
			again, err := s.CompleteCheckout(id)
			require.NoError(t, err)
			assert.Equal(t, to, again)
			assert.Equal(t, customers, s.Customers())

			// Billing, with whatever the completion created, still matches
			// the spec.
			for _, c := range s.Customers() {
				ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+c.ExternalID+"/billing", nil))
			}
		})
	}
}

// TestCheckoutSessionRecord checks the session the API returns and
// CheckoutSessions reports for each type.
func TestCheckoutSessionRecord(t *testing.T) {
	s := newSpecServer(t)
	ids := catalogIDs(t, s)

	m := ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions", checkoutBody(CheckoutProduct, map[string]any{
		"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "quantity": 2, "preserveBillingCycleAnchor": true,
	})))
	cs := m["checkoutSession"]
	assert.Equal(t, ids[DemoPriceProMonthly], dig(t, cs, "priceId"))
	assert.InDelta(t, 2, dig(t, cs, "quantity"), 0)
	assert.Equal(t, true, dig(t, cs, "preserveBillingCycleAnchor"))
	assert.Equal(t, DemoBobCustomerID, dig(t, cs, "customerId"))
	assert.Equal(t, "Bob Example", dig(t, cs, "customerName"))
	assert.Equal(t, "bob@example.com", dig(t, cs, "customerEmail"))

	// An activate_subscription session is for the subscription's current
	// price, not the one it started on.
	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/adjust", map[string]any{"adjustment": map[string]any{
		"timing": "immediately", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceTeamMonthly}},
	}}))
	m = ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions", checkoutBody(CheckoutActivateSubscription, map[string]any{
		"customerExternalId": DemoCustomerAlice, "targetSubscriptionId": DemoAliceSubscriptionID,
	})))
	assert.Equal(t, ids[DemoPriceTeamMonthly], dig(t, m, "checkoutSession", "priceId"))
	assert.Equal(t, DemoAliceSubscriptionID, dig(t, m, "checkoutSession", "targetSubscriptionId"))
	assert.Equal(t, false, dig(t, m, "checkoutSession", "automaticallyUpdateSubscriptions"), "defaults to false")

	sessions := s.CheckoutSessions()
	require.Len(t, sessions, 2)
	assert.Equal(t, CheckoutSession{
		ID: sessions[0].ID, Type: CheckoutProduct, Status: "open", CustomerID: DemoBobCustomerID, CustomerExternalID: DemoCustomerBob,
		PriceID: ids[DemoPriceProMonthly], Quantity: 2, SuccessURL: "https://app.example.com/success", CancelURL: "https://app.example.com/cancel",
		URL: s.URL + "/checkout/" + sessions[0].ID,
	}, sessions[0])
	assert.Equal(t, ids[DemoPriceTeamMonthly], sessions[1].PriceID)
	assert.Equal(t, DemoAliceSubscriptionID, sessions[1].TargetSubscriptionID)
}

// TestCheckoutPages drives the hosted pages as a browser would:
// the summary of each session type, the cancel link, the complete button,
// and 404s for sessions that do not exist.
func TestCheckoutPages(t *testing.T) {
	s := newSpecServer(t)
	browser := browserOf(s)

	tests := []struct {
		name        string
		typ         string
		fields      map[string]any
		wantSummary string
	}{
		{"subscription", CheckoutProduct, map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "quantity": 2}, "2 × Pro: $40.00 per month."},
		{"single payment", CheckoutProduct, map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceCredits}, "100 credits: $10.00."},
		{"add payment method", CheckoutAddPaymentMethod, map[string]any{"customerExternalId": DemoCustomerBob}, "Add a payment method."},
		{"activate subscription", CheckoutActivateSubscription, map[string]any{"customerExternalId": DemoCustomerBob, "targetSubscriptionId": DemoBobSubscriptionID}, "Activate your subscription."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok(t, call(t, s, http.MethodPost, "/api/v1/checkout-sessions", checkoutBody(tt.typ, tt.fields)))
			url := m["url"].(string)
			page, err := browser.Get(url)
			require.NoError(t, err)
			html := readBody(t, page)
			require.Equal(t, http.StatusOK, page.StatusCode)
			assert.Contains(t, html, `<p id="checkout-summary">`+tt.wantSummary+`</p>`)
			assert.Contains(t, html, `<a id="cancel-checkout" href="https://app.example.com/cancel">`)
			assert.Contains(t, html, `id="complete-checkout"`)

			for range 2 { // completing twice redirects twice, to the same place
				completeCheckout(t, browser, url)
			}
		})
	}

	t.Run("unknown session", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			path := s.URL + "/checkout/cs_nope"
			if method == http.MethodPost {
				path += "/complete"
			}
			req, err := http.NewRequest(method, path, nil)
			require.NoError(t, err)
			resp, err := browser.Do(req)
			require.NoError(t, err)
			body := readBody(t, resp)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, method)
			assert.Equal(t, "Not Found", body)
		}
	})
}
