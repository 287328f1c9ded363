package flowgladapitest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const bulkPath = "/api/v1/usage-events/bulk"

// meterActiveUsers is a count_distinct_properties meter that distinctSeed
// adds, with 10 credits on Pro: Alice has them.
const meterActiveUsers = "active-users"

// distinctSeed is DemoSeed with a second meter, counting distinct properties.
func distinctSeed() Seed {
	seed := DemoSeed()
	pm := &seed.PricingModel
	pm.UsageMeters = append(pm.UsageMeters, UsageMeter{Slug: meterActiveUsers, Name: "Active users", AggregationType: AggregationCountDistinctProperties})
	pm.Features = append(pm.Features, Feature{Slug: "pro-active-users", Type: FeatureUsageCreditGrant, Amount: 10, UsageMeter: meterActiveUsers})
	for i := range pm.Products {
		if pm.Products[i].Slug == DemoProductPro {
			pm.Products[i].Features = append(pm.Products[i].Features, "pro-active-users")
		}
	}
	return seed
}

// bulkEvent is one UsageEventInput on the api-calls meter; more fields
// replace or add keys (nil deletes one).
func bulkEvent(sub, tx string, amount int, more ...map[string]any) map[string]any {
	e := map[string]any{"subscriptionId": sub, "amount": amount, "transactionId": tx, "usageMeterSlug": DemoUsageMeterAPICalls}
	for _, m := range more {
		for k, v := range m {
			if v == nil {
				delete(e, k)
				continue
			}
			e[k] = v
		}
	}
	return e
}

func bulkBody(events ...map[string]any) map[string]any {
	arr := make([]any, len(events))
	for i, e := range events {
		arr[i] = e
	}
	return map[string]any{"usageEvents": arr}
}

// answered lists the transactionIds of a bulk answer, in order.
func answered(t *testing.T, m map[string]any) []string {
	t.Helper()
	out := []string{}
	for _, e := range dig(t, m, "usageEvents").([]any) {
		out = append(out, dig(t, e, "transactionId").(string))
	}
	return out
}

func balance(t *testing.T, s *Server, sub, meter string) float64 {
	t.Helper()
	b, found := s.UsageBalance(sub, meter)
	require.True(t, found, "%s %s", sub, meter)
	return b
}

// TestBulkManyCustomers: one call carries events of several customers, each
// named by its subscription; each lands on its own customer, and the answer
// lists them in the order sent.
func TestBulkManyCustomers(t *testing.T) {
	t.Parallel()
	s := newSpecServer(t)
	m := ok(t, call(t, s, http.MethodPost, bulkPath, bulkBody(
		bulkEvent(DemoAliceSubscriptionID, "a1", 10),
		bulkEvent(DemoBobSubscriptionID, "b1", 7),
		bulkEvent(DemoAliceSubscriptionID, "a2", 5, map[string]any{"usageMeterSlug": nil, "priceSlug": DemoPriceAPICallsOverage}),
	)))
	assert.Equal(t, []string{"a1", "b1", "a2"}, answered(t, m))
	assert.Equal(t, DemoAliceCustomerID, dig(t, m, "usageEvents", 0, "customerId"))
	assert.Equal(t, DemoBobCustomerID, dig(t, m, "usageEvents", 1, "customerId"))
	assert.Equal(t, DemoBobSubscriptionID, dig(t, m, "usageEvents", 1, "subscriptionId"))
	assert.InDelta(t, 1000-15, balance(t, s, DemoAliceSubscriptionID, DemoUsageMeterAPICalls), 0)
	assert.InDelta(t, 100-7, balance(t, s, DemoBobSubscriptionID, DemoUsageMeterAPICalls), 0)
	assert.Len(t, s.UsageEvents(), 3)
}

// TestBulkRefusesTheWholeBatch: one bad event refuses the batch with the
// status, code and message Flowglad gives (naming the event's index where
// Flowglad does), and nothing of the batch is recorded. The good event is
// first, so a fake that recorded as it went would show it.
func TestBulkRefusesTheWholeBatch(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t, WithSeed(distinctSeed()))
	ids := catalogIDs(t, s)
	archived, err := s.AddCustomer(Customer{ExternalID: "user_gone", Subscriptions: []Subscription{{ID: "sub_gone", Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}}})
	require.NoError(t, err)
	ok(t, call(t, s, http.MethodPost, "/api/v1/customers/"+archived.ExternalID+"/archive", map[string]any{}))
	nonRenewing, err := s.AddSubscription(DemoCustomerBob, Subscription{NonRenewing: true, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
	require.NoError(t, err)

	good := bulkEvent(DemoAliceSubscriptionID, "good", 1)
	alice := func(tx string, more map[string]any) map[string]any {
		return bulkEvent(DemoAliceSubscriptionID, tx, 1, more)
	}
	const nf, bad, ise = http.StatusNotFound, http.StatusBadRequest, http.StatusInternalServerError
	tests := []struct {
		name       string
		events     []map[string]any
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"unknown subscription", []map[string]any{good, bulkEvent("sub_nope", "x", 1)},
			nf, "NOT_FOUND", "Subscription not found: sub_nope (usage event at index 1)"},
		{"archived customer", []map[string]any{good, bulkEvent("sub_gone", "x", 1)},
			ise, "INTERNAL_SERVER_ERROR", "Cannot create usage event for archived customer"},
		{"unknown meter slug", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": "generations"})},
			nf, "NOT_FOUND", `UsageMeter not found: slug "generations"`},
		{"unknown price slug", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": nil, "priceSlug": "gold"})},
			nf, "NOT_FOUND", "Price not found: with slug gold (not in customer's pricing model)"},
		{"price slug of a subscription price", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": nil, "priceSlug": DemoPriceProMonthly})},
			nf, "NOT_FOUND", "Price not found: with slug pro-monthly (not in customer's pricing model)"},
		{"unknown price id", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": nil, "priceId": "price_nope"})},
			nf, "NOT_FOUND", "Price not found: price_nope (index 1)"},
		{"price id of a subscription price", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": nil, "priceId": ids[DemoPriceProMonthly]})},
			bad, "BAD_REQUEST", `Invalid priceId: Price ` + ids[DemoPriceProMonthly] + ` at index 1 is type "subscription" which is not a usage price`},
		{"unknown meter id", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": nil, "usageMeterId": "um_nope"})},
			nf, "NOT_FOUND", "UsageMeter not found: um_nope (index 1)"},
		{"distinct meter without properties", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": meterActiveUsers})},
			bad, "BAD_REQUEST", `Invalid properties: required for usage meter "Active users" at index 1 (count_distinct_properties aggregation)`},
		{"distinct meter without a billing period", []map[string]any{good,
			bulkEvent(nonRenewing.ID, "x", 1, map[string]any{"usageMeterSlug": meterActiveUsers, "properties": map[string]any{"user": "u1"}})},
			bad, "BAD_REQUEST", `Invalid billingPeriod: required for usage meter "Active users" at index 1 (count_distinct_properties aggregation)`},
		// Flowglad checks each thing over the whole batch before the next: the
		// unknown subscription at index 2 is reported before the unknown meter
		// at index 1, and a slug before an id.
		{"subscriptions before meters", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": "generations"}), bulkEvent("sub_nope", "y", 1)},
			nf, "NOT_FOUND", "Subscription not found: sub_nope (usage event at index 2)"},
		{"slugs before ids", []map[string]any{good, alice("x", map[string]any{"usageMeterSlug": nil, "priceId": "price_nope"}), alice("y", map[string]any{"usageMeterSlug": "generations"})},
			nf, "NOT_FOUND", `UsageMeter not found: slug "generations"`},
		{"shape before anything", []map[string]any{bulkEvent("sub_nope", "x", 1), alice("y", map[string]any{"amount": 0})},
			bad, "BAD_REQUEST", "usageEvents[1].amount: Number must be greater than 0"},
	}
	before := viewState(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, http.MethodPost, bulkPath, bulkBody(tt.events...))
			assertAPIError(t, r, tt.wantStatus, tt.wantCode, tt.wantMsg)
			assert.Equal(t, tt.wantMsg, r.json(t)["error"], "the whole message")
			if d := diffState(before, viewState(t, s)); d != "" {
				t.Errorf("a refused batch changed the state: %s", d)
			}
		})
	}
	assert.Empty(t, s.UsageEvents())
	assert.InDelta(t, 1000, balance(t, s, DemoAliceSubscriptionID, DemoUsageMeterAPICalls), 0)
}

// TestBulkSkipsDuplicates: an event whose transactionId is already recorded
// on its meter (by an earlier call, single or bulk, or earlier in the same
// batch) is skipped whatever else it says, left out of the answer, and moves
// no balance; the same transactionId on another meter is a new event.
func TestBulkSkipsDuplicates(t *testing.T) {
	t.Parallel()
	s := newSpecServer(t, WithSeed(distinctSeed()))
	ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("single", 10)))
	m := ok(t, call(t, s, http.MethodPost, bulkPath, bulkBody(bulkEvent(DemoAliceSubscriptionID, "b1", 20))))
	require.Equal(t, []string{"b1"}, answered(t, m))

	m = ok(t, call(t, s, http.MethodPost, bulkPath, bulkBody(
		bulkEvent(DemoAliceSubscriptionID, "single", 10),
		bulkEvent(DemoAliceSubscriptionID, "n1", 1),
		bulkEvent(DemoBobSubscriptionID, "b1", 99), // another customer, another amount: still a duplicate
		bulkEvent(DemoAliceSubscriptionID, "n1", 1),
		bulkEvent(DemoAliceSubscriptionID, "n1", 1, map[string]any{"usageMeterSlug": meterActiveUsers, "properties": map[string]any{"user": "u1"}}),
	)))
	assert.Equal(t, []string{"n1", "n1"}, answered(t, m), "only the inserted events")
	assert.Equal(t, DemoUsageMeterAPICalls, slugOfMeter(t, s, dig(t, m, "usageEvents", 0, "usageMeterId")))
	assert.Equal(t, meterActiveUsers, slugOfMeter(t, s, dig(t, m, "usageEvents", 1, "usageMeterId")))
	assert.InDelta(t, 1000-10-20-1, balance(t, s, DemoAliceSubscriptionID, DemoUsageMeterAPICalls), 0)
	assert.InDelta(t, 100, balance(t, s, DemoBobSubscriptionID, DemoUsageMeterAPICalls), 0)
	assert.InDelta(t, 10-1, balance(t, s, DemoAliceSubscriptionID, meterActiveUsers), 0)
	assert.Len(t, s.UsageEvents(), 4)

	m = ok(t, call(t, s, http.MethodPost, bulkPath, bulkBody(bulkEvent(DemoAliceSubscriptionID, "b1", 20))))
	assert.Empty(t, answered(t, m), "a batch of duplicates answers an empty list")
}

// TestDistinctPropertiesCountOnce: on a count_distinct_properties meter every
// event is recorded, but only the first of a combination of properties (in
// any key order) lowers the balance, in bulk and single calls alike.
func TestDistinctPropertiesCountOnce(t *testing.T) {
	t.Parallel()
	s := newSpecServer(t, WithSeed(distinctSeed()))
	au := func(tx string, props map[string]any) map[string]any {
		return bulkEvent(DemoAliceSubscriptionID, tx, 1, map[string]any{"usageMeterSlug": meterActiveUsers, "properties": props})
	}
	m := ok(t, call(t, s, http.MethodPost, bulkPath, bulkBody(
		au("d1", map[string]any{"user": "u1", "org": "o1"}),
		au("d2", map[string]any{"org": "o1", "user": "u1"}),
		au("d3", map[string]any{"user": "u2"}),
	)))
	assert.Equal(t, []string{"d1", "d2", "d3"}, answered(t, m), "all three are recorded")
	assert.InDelta(t, 10-2, balance(t, s, DemoAliceSubscriptionID, meterActiveUsers), 0)
	ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": au("d4", map[string]any{"user": "u2"})}))
	assert.InDelta(t, 10-2, balance(t, s, DemoAliceSubscriptionID, meterActiveUsers), 0, "u2 was counted already")
	ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": au("d5", map[string]any{"user": "u3"})}))
	assert.InDelta(t, 10-3, balance(t, s, DemoAliceSubscriptionID, meterActiveUsers), 0)
	assert.Len(t, s.UsageEvents(), 5)
}

// slugOfMeter maps a meter id back to its slug.
func slugOfMeter(t *testing.T, s *Server, id any) string {
	t.Helper()
	for k, v := range catalogIDs(t, s) {
		if v == id && len(k) > 6 && k[:6] == "meter:" {
			return k[6:]
		}
	}
	t.Fatalf("no meter %v", id)
	return ""
}

// TestSingleUsageEventDedupe: POST /usage-events deduplicates as Flowglad
// does, on transactionId and meter: the same subscription's repeat answers
// the first event (its amount, not the repeat's); another subscription's is
// a 409; another meter's is a new event.
func TestSingleUsageEventDedupe(t *testing.T) {
	t.Parallel()
	s := newSpecServer(t, WithSeed(distinctSeed()))
	first := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-1", 10)))
	again := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-1", 99)))
	assert.Equal(t, dig(t, first, "usageEvent"), dig(t, again, "usageEvent"))

	r := call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": bulkEvent(DemoBobSubscriptionID, "tx-1", 1)})
	assertAPIError(t, r, http.StatusConflict, "CONFLICT", "UsageEvent conflict: A usage event already exists for transactionid tx-1, but does not belong to subscription sub_bob_free.")

	other := ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": bulkEvent(DemoAliceSubscriptionID, "tx-1", 1,
		map[string]any{"usageMeterSlug": meterActiveUsers, "properties": map[string]any{"user": "u1"}})}))
	assert.NotEqual(t, dig(t, first, "usageEvent", "id"), dig(t, other, "usageEvent", "id"))
	assert.Len(t, s.UsageEvents(), 2)
	assert.InDelta(t, 990, balance(t, s, DemoAliceSubscriptionID, DemoUsageMeterAPICalls), 0)
	assert.InDelta(t, 100, balance(t, s, DemoBobSubscriptionID, DemoUsageMeterAPICalls), 0)
}

// TestUsageOnArchivedAndCanceled: Flowglad refuses usage for an archived
// customer with a 500 (its error has no HTTP mapping) and takes usage on a
// subscription that is no longer current: it checks the customer, not the
// subscription's status.
func TestUsageOnArchivedAndCanceled(t *testing.T) {
	t.Parallel()
	s := newPlainServer(t)
	require.NoError(t, s.SetSubscriptionStatus(DemoBobSubscriptionID, StatusCanceled))
	ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": bulkEvent(DemoBobSubscriptionID, "c1", 1)}))
	ok(t, call(t, s, http.MethodPost, bulkPath, bulkBody(bulkEvent(DemoBobSubscriptionID, "c2", 1))))
	assert.InDelta(t, 98, balance(t, s, DemoBobSubscriptionID, DemoUsageMeterAPICalls), 0)

	ok(t, call(t, s, http.MethodPost, "/api/v1/customers/"+DemoCustomerAlice+"/archive", map[string]any{}))
	for _, path := range []string{"/api/v1/usage-events", bulkPath} {
		body := map[string]any{"usageEvent": bulkEvent(DemoAliceSubscriptionID, "a1", 1)}
		if path == bulkPath {
			body = bulkBody(bulkEvent(DemoAliceSubscriptionID, "a1", 1))
		}
		r := call(t, s, http.MethodPost, path, body)
		assertAPIError(t, r, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "Cannot create usage event for archived customer")
	}
	assert.Len(t, s.UsageEvents(), 2)
}
