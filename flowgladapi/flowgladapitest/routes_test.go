package flowgladapitest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCreateSubscriptionOptions covers each optional field of POST
// /subscriptions, on a fresh spec-validated fake per case.
func TestCreateSubscriptionOptions(t *testing.T) {
	ms := func(years, months, days int) float64 {
		return float64(testNow.AddDate(years, months, days).UnixMilli())
	}
	tests := []struct {
		name  string
		body  func(ids map[string]string) map[string]any
		check func(t *testing.T, s *Server, sub map[string]any)
		seed  func() Seed
	}{
		{
			name: "by customer id and price id",
			body: func(ids map[string]string) map[string]any {
				return map[string]any{"customerId": DemoBobCustomerID, "priceId": ids[DemoPriceTeamMonthly], "quantity": 2}
			},
			check: func(t *testing.T, s *Server, sub map[string]any) {
				assert.Equal(t, DemoBobCustomerID, sub["customerId"])
				got, _ := s.Subscription(sub["id"].(string))
				assert.Equal(t, []SubscriptionItem{{ID: got.Items[0].ID, PriceID: got.Items[0].PriceID, PriceSlug: DemoPriceTeamMonthly, Quantity: 2}}, got.Items)
				free, _ := s.Subscription(DemoBobSubscriptionID)
				assert.Equal(t, StatusCanceled, free.Status, "the free plan is replaced")
			},
		},
		{
			name: "every two weeks",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "interval": "week", "intervalCount": 2}
			},
			check: func(t *testing.T, _ *Server, sub map[string]any) {
				assert.Equal(t, "week", sub["interval"])
				assert.InDelta(t, 2, sub["intervalCount"], 0)
				assert.InDelta(t, ms(0, 0, 14), sub["currentBillingPeriodEnd"], 0)
			},
		},
		{
			name: "every day",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "interval": "day"}
			},
			check: func(t *testing.T, _ *Server, sub map[string]any) {
				assert.InDelta(t, 1, sub["intervalCount"], 0, "the price's count")
				assert.InDelta(t, ms(0, 0, 1), sub["currentBillingPeriodEnd"], 0)
			},
		},
		{
			name: "every year",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "interval": "year"}
			},
			check: func(t *testing.T, _ *Server, sub map[string]any) {
				assert.InDelta(t, ms(1, 0, 0), sub["currentBillingPeriodEnd"], 0)
			},
		},
		{
			name: "count only keeps the price's interval",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "intervalCount": 3}
			},
			check: func(t *testing.T, _ *Server, sub map[string]any) {
				assert.Equal(t, "month", sub["interval"])
				assert.InDelta(t, ms(0, 3, 0), sub["currentBillingPeriodEnd"], 0)
			},
		},
		{
			name: "trial end in the future",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly, "trialEnd": ms(0, 0, 10)}
			},
			check: func(t *testing.T, _ *Server, sub map[string]any) {
				assert.Equal(t, StatusTrialing, sub["status"])
				assert.InDelta(t, ms(0, 0, 10), sub["trialEnd"], 0)
				assert.Equal(t, true, sub["current"])
			},
		},
		{
			name: "trial end in the past overrides the price's trial",
			seed: trialSeed,
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": "trial-monthly", "trialEnd": ms(0, 0, -1)}
			},
			check: func(t *testing.T, _ *Server, sub map[string]any) {
				assert.Equal(t, StatusActive, sub["status"])
				assert.Nil(t, sub["trialEnd"])
			},
		},
		{
			name: "price trial",
			seed: trialSeed,
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": "trial-monthly"}
			},
			check: func(t *testing.T, _ *Server, sub map[string]any) {
				assert.Equal(t, StatusTrialing, sub["status"])
				assert.InDelta(t, ms(0, 0, 7), sub["trialEnd"], 0)
			},
		},
		{
			name: "name and payment methods",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceTeamMonthly, "name": "Alice's team",
					"defaultPaymentMethodId": "pmeth_1", "backupPaymentMethodId": "pmeth_1"}
			},
			check: func(t *testing.T, s *Server, sub map[string]any) {
				assert.Equal(t, "Alice's team", sub["name"])
				assert.Equal(t, "pmeth_1", sub["defaultPaymentMethodId"])
				alice, _ := s.Customer(DemoCustomerAlice)
				require.Len(t, alice.Subscriptions, 2)
				assert.Equal(t, StatusActive, alice.Subscriptions[0].Status, "a paid plan is not replaced")
			},
		},
		{
			name: "do not charge",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceTeamMonthly, "doNotCharge": true}
			},
			check: func(t *testing.T, s *Server, sub map[string]any) {
				assert.Equal(t, true, sub["doNotCharge"])
				billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerBob+"/billing", nil))
				cur := billing["currentSubscription"]
				assert.Equal(t, sub["id"], dig(t, cur, "id"))
				assert.InDelta(t, 0, dig(t, cur, "subscriptionItems", 0, "unitPrice"), 0, "the item is free")
				assert.InDelta(t, 5000, dig(t, cur, "subscriptionItems", 0, "price", "unitPrice"), 0, "the price is not")
			},
		},
		{
			name: "free plan next to a paid one",
			body: func(map[string]string) map[string]any {
				return map[string]any{"customerExternalId": DemoCustomerAlice, "priceSlug": DemoPriceFreeMonthly}
			},
			check: func(t *testing.T, s *Server, sub map[string]any) {
				assert.Equal(t, true, sub["isFreePlan"])
				pro, _ := s.Subscription(DemoAliceSubscriptionID)
				assert.Equal(t, StatusActive, pro.Status, "a free plan replaces nothing")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.seed != nil {
				opts = append(opts, WithSeed(tt.seed()))
			}
			s := newSpecServer(t, opts...)
			m := ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions", tt.body(catalogIDs(t, s))))
			sub := m["subscription"].(map[string]any)
			tt.check(t, s, sub)
			got := ok(t, call(t, s, http.MethodGet, "/api/v1/subscriptions/"+sub["id"].(string), nil))
			assert.Equal(t, sub, got["subscription"], "GET returns what POST created")
		})
	}
}

// TestUsageEventReferences records usage by each kind of
// reference and checks the event and the balance.
func TestUsageEventReferences(t *testing.T) {
	tests := []struct {
		name   string
		body   func(ids map[string]string) string
		amount int64
	}{
		{"price id", func(ids map[string]string) string {
			return `{"usageEvent":{"subscriptionId":"sub_alice_pro","amount":4,"transactionId":"tx","priceId":"` + ids[DemoPriceAPICallsOverage] + `"}}`
		}, 4},
		{"usage meter id", func(ids map[string]string) string {
			return `{"usageEvent":{"subscriptionId":"sub_alice_pro","amount":5,"transactionId":"tx","usageMeterId":"` + ids["meter:"+DemoUsageMeterAPICalls] + `"}}`
		}, 5},
		{"integral float amount", func(map[string]string) string {
			return `{"usageEvent":{"subscriptionId":"sub_alice_pro","amount":3.0,"transactionId":"tx","usageMeterSlug":"api-calls"}}`
		}, 3},
		{"explicit usage date", func(map[string]string) string {
			return `{"usageEvent":{"subscriptionId":"sub_alice_pro","amount":1,"transactionId":"tx","usageMeterSlug":"api-calls","usageDate":1700000000000,"properties":null}}`
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpecServer(t)
			ids := catalogIDs(t, s)
			m := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", tt.body(ids)))
			ev := m["usageEvent"].(map[string]any)
			assert.InDelta(t, tt.amount, ev["amount"], 0)
			assert.Equal(t, ids[DemoPriceAPICallsOverage], ev["priceId"], "the meter's default price")
			assert.Equal(t, ids["meter:"+DemoUsageMeterAPICalls], ev["usageMeterId"])
			assert.NotNil(t, ev["billingPeriodId"], "a renewing subscription has a billing period")

			events := s.UsageEvents()
			require.Len(t, events, 1)
			assert.Equal(t, UsageEvent{
				ID: ev["id"].(string), CustomerID: DemoAliceCustomerID, SubscriptionID: DemoAliceSubscriptionID,
				UsageMeterID: ids["meter:"+DemoUsageMeterAPICalls], UsageMeterSlug: DemoUsageMeterAPICalls,
				PriceID: ids[DemoPriceAPICallsOverage], TransactionID: "tx", Amount: tt.amount,
				UsageDate: msTime(int64(ev["usageDate"].(float64))),
			}, events[0])
			bal, found := s.UsageBalance(DemoAliceSubscriptionID, DemoUsageMeterAPICalls)
			require.True(t, found)
			assert.InDelta(t, 1000-float64(tt.amount), bal, 0)
		})
	}

	t.Run("non-renewing subscriptions have no billing period", func(t *testing.T) {
		s := newSpecServer(t)
		nr, err := s.AddSubscription(DemoCustomerBob, Subscription{NonRenewing: true, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
		require.NoError(t, err)
		m := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": map[string]any{
			"subscriptionId": nr.ID, "amount": 10, "transactionId": "tx-nr", "usageMeterSlug": DemoUsageMeterAPICalls,
		}}))
		assert.Nil(t, dig(t, m, "usageEvent", "billingPeriodId"))
		bal, _ := s.UsageBalance(nr.ID, DemoUsageMeterAPICalls)
		assert.InDelta(t, 1000-10, bal, 0)
	})
}

// TestBulkUsageEvents: a bulk request records every event in
// order, counts a repeated transactionId once (within the batch too) and
// leaves the repeat out of its answer, as Flowglad does, and an empty batch
// records nothing.
func TestBulkUsageEvents(t *testing.T) {
	s := newSpecServer(t)
	ev := func(tx string, amount int) map[string]any {
		return map[string]any{"subscriptionId": DemoAliceSubscriptionID, "amount": amount, "transactionId": tx, "usageMeterSlug": DemoUsageMeterAPICalls}
	}
	m := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{"usageEvents": []any{ev("b1", 10), ev("b2", 20), ev("b1", 10)}}))
	out := m["usageEvents"].([]any)
	require.Len(t, out, 2, "the repeat is left out")
	assert.NotEqual(t, dig(t, out[0], "id"), dig(t, out[1], "id"))
	require.Len(t, s.UsageEvents(), 2)
	assert.Equal(t, []string{"b1", "b2"}, []string{s.UsageEvents()[0].TransactionID, s.UsageEvents()[1].TransactionID})
	bal, _ := s.UsageBalance(DemoAliceSubscriptionID, DemoUsageMeterAPICalls)
	assert.InDelta(t, 970, bal, 0)

	m = ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{"usageEvents": []any{}}))
	assert.Empty(t, m["usageEvents"])
	assert.Len(t, s.UsageEvents(), 2)
}

// TestReleaseModes releases claims by each selector from the same
// starting point: two anonymous seats and seats held by u1, u2 and u3.
func TestReleaseModes(t *testing.T) {
	base := "/api/v1/resource-claims/" + DemoAliceSubscriptionID
	setup := func(t *testing.T) (*Server, map[string]string) {
		s := newSpecServer(t)
		m := ok(t, call(t, s, http.MethodPost, base+"/claim", map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 2}))
		ids := map[string]string{"anon1": dig(t, m, "claims", 0, "id").(string), "anon2": dig(t, m, "claims", 1, "id").(string)}
		m = ok(t, call(t, s, http.MethodPost, base+"/claim", map[string]any{"resourceSlug": DemoResourceSeats, "externalIds": []string{"u1", "u2", "u3", "u1"}}))
		require.Len(t, m["claims"], 3, "a repeated external id is claimed once")
		for i, ext := range []string{"u1", "u2", "u3"} {
			ids[ext] = dig(t, m, "claims", i, "id").(string)
		}
		assert.InDelta(t, 0, dig(t, m, "usage", "available"), 0)
		return s, ids
	}
	tests := []struct {
		name         string
		body         func(ids map[string]string) map[string]any
		wantReleased []string // keys of ids, in answer order
		wantLeft     []string
	}{
		{"oldest anonymous by quantity", func(map[string]string) map[string]any { return map[string]any{"quantity": 1} },
			[]string{"anon1"}, []string{"anon2", "u1", "u2", "u3"}},
		{"every anonymous by quantity", func(map[string]string) map[string]any { return map[string]any{"quantity": 2} },
			[]string{"anon1", "anon2"}, []string{"u1", "u2", "u3"}},
		{"one external id", func(map[string]string) map[string]any { return map[string]any{"externalId": "u2"} },
			[]string{"u2"}, []string{"anon1", "anon2", "u1", "u3"}},
		{"external ids, repeated", func(map[string]string) map[string]any {
			return map[string]any{"externalIds": []string{"u3", "u1", "u3"}}
		}, []string{"u3", "u1"}, []string{"anon1", "anon2", "u2"}},
		{"claim ids, repeated", func(ids map[string]string) map[string]any {
			return map[string]any{"claimIds": []string{ids["u1"], ids["anon2"], ids["u1"]}}
		}, []string{"u1", "anon2"}, []string{"anon1", "u2", "u3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ids := setup(t)
			body := tt.body(ids)
			body["resourceSlug"] = DemoResourceSeats
			m := ok(t, call(t, s, http.MethodPost, base+"/release", body))
			var released []string
			for _, c := range m["releasedClaims"].([]any) {
				released = append(released, c.(map[string]any)["id"].(string))
				assert.Equal(t, "released", dig(t, c, "releaseReason"))
				assert.InDelta(t, testNow.UnixMilli(), dig(t, c, "releasedAt"), 0)
			}
			var want []string
			for _, k := range tt.wantReleased {
				want = append(want, ids[k])
			}
			assert.Equal(t, want, released)
			assert.InDelta(t, len(tt.wantReleased), dig(t, m, "usage", "available"), 0)
			assert.InDelta(t, len(tt.wantLeft), dig(t, m, "usage", "claimed"), 0)

			var left []string
			for _, c := range s.Claims(DemoAliceSubscriptionID) {
				left = append(left, c.ID)
			}
			want = nil
			for _, k := range tt.wantLeft {
				want = append(want, ids[k])
			}
			assert.Equal(t, want, left)

			// A released claim cannot be released again.
			r := call(t, s, http.MethodPost, base+"/release", map[string]any{"resourceSlug": DemoResourceSeats, "claimIds": []string{released[0]}})
			assert.Equal(t, http.StatusNotFound, r.status)
		})
	}
}

// TestResourceQueries covers the read routes' selectors: usage by
// resource id, usages filtered by slug or id, claims with and without a
// slug, and usage after the capacity shrinks below the claims.
func TestResourceQueries(t *testing.T) {
	s := newSpecServer(t)
	base := "/api/v1/resource-claims/" + DemoAliceSubscriptionID
	m := ok(t, call(t, s, http.MethodPost, base+"/claim", map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 5}))
	resID := dig(t, m, "usage", "resourceId").(string)

	byID := ok(t, call(t, s, http.MethodGet, base+"/usage?resourceId="+resID, nil))
	bySlug := ok(t, call(t, s, http.MethodGet, base+"/usage?resourceSlug="+DemoResourceSeats, nil))
	assert.Equal(t, bySlug, byID)
	assert.Len(t, byID["claims"], 5)

	usages := func(query string) []any {
		r := call(t, s, http.MethodGet, base+"/usages"+query, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		var out []any
		require.NoError(t, json.Unmarshal(r.body, &out))
		return out
	}
	assert.Len(t, usages("?resourceIds="+resID), 1)
	assert.Empty(t, usages("?resourceIds=res_other"))
	assert.Empty(t, usages("?resourceSlugs=desks"))
	assert.Len(t, usages("?resourceSlugs=desks&resourceSlugs=seats"), 1)

	all := ok(t, call(t, s, http.MethodGet, base+"/claims", nil))
	assert.Len(t, all["claims"], 5)
	bobClaims := ok(t, call(t, s, http.MethodGet, "/api/v1/resource-claims/"+DemoBobSubscriptionID+"/claims", nil))
	assert.Empty(t, bobClaims["claims"], "claims are per subscription")
	bobUsages := usagesOf(t, s, DemoBobSubscriptionID)
	assert.Empty(t, bobUsages, "the free plan has no seats")

	// Downgrading below the claims keeps them; available never goes
	// negative.
	ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/adjust", map[string]any{"adjustment": map[string]any{
		"timing": "immediately", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceFreeMonthly}},
	}}))
	u := ok(t, call(t, s, http.MethodGet, base+"/usage?resourceSlug="+DemoResourceSeats, nil))
	assert.InDelta(t, 0, dig(t, u, "usage", "capacity"), 0)
	assert.InDelta(t, 5, dig(t, u, "usage", "claimed"), 0)
	assert.InDelta(t, 0, dig(t, u, "usage", "available"), 0)
	assert.Len(t, usagesOf(t, s, DemoAliceSubscriptionID), 1, "a resource with claims is listed without capacity")
	r := call(t, s, http.MethodPost, base+"/claim", map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 1})
	assertAPIError(t, r, http.StatusBadRequest, "BAD_REQUEST", "Cannot claim 1 seats: 0 of 0 available")
}

func usagesOf(t *testing.T, s *Server, subID string) []any {
	t.Helper()
	r := call(t, s, http.MethodGet, "/api/v1/resource-claims/"+subID+"/usages", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out []any
	require.NoError(t, json.Unmarshal(r.body, &out))
	return out
}

// TestCustomerFields covers the optional customer fields on create
// and update: null clears, a value sets, an absent key keeps.
func TestCustomerFields(t *testing.T) {
	s := newSpecServer(t)
	address := map[string]any{"name": "Dave", "address": map[string]any{"country": "FR", "city": "Lyon"}}
	m := ok(t, call(t, s, http.MethodPost, "/api/v1/customers", map[string]any{"customer": map[string]any{
		"externalId": "user_dave", "email": "dave@example.com", "name": "Dave",
		"logoURL": "https://dave.example/logo.png", "iconURL": nil, "domain": "dave.example", "userId": "u-dave", "billingAddress": address,
	}}))
	c := dig(t, m, "data", "customer")
	assert.Equal(t, "https://dave.example/logo.png", dig(t, c, "logoURL"))
	assert.Nil(t, dig(t, c, "iconURL"))
	assert.Equal(t, "u-dave", dig(t, c, "userId"))
	assert.Equal(t, "Lyon", dig(t, c, "billingAddress", "address", "city"))

	m = ok(t, call(t, s, http.MethodPut, "/api/v1/customers/user_dave", map[string]any{"customer": map[string]any{
		"email": "dave2@example.com", "domain": nil, "billingAddress": nil,
	}}))
	c = m["customer"]
	assert.Equal(t, "dave2@example.com", dig(t, c, "email"))
	assert.Equal(t, "Dave", dig(t, c, "name"), "absent keys are kept")
	assert.Equal(t, "https://dave.example/logo.png", dig(t, c, "logoURL"))
	assert.Nil(t, dig(t, c, "domain"))
	assert.NotContains(t, c, "billingAddress", "null clears the address")
	dave, _ := s.Customer("user_dave")
	assert.Equal(t, "dave2@example.com", dave.Email)

	balances := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/user_dave/usage-balances", nil))
	assert.InDelta(t, 100, dig(t, balances, "usageMeterBalances", 0, "availableBalance"), 0, "the default free plan's credits")
}

// TestPricingModelByID: the default pricing model is also served
// by its id, byte for byte, on a seeded and on an empty fake.
func TestPricingModelByID(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   []Option
		wantID string
	}{
		{"demo", nil, DemoPricingModelID},
		{"empty", []Option{WithSeed(Seed{})}, "pm_1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpecServer(t, tt.opts...)
			assert.Equal(t, tt.wantID, s.PricingModelID())
			def := call(t, s, http.MethodGet, "/api/v1/pricing-models/default", nil)
			byID := call(t, s, http.MethodGet, "/api/v1/pricing-models/"+tt.wantID, nil)
			require.Equal(t, http.StatusOK, byID.status)
			assert.Equal(t, string(def.body), string(byID.body))
			assert.Equal(t, tt.wantID, dig(t, def.json(t), "pricingModel", "id"))
		})
	}
}

// TestBillingPortalPage: billing's billingPortalUrl leads to a page
// on the fake (no API key needed, as for a browser); an unknown customer
// id is a plain 404.
func TestBillingPortalPage(t *testing.T) {
	s := newSpecServer(t)
	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/billing", nil))
	portal := billing["billingPortalUrl"].(string)
	assert.Equal(t, s.URL+"/billing-portal/"+DemoAliceCustomerID, portal)

	resp, err := s.HTTPServer.Client().Get(portal)
	require.NoError(t, err)
	html := readBody(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, html, "Billing portal")

	resp, err = s.HTTPServer.Client().Get(strings.Replace(portal, DemoAliceCustomerID, "cus_nope", 1))
	require.NoError(t, err)
	assert.Equal(t, "Not Found", readBody(t, resp))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
