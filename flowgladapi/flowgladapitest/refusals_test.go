package flowgladapitest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestValidation sends one invalid request per validation
// rule of every route and checks the answer (status, tRPC code, a message
// naming the field) and that the refused request left no trace in the
// state.
func TestRequestValidation(t *testing.T) {
	s := newPlainServer(t)
	ids := catalogIDs(t, s)
	sub := "/api/v1/subscriptions/" + DemoAliceSubscriptionID
	claim := "/api/v1/resource-claims/" + DemoAliceSubscriptionID
	long := strings.Repeat("x", 256)

	// with returns a copy of base with fields set (nil deletes a key).
	with := func(base, fields map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range fields {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	newCustomer := func(fields map[string]any) map[string]any {
		return map[string]any{"customer": with(map[string]any{"externalId": "user_new", "email": "new@example.com", "name": "New"}, fields)}
	}
	update := func(fields map[string]any) map[string]any { return map[string]any{"customer": fields} }
	checkout := func(fields map[string]any) map[string]any {
		return map[string]any{"checkoutSession": with(map[string]any{
			"type": "product", "customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly,
			"successUrl": "https://app.example.com/success", "cancelUrl": "https://app.example.com/cancel",
		}, fields)}
	}
	newSub := func(fields map[string]any) map[string]any {
		return with(map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly}, fields)
	}
	adjust := func(fields map[string]any) map[string]any {
		return map[string]any{"adjustment": with(map[string]any{
			"timing": "immediately", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceTeamMonthly}},
		}, fields)}
	}
	item := func(fields map[string]any) map[string]any {
		return adjust(map[string]any{"newSubscriptionItems": []any{fields}})
	}
	event := func(fields map[string]any) map[string]any {
		return with(map[string]any{"subscriptionId": DemoAliceSubscriptionID, "amount": 1, "transactionId": "tx-v", "usageMeterSlug": DemoUsageMeterAPICalls}, fields)
	}
	usage := func(fields map[string]any) map[string]any { return map[string]any{"usageEvent": event(fields)} }
	seats := func(fields map[string]any) map[string]any {
		return with(map[string]any{"resourceSlug": DemoResourceSeats}, fields)
	}
	manySlugs := url.Values{}
	for range 101 {
		manySlugs.Add("resourceSlugs", DemoResourceSeats)
	}

	const (
		bad  = http.StatusBadRequest
		nf   = http.StatusNotFound
		cBad = "BAD_REQUEST"
		cNF  = "NOT_FOUND"
	)
	tests := []refusalCase{
		// Bodies.
		{"body is an array", http.MethodPost, "/api/v1/usage-events", `[]`, bad, cBad, "Expected an object as the request body"},
		{"body has trailing data", http.MethodPost, "/api/v1/usage-events", `{} {}`, bad, "", "Invalid JSON in request body"},

		// POST /customers.
		{"customer invalid json", http.MethodPost, "/api/v1/customers", `{"customer":{`, bad, "", "Invalid JSON in request body"},
		{"customer not an object", http.MethodPost, "/api/v1/customers", map[string]any{"customer": "x"}, bad, cBad, "customer: Expected object, received string"},
		{"customer externalId missing", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"externalId": nil}), bad, cBad, "customer.externalId: Required"},
		{"customer externalId number", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"externalId": 5}), bad, cBad, "customer.externalId: Expected string, received number"},
		{"customer externalId empty", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"externalId": ""}), bad, cBad, "customer.externalId: String must contain at least 1 character(s)"},
		{"customer name missing", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"name": nil}), bad, cBad, "customer.name: Required"},
		{"customer logoURL number", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"logoURL": 5}), bad, cBad, "customer.logoURL: Expected string, received number"},
		{"customer billingAddress array", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"billingAddress": []any{}}), bad, cBad, "customer.billingAddress: Expected object, received array"},
		{"customer billingAddress without address", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"billingAddress": map[string]any{}}), bad, cBad, "customer.billingAddress.address: Required"},
		{"customer billingAddress without country", http.MethodPost, "/api/v1/customers", newCustomer(map[string]any{"billingAddress": map[string]any{"address": map[string]any{"city": "Paris"}}}), bad, cBad, "customer.billingAddress.address.country: Required"},

		// PUT /customers/{externalId}.
		{"update invalid json", http.MethodPut, "/api/v1/customers/" + DemoCustomerAlice, `{"customer":`, bad, "", "Invalid JSON in request body"},
		{"update without wrapper", http.MethodPut, "/api/v1/customers/" + DemoCustomerAlice, map[string]any{"name": "A"}, bad, cBad, "customer: Required"},
		{"update email number", http.MethodPut, "/api/v1/customers/" + DemoCustomerAlice, update(map[string]any{"email": 5}), bad, cBad, "customer.email: Expected string, received number"},
		{"update name boolean", http.MethodPut, "/api/v1/customers/" + DemoCustomerAlice, update(map[string]any{"name": true}), bad, cBad, "customer.name: Expected string, received boolean"},
		{"update email empty", http.MethodPut, "/api/v1/customers/" + DemoCustomerAlice, update(map[string]any{"email": ""}), bad, cBad, "customer.email: Invalid email"},
		{"update domain number", http.MethodPut, "/api/v1/customers/" + DemoCustomerAlice, update(map[string]any{"domain": 1}), bad, cBad, "customer.domain: Expected string, received number"},
		{"update bad address after good fields", http.MethodPut, "/api/v1/customers/" + DemoCustomerAlice,
			update(map[string]any{"name": "Changed", "domain": "changed.example", "logoURL": "https://changed.example/logo.png", "billingAddress": map[string]any{"address": map[string]any{}}}),
			bad, cBad, "customer.billingAddress.address.country: Required"},

		// Other customer routes.
		{"archive unknown customer", http.MethodPost, "/api/v1/customers/user_zed/archive", map[string]any{}, nf, cNF, "Customer not found"},
		{"usage balances unknown customer", http.MethodGet, "/api/v1/customers/user_zed/usage-balances", nil, nf, cNF, "Customer not found"},
		{"usage balances of another customer's subscription", http.MethodGet, "/api/v1/customers/" + DemoCustomerAlice + "/usage-balances?subscriptionId=" + DemoBobSubscriptionID,
			nil, nf, cNF, "Subscription with id sub_bob_free not found for customer user_alice"},

		// POST /checkout-sessions.
		{"checkout invalid json", http.MethodPost, "/api/v1/checkout-sessions", `{"checkoutSession"`, bad, "", "Invalid JSON in request body"},
		{"checkout without wrapper", http.MethodPost, "/api/v1/checkout-sessions", map[string]any{"type": "product"}, bad, cBad, "checkoutSession: Required"},
		{"checkout type missing", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"type": nil}), bad, cBad, "checkoutSession.type: Required"},
		{"checkout successUrl missing", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"successUrl": nil}), bad, cBad, "checkoutSession.successUrl: Required"},
		{"checkout cancelUrl relative", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"cancelUrl": "/cancel"}), bad, cBad, "checkoutSession.cancelUrl: Invalid url"},
		{"checkout cancelUrl ftp", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"cancelUrl": "ftp://x.example/"}), bad, cBad, "checkoutSession.cancelUrl: Invalid url"},
		{"checkout outputMetadata string", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"outputMetadata": "x"}), bad, cBad, "checkoutSession.outputMetadata: Expected object, received string"},
		{"checkout outputMetadata long value", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"outputMetadata": map[string]any{"k": strings.Repeat("x", 501)}}), bad, cBad, "checkoutSession.outputMetadata.k: String must contain at most 500 character(s)"},
		{"checkout outputMetadata nested object", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"outputMetadata": map[string]any{"k": map[string]any{}}}), bad, cBad, "checkoutSession.outputMetadata.k: Expected string, number or boolean, received object"},
		{"checkout outputMetadata array value", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"outputMetadata": map[string]any{"k": []any{1}}}), bad, cBad, "received array"},
		{"checkout outputMetadata null value", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"outputMetadata": map[string]any{"k": nil}}), bad, cBad, "received null"},
		{"checkout outputMetadata number out of range", http.MethodPost, "/api/v1/checkout-sessions",
			`{"checkoutSession":{"type":"product","customerExternalId":"user_bob","priceSlug":"pro-monthly","successUrl":"https://a.example/s","cancelUrl":"https://a.example/c","outputMetadata":{"k":1e400}}}`,
			bad, cBad, "checkoutSession.outputMetadata.k: Expected number"},
		{"checkout outputName number", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"outputName": 5}), bad, cBad, "checkoutSession.outputName: Expected string, received number"},
		{"checkout preserveBillingCycleAnchor string", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"preserveBillingCycleAnchor": "yes"}), bad, cBad, "checkoutSession.preserveBillingCycleAnchor: Expected boolean, received string"},
		{"checkout anonymous string", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"anonymous": "yes"}), bad, cBad, "checkoutSession.anonymous: Expected boolean, received string"},
		{"checkout customer missing", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"customerExternalId": nil}), bad, cBad, "checkoutSession.customerExternalId: Required"},
		{"checkout anonymous with customer", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"anonymous": true}), bad, cBad, "must be null for an anonymous session"},
		{"checkout priceSlug empty", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"priceSlug": ""}), bad, cBad, "checkoutSession.priceSlug: String must contain at least 1 character(s)"},
		{"checkout unknown priceId", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"priceSlug": nil, "priceId": "price_nope"}), nf, cNF, "Price price_nope not found"},
		{"checkout usage price", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"priceSlug": DemoPriceAPICallsOverage}), bad, cBad, "is a usage price and cannot be bought through checkout"},
		{"checkout unknown target", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"type": "add_payment_method", "targetSubscriptionId": "sub_nope"}), nf, cNF, "Subscription not found"},
		{"checkout target number", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"type": "add_payment_method", "targetSubscriptionId": 7}), bad, cBad, "checkoutSession.targetSubscriptionId: Expected string, received number"},
		{"checkout automaticallyUpdateSubscriptions string", http.MethodPost, "/api/v1/checkout-sessions", checkout(map[string]any{"type": "add_payment_method", "automaticallyUpdateSubscriptions": "yes"}), bad, cBad, "checkoutSession.automaticallyUpdateSubscriptions: Expected boolean, received string"},

		// POST /subscriptions.
		{"subscription invalid json", http.MethodPost, "/api/v1/subscriptions", `{`, bad, "", "Invalid JSON in request body"},
		{"subscription no customer", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"customerExternalId": nil}), bad, cBad, "Exactly one of customerId, or customerExternalId must be provided"},
		{"subscription customer number", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"customerExternalId": 5}), bad, cBad, "customerExternalId: Expected string, received number"},
		{"subscription no price", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"priceSlug": nil}), bad, cBad, "Exactly one of priceId, or priceSlug must be provided"},
		{"subscription priceSlug empty", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"priceSlug": ""}), bad, cBad, "priceSlug: String must contain at least 1 character(s)"},
		{"subscription quantity zero", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"quantity": 0}), bad, cBad, "quantity: Number must be greater than 0"},
		{"subscription interval unknown", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"interval": "fortnight"}), bad, cBad, "interval: Invalid enum value. Expected 'day' | 'week' | 'month' | 'year', received 'fortnight'"},
		{"subscription interval number", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"interval": 2}), bad, cBad, "interval: Expected string, received number"},
		{"subscription intervalCount zero", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"intervalCount": 0}), bad, cBad, "intervalCount: Number must be greater than 0"},
		{"subscription trialEnd negative", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"trialEnd": -1}), bad, cBad, "trialEnd: Number must be greater than or equal to 0"},
		{"subscription metadata array", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"metadata": []any{}}), bad, cBad, "metadata: Expected object, received array"},
		{"subscription name number", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"name": 1}), bad, cBad, "name: Expected string, received number"},
		{"subscription defaultPaymentMethodId number", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"defaultPaymentMethodId": 1}), bad, cBad, "defaultPaymentMethodId: Expected string, received number"},
		{"subscription backupPaymentMethodId number", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"backupPaymentMethodId": 1}), bad, cBad, "backupPaymentMethodId: Expected string, received number"},
		{"subscription doNotCharge string", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"doNotCharge": "yes"}), bad, cBad, "doNotCharge: Expected boolean, received string"},
		{"subscription unknown customer", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"customerExternalId": "user_zed"}), nf, cNF, "Customer not found"},
		{"subscription unknown customerId", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"customerExternalId": nil, "customerId": "cus_nope"}), nf, cNF, "Customer not found"},
		{"subscription unknown price slug", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"priceSlug": "gold"}), nf, cNF, "Price with slug gold not found"},
		{"subscription unknown priceId", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"priceSlug": nil, "priceId": "price_nope"}), nf, cNF, "Price price_nope not found"},
		{"subscription single payment price", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"priceSlug": DemoPriceCredits}), bad, cBad, "is a single payment price"},
		{"subscription unknown payment method", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"defaultPaymentMethodId": "pmeth_nope"}), nf, cNF, "Payment method pmeth_nope not found"},
		{"subscription unknown backup payment method", http.MethodPost, "/api/v1/subscriptions", newSub(map[string]any{"backupPaymentMethodId": "pmeth_nope"}), nf, cNF, "Payment method pmeth_nope not found"},

		// Cancel, uncancel, adjust.
		{"cancel without wrapper", http.MethodPost, sub + "/cancel", map[string]any{"timing": "immediately"}, bad, cBad, "cancellation: Required"},
		{"cancel timing missing", http.MethodPost, sub + "/cancel", map[string]any{"cancellation": map[string]any{}}, bad, cBad, "cancellation.timing: Required"},
		{"cancel timing unknown", http.MethodPost, sub + "/cancel", map[string]any{"cancellation": map[string]any{"timing": "auto"}}, bad, cBad,
			"cancellation.timing: Invalid discriminator value. Expected 'at_end_of_current_billing_period' | 'immediately'"},
		{"cancel unknown subscription", http.MethodPost, "/api/v1/subscriptions/sub_nope/cancel", map[string]any{"cancellation": map[string]any{"timing": "immediately"}}, nf, cNF, "Subscription not found"},
		{"uncancel invalid json", http.MethodPost, sub + "/uncancel", `{`, bad, "", "Invalid JSON in request body"},
		{"uncancel unknown subscription", http.MethodPost, "/api/v1/subscriptions/sub_nope/uncancel", map[string]any{}, nf, cNF, "Subscription not found"},
		{"adjust invalid json", http.MethodPost, sub + "/adjust", `{"adjustment":[}`, bad, "", "Invalid JSON in request body"},
		{"adjust without wrapper", http.MethodPost, sub + "/adjust", map[string]any{"timing": "auto"}, bad, cBad, "adjustment: Required"},
		{"adjust timing missing", http.MethodPost, sub + "/adjust", adjust(map[string]any{"timing": nil}), bad, cBad, "adjustment.timing: Required"},
		{"adjust timing unknown", http.MethodPost, sub + "/adjust", adjust(map[string]any{"timing": "tomorrow"}), bad, cBad,
			"adjustment.timing: Invalid discriminator value. Expected 'immediately' | 'at_end_of_current_billing_period' | 'auto'"},
		{"adjust prorate string", http.MethodPost, sub + "/adjust", adjust(map[string]any{"prorateCurrentBillingPeriod": "yes"}), bad, cBad, "adjustment.prorateCurrentBillingPeriod: Expected boolean, received string"},
		{"adjust items missing", http.MethodPost, sub + "/adjust", adjust(map[string]any{"newSubscriptionItems": nil}), bad, cBad, "adjustment.newSubscriptionItems: Required"},
		{"adjust items object", http.MethodPost, sub + "/adjust", adjust(map[string]any{"newSubscriptionItems": map[string]any{}}), bad, cBad, "adjustment.newSubscriptionItems: Expected array, received object"},
		{"adjust item string", http.MethodPost, sub + "/adjust", adjust(map[string]any{"newSubscriptionItems": []any{"team-monthly"}}), bad, cBad, "adjustment.newSubscriptionItems[0]: Expected object, received string"},
		{"adjust item priceSlug empty", http.MethodPost, sub + "/adjust", item(map[string]any{"priceSlug": ""}), bad, cBad, "adjustment.newSubscriptionItems[0].priceSlug: String must contain at least 1 character(s)"},
		{"adjust item quantity zero", http.MethodPost, sub + "/adjust", item(map[string]any{"priceSlug": DemoPriceTeamMonthly, "quantity": 0}), bad, cBad, "adjustment.newSubscriptionItems[0].quantity: Number must be greater than 0"},
		{"adjust item unknown priceId", http.MethodPost, sub + "/adjust", item(map[string]any{"priceId": "price_nope"}), nf, cNF, "Price price_nope not found"},
		{"adjust item usage price", http.MethodPost, sub + "/adjust", item(map[string]any{"priceId": ids[DemoPriceAPICallsOverage]}), bad, cBad, "is a usage price; subscription items need subscription prices"},
		{"adjust unknown subscription", http.MethodPost, "/api/v1/subscriptions/sub_nope/adjust", adjust(nil), nf, cNF, "Subscription not found"},

		// Usage events.
		{"usage without wrapper", http.MethodPost, "/api/v1/usage-events", event(nil), bad, cBad, "usageEvent: Required"},
		{"usage subscription missing", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"subscriptionId": nil}), bad, cBad, "usageEvent.subscriptionId: Required"},
		{"usage amount missing", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"amount": nil}), bad, cBad, "usageEvent.amount: Required"},
		{"usage amount too large for an integer", http.MethodPost, "/api/v1/usage-events",
			`{"usageEvent":{"subscriptionId":"sub_alice_pro","amount":100000000000000000000,"transactionId":"tx-v","usageMeterSlug":"api-calls"}}`,
			bad, cBad, "usageEvent.amount: Expected integer, received float"},
		{"usage date negative", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"usageDate": -1}), bad, cBad, "usageEvent.usageDate: Number must be greater than or equal to 0"},
		{"usage properties string", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"properties": "x"}), bad, cBad, "usageEvent.properties: Expected object, received string"},
		{"usage meter slug empty", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"usageMeterSlug": ""}), bad, cBad, "usageEvent.usageMeterSlug: String must contain at least 1 character(s)"},
		{"usage unknown priceId", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"usageMeterSlug": nil, "priceId": "price_nope"}), nf, cNF, "Price price_nope not found"},
		{"usage unknown usageMeterId", http.MethodPost, "/api/v1/usage-events", usage(map[string]any{"usageMeterSlug": nil, "usageMeterId": "um_nope"}), nf, cNF, "Usage meter um_nope not found"},
		{"bulk missing events", http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{}, bad, cBad, "usageEvents: Required"},
		{"bulk events object", http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{"usageEvents": map[string]any{}}, bad, cBad, "usageEvents: Expected array, received object"},
		{"bulk event number", http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{"usageEvents": []any{1}}, bad, cBad, "usageEvents[0]: Expected object, received number"},
		{"bulk event invalid", http.MethodPost, "/api/v1/usage-events/bulk", map[string]any{"usageEvents": []any{event(nil), event(map[string]any{"amount": nil})}}, bad, cBad, "usageEvents[1].amount: Required"},
		{"bulk invalid json", http.MethodPost, "/api/v1/usage-events/bulk", `{"usageEvents":[`, bad, "", "Invalid JSON in request body"},

		// Resource claims.
		{"claim invalid json", http.MethodPost, claim + "/claim", `{`, bad, "", "Invalid JSON in request body"},
		{"claim quantity zero", http.MethodPost, claim + "/claim", seats(map[string]any{"quantity": 0}), bad, cBad, "quantity: Number must be greater than 0"},
		{"claim externalId number", http.MethodPost, claim + "/claim", seats(map[string]any{"externalId": 1}), bad, cBad, "externalId: Expected string, received number"},
		{"claim externalId too long", http.MethodPost, claim + "/claim", seats(map[string]any{"externalId": long}), bad, cBad, "externalId: String must contain at most 255 character(s)"},
		{"claim externalIds string", http.MethodPost, claim + "/claim", seats(map[string]any{"externalIds": "u1"}), bad, cBad, "externalIds: Expected array, received string"},
		{"claim externalIds empty", http.MethodPost, claim + "/claim", seats(map[string]any{"externalIds": []any{}}), bad, cBad, "externalIds: Array must contain at least 1 element(s)"},
		{"claim externalIds number", http.MethodPost, claim + "/claim", seats(map[string]any{"externalIds": []any{"u1", 2}}), bad, cBad, "externalIds[1]: Expected string, received number"},
		{"claim externalIds too long", http.MethodPost, claim + "/claim", seats(map[string]any{"externalIds": []any{long}}), bad, cBad, "externalIds[0]: String must contain at most 255 character(s)"},
		{"claim metadata string", http.MethodPost, claim + "/claim", seats(map[string]any{"quantity": 1, "metadata": "x"}), bad, cBad, "metadata: Expected object, received string"},
		{"claim unknown subscription", http.MethodPost, "/api/v1/resource-claims/sub_nope/claim", seats(map[string]any{"quantity": 1}), nf, cNF, "Subscription not found"},
		{"release invalid json", http.MethodPost, claim + "/release", `{`, bad, "", "Invalid JSON in request body"},
		{"release quantity zero", http.MethodPost, claim + "/release", seats(map[string]any{"quantity": 0}), bad, cBad, "quantity: Number must be greater than 0"},
		{"release externalId number", http.MethodPost, claim + "/release", seats(map[string]any{"externalId": 1}), bad, cBad, "externalId: Expected string, received number"},
		{"release externalIds empty", http.MethodPost, claim + "/release", seats(map[string]any{"externalIds": []any{}}), bad, cBad, "externalIds: Array must contain at least 1 element(s)"},
		{"release claimIds string", http.MethodPost, claim + "/release", seats(map[string]any{"claimIds": "claim_1"}), bad, cBad, "claimIds: Expected array, received string"},
		{"release unknown claimId", http.MethodPost, claim + "/release", seats(map[string]any{"claimIds": []any{"claim_nope"}}), nf, cNF, "Claim claim_nope not found among the active seats claims"},
		{"release resourceSlug missing", http.MethodPost, claim + "/release", map[string]any{"quantity": 1}, bad, cBad, "resourceSlug: Required"},
		{"release unknown subscription", http.MethodPost, "/api/v1/resource-claims/sub_nope/release", seats(map[string]any{"quantity": 1}), nf, cNF, "Subscription not found"},
		{"usage neither ref", http.MethodGet, claim + "/usage", nil, bad, cBad, "Exactly one of resourceSlug or resourceId must be provided"},
		{"usage unknown subscription", http.MethodGet, "/api/v1/resource-claims/sub_nope/usage?resourceSlug=seats", nil, nf, cNF, "Subscription not found"},
		{"usage unknown resourceId", http.MethodGet, claim + "/usage?resourceId=res_nope", nil, nf, cNF, "Resource not found"},
		{"usage unknown resourceSlug", http.MethodGet, claim + "/usage?resourceSlug=desks", nil, nf, cNF, "Resource not found"},
		{"usages too many slugs", http.MethodGet, claim + "/usages?" + manySlugs.Encode(), nil, bad, cBad, "resourceSlugs: Array must contain at most 100 element(s)"},
		{"usages unknown subscription", http.MethodGet, "/api/v1/resource-claims/sub_nope/usages", nil, nf, cNF, "Subscription not found"},
		{"claims unknown subscription", http.MethodGet, "/api/v1/resource-claims/sub_nope/claims", nil, nf, cNF, "Subscription not found"},
		{"claims unknown resource", http.MethodGet, claim + "/claims?resourceSlug=desks", nil, nf, cNF, "Resource with slug desks not found"},
	}
	before := viewState(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, tt.method, tt.path, tt.body)
			assertAPIError(t, r, tt.wantStatus, tt.wantCode, tt.wantMessage)
			after := viewState(t, s)
			if d := diffState(before, after); d != "" {
				t.Errorf("a refused request changed the state: %s", d)
				before = after // report each culprit once
			}
		})
	}
}

// TestRefusedTransitions checks the 400s and 404s that depend on a
// record's state (canceled, non-renewing, archived), each on a fresh fake,
// and that the refusal changed nothing.
func TestRefusedTransitions(t *testing.T) {
	nonRenewing := func(t *testing.T, s *Server) string {
		sub, err := s.AddSubscription(DemoCustomerBob, Subscription{NonRenewing: true, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
		require.NoError(t, err)
		return sub.ID
	}
	canceled := func(t *testing.T, s *Server) string {
		require.NoError(t, s.SetSubscriptionStatus(DemoAliceSubscriptionID, StatusCanceled))
		return DemoAliceSubscriptionID
	}
	archived := func(t *testing.T, s *Server) string {
		ok(t, call(t, s, http.MethodPost, "/api/v1/customers/"+DemoCustomerBob+"/archive", map[string]any{}))
		return DemoBobSubscriptionID
	}
	tests := []struct {
		name        string
		setup       func(*testing.T, *Server) string // returns the subscription id to use
		method      string
		path        string // %s is the subscription id
		body        any
		wantStatus  int
		wantMessage string
	}{
		{"cancel a canceled subscription", canceled, http.MethodPost, "/api/v1/subscriptions/%s/cancel",
			map[string]any{"cancellation": map[string]any{"timing": "immediately"}}, http.StatusBadRequest, "is already canceled"},
		{"cancel a non-renewing one at period end", nonRenewing, http.MethodPost, "/api/v1/subscriptions/%s/cancel",
			map[string]any{"cancellation": map[string]any{"timing": "at_end_of_current_billing_period"}}, http.StatusBadRequest, "does not renew; cancel it immediately"},
		{"adjust a canceled subscription", canceled, http.MethodPost, "/api/v1/subscriptions/%s/adjust",
			map[string]any{"adjustment": map[string]any{"timing": "immediately", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceTeamMonthly}}}}, http.StatusBadRequest, "is canceled and cannot be adjusted"},
		{"adjust a non-renewing subscription", nonRenewing, http.MethodPost, "/api/v1/subscriptions/%s/adjust",
			map[string]any{"adjustment": map[string]any{"timing": "immediately", "newSubscriptionItems": []any{map[string]any{"priceSlug": DemoPriceTeamMonthly}}}}, http.StatusBadRequest, "does not renew and cannot be adjusted"},
		{"claim on a canceled subscription", canceled, http.MethodPost, "/api/v1/resource-claims/%s/claim",
			map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 1}, http.StatusBadRequest, "resources can only be claimed on a current subscription"},
		{"release on a canceled subscription", canceled, http.MethodPost, "/api/v1/resource-claims/%s/release",
			map[string]any{"resourceSlug": DemoResourceSeats, "quantity": 1}, http.StatusBadRequest, "resources can only be claimed on a current subscription"},
		{"archive an archived customer", archived, http.MethodPost, "/api/v1/customers/" + DemoCustomerBob + "/archive",
			map[string]any{}, http.StatusNotFound, "Customer not found"},
		{"subscribe an archived customer by id", archived, http.MethodPost, "/api/v1/subscriptions",
			map[string]any{"customerId": DemoBobCustomerID, "priceSlug": DemoPriceProMonthly}, http.StatusNotFound, "Customer not found"},
		{"check out an archived customer", archived, http.MethodPost, "/api/v1/checkout-sessions",
			checkoutBody("product", map[string]any{"customerExternalId": DemoCustomerBob, "priceSlug": DemoPriceProMonthly}), http.StatusNotFound, "Customer with externalId user_bob not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newPlainServer(t)
			id := tt.setup(t, s)
			customers, sessions := s.Customers(), s.CheckoutSessions()
			path := tt.path
			if strings.Contains(path, "%s") {
				path = strings.Replace(path, "%s", id, 1)
			}
			r := call(t, s, tt.method, path, tt.body)
			code := "BAD_REQUEST"
			if tt.wantStatus == http.StatusNotFound {
				code = "NOT_FOUND"
			}
			assertAPIError(t, r, tt.wantStatus, code, tt.wantMessage)
			assert.Equal(t, customers, s.Customers())
			assert.Equal(t, sessions, s.CheckoutSessions())
			assert.Empty(t, s.Claims(id))
		})
	}
}

// TestUnauthorizedWrites: a write without the right key is a
// plain-text 401 and never reaches the state.
func TestUnauthorizedWrites(t *testing.T) {
	s := newPlainServer(t)
	for _, tt := range []struct {
		name, auth, want string
	}{
		{"no key", "", "Unauthorized. Authorization header is required"},
		{"wrong key", "sk_test_wrong", "API key invalid."},
		{"empty bearer", "Bearer ", "API key invalid."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := callAuth(t, s, http.MethodPost, "/api/v1/usage-events", usageBody("tx-unauth", 5), tt.auth)
			require.Equal(t, http.StatusUnauthorized, r.status)
			assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
			assert.True(t, strings.HasPrefix(string(r.body), tt.want), "body %q", r.body)
			assert.NotContains(t, string(r.body), s.APIKey())
			assert.Empty(t, s.UsageEvents())
		})
	}
}
