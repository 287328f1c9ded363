package flowgladapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// TestClientMethods checks, for every method, the request on the wire
// (method, escaped path, query, JSON body, headers) and the decoded result.
func TestClientMethods(t *testing.T) {
	t.Parallel()
	type result = any
	tests := []struct {
		name      string
		call      func(ctx context.Context, c *flowgladapi.Client) (result, error)
		reply     string // 200 body
		method    string
		path      string
		query     string
		body      string                          // expected JSON body; "" = none
		checkBody func(t *testing.T, body string) // instead of body, when it has random parts
		want      func(t *testing.T, got result)  // nil: got must equal reply as JSON
	}{
		{
			name:   "GetCustomer",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetCustomer(ctx, rawID) },
			reply:  `{"customer":{"id":"cust_1","externalId":"a b/c?d"}}`,
			method: "GET", path: "/api/v1/customers/" + escapedID,
		},
		{
			name: "CreateCustomer",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCustomer(ctx, flowgladapi.CreateCustomerParams{ExternalID: rawID, Email: "ada@example.com", Name: "Ada"})
			},
			reply:  `{"data":{"customer":{"id":"cust_1"},"subscription":{"id":"sub_free"}}}`,
			method: "POST", path: "/api/v1/customers",
			body: `{"customer":{"externalId":"a b/c?d","email":"ada@example.com","name":"Ada"}}`,
			want: func(t *testing.T, got result) {
				assert.JSONEq(t, `{"customer":{"id":"cust_1"},"subscription":{"id":"sub_free"}}`, string(got.(json.RawMessage)))
			},
		},
		{
			name: "UpdateCustomer/all fields",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.UpdateCustomer(ctx, rawID, flowgladapi.UpdateCustomerParams{
					Name: ptr("Ada L."), Email: ptr("ada@example.org"), Phone: ptr("+44 20 0000 0000"),
					BillingAddress: json.RawMessage(`{"address":{"country":"GB"}}`),
				})
			},
			reply:  `{"customer":{"id":"cust_1","name":"Ada L."}}`,
			method: "PUT", path: "/api/v1/customers/" + escapedID,
			body: `{"customer":{"name":"Ada L.","email":"ada@example.org","phone":"+44 20 0000 0000","billingAddress":{"address":{"country":"GB"}}}}`,
		},
		{
			name: "UpdateCustomer/only name",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.UpdateCustomer(ctx, "cust-ext", flowgladapi.UpdateCustomerParams{Name: ptr("")})
			},
			reply:  `{"customer":{"id":"cust_1","name":""}}`,
			method: "PUT", path: "/api/v1/customers/cust-ext",
			body: `{"customer":{"name":""}}`,
		},
		{
			name:   "ArchiveCustomer",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.ArchiveCustomer(ctx, rawID) },
			reply:  `{"customer":{"id":"cust_1","archived":true}}`,
			method: "POST", path: "/api/v1/customers/" + escapedID + "/archive",
			body: `{}`,
		},
		{
			name:   "GetBilling",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetBilling(ctx, rawID) },
			reply:  `{"customer":{"id":"cust_1","externalId":"a b/c?d"},"currentSubscriptions":[{"id":"sub_1","experimental":{"featureItems":[{"type":"toggle","slug":"sso"}],"usageMeterBalances":[]}}],"pricingModel":{"id":"pm_1","products":[]},"billingPortalUrl":"https://x"}`,
			method: "GET", path: "/api/v1/customers/" + escapedID + "/billing",
			want: func(t *testing.T, got result) {
				b := got.(*flowgladapi.Billing)
				assert.Equal(t, "cust_1", b.Customer.ID)
				assert.Equal(t, "a b/c?d", b.Customer.ExternalID)
				assert.True(t, b.CheckFeatureAccess("sso"))
				assert.Equal(t, "pm_1", b.PricingModel.ID)
				require.NotNil(t, b.BillingPortalURL)
				assert.Equal(t, "https://x", *b.BillingPortalURL)
				assert.Contains(t, string(b.Raw), `"billingPortalUrl":"https://x"`)
			},
		},
		{
			name:   "GetBillingBody",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetBillingBody(ctx, rawID) },
			reply:  `{"customer":{"id":"cust_1"},"pricingModel":{"id":"pm_1"}}`,
			method: "GET", path: "/api/v1/customers/" + escapedID + "/billing",
			want: func(t *testing.T, got result) {
				b := got.(*flowgladapi.BillingBody)
				assert.JSONEq(t, `{"customer":{"id":"cust_1"},"pricingModel":{"id":"pm_1"}}`, string(b.JSON()))
				assert.Equal(t, `{"id":"pm_1"}`, string(b.Member("pricingModel")))
			},
		},
		{
			name: "GetUsageBalances/all",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetUsageBalances(ctx, rawID, "")
			},
			reply:  `{"usageMeterBalances":[]}`,
			method: "GET", path: "/api/v1/customers/" + escapedID + "/usage-balances",
		},
		{
			name: "GetUsageBalances/one subscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetUsageBalances(ctx, "u1", "sub 1&x")
			},
			reply:  `{"usageMeterBalances":[{"slug":"api_calls","availableBalance":3}]}`,
			method: "GET", path: "/api/v1/customers/u1/usage-balances", query: "subscriptionId=sub+1%26x",
		},
		{
			name: "CreateCheckoutSession/product",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{
					Type: flowgladapi.CheckoutSessionProduct, CustomerExternalID: rawID,
					SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/cancel",
					PriceSlug: "pro_monthly", Quantity: 3, TargetSubscriptionID: "ignored",
					OutputMetadata: map[string]any{"campaign": "spring"}, OutputName: "Pro",
				})
			},
			reply:  `{"checkoutSession":{"id":"chckt_1"},"url":"https://checkout/1"}`,
			method: "POST", path: "/api/v1/checkout-sessions",
			body: `{"checkoutSession":{"type":"product","customerExternalId":"a b/c?d","successUrl":"https://app.example/ok","cancelUrl":"https://app.example/cancel","priceSlug":"pro_monthly","quantity":3,"anonymous":false,"outputMetadata":{"campaign":"spring"},"outputName":"Pro"}}`,
		},
		{
			name: "CreateCheckoutSession/product minimal",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{
					Type: flowgladapi.CheckoutSessionProduct, CustomerExternalID: "u1",
					SuccessURL: "s", CancelURL: "c", PriceID: "price_1",
				})
			},
			reply:  `{"checkoutSession":{"id":"chckt_1"},"url":"https://checkout/1"}`,
			method: "POST", path: "/api/v1/checkout-sessions",
			body: `{"checkoutSession":{"type":"product","customerExternalId":"u1","successUrl":"s","cancelUrl":"c","priceId":"price_1","anonymous":false}}`,
		},
		{
			name: "CreateCheckoutSession/add_payment_method",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{
					Type: flowgladapi.CheckoutSessionAddPaymentMethod, CustomerExternalID: "u1",
					SuccessURL: "s", CancelURL: "c", PriceSlug: "ignored", Quantity: 2, TargetSubscriptionID: "sub_1",
				})
			},
			reply:  `{"checkoutSession":{"id":"chckt_2"},"url":"https://checkout/2"}`,
			method: "POST", path: "/api/v1/checkout-sessions",
			body: `{"checkoutSession":{"type":"add_payment_method","customerExternalId":"u1","successUrl":"s","cancelUrl":"c","targetSubscriptionId":"sub_1"}}`,
		},
		{
			name: "CreateCheckoutSession/activate_subscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{
					Type: flowgladapi.CheckoutSessionActivateSubscription, CustomerExternalID: "u1",
					SuccessURL: "s", CancelURL: "c", TargetSubscriptionID: "sub_1",
				})
			},
			reply:  `{"checkoutSession":{"id":"chckt_3"},"url":"https://checkout/3"}`,
			method: "POST", path: "/api/v1/checkout-sessions",
			body: `{"checkoutSession":{"type":"activate_subscription","customerExternalId":"u1","successUrl":"s","cancelUrl":"c","targetSubscriptionId":"sub_1"}}`,
		},
		{
			name:   "GetSubscription",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetSubscription(ctx, rawID) },
			reply:  `{"subscription":{"id":"a b/c?d","status":"active"}}`,
			method: "GET", path: "/api/v1/subscriptions/" + escapedID,
		},
		{
			name: "CreateSubscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateSubscription(ctx, flowgladapi.CreateSubscriptionParams{
					CustomerExternalID: "u1", PriceSlug: "pro_monthly", Quantity: 2, Interval: "month", IntervalCount: 1,
					TrialEnd: ptr(int64(1767225600000)), Metadata: map[string]any{"k": "v"}, Name: "Pro",
					DefaultPaymentMethodID: "pm_1", BackupPaymentMethodID: "pm_2",
				})
			},
			reply:  `{"subscription":{"id":"sub_new"}}`,
			method: "POST", path: "/api/v1/subscriptions",
			body: `{"customerExternalId":"u1","priceSlug":"pro_monthly","quantity":2,"interval":"month","intervalCount":1,"trialEnd":1767225600000,"metadata":{"k":"v"},"name":"Pro","defaultPaymentMethodId":"pm_1","backupPaymentMethodId":"pm_2"}`,
		},
		{
			name: "CreateSubscription/doNotCharge",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateSubscription(ctx, flowgladapi.CreateSubscriptionParams{CustomerID: "cust_1", PriceID: "price_1", DoNotCharge: true})
			},
			reply:  `{"subscription":{"id":"sub_new"}}`,
			method: "POST", path: "/api/v1/subscriptions",
			body: `{"customerId":"cust_1","priceId":"price_1","doNotCharge":true}`,
		},
		{
			name: "CancelSubscription/end of period",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CancelSubscription(ctx, rawID, flowgladapi.CancelAtEndOfPeriod)
			},
			reply:  `{"subscription":{"id":"sub_1","status":"cancellation_scheduled"}}`,
			method: "POST", path: "/api/v1/subscriptions/" + escapedID + "/cancel",
			body: `{"cancellation":{"timing":"at_end_of_current_billing_period"}}`,
		},
		{
			name: "CancelSubscription/immediately",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CancelSubscription(ctx, "sub_1", flowgladapi.CancelImmediately)
			},
			reply:  `{"subscription":{"id":"sub_1","status":"canceled"}}`,
			method: "POST", path: "/api/v1/subscriptions/sub_1/cancel",
			body: `{"cancellation":{"timing":"immediately"}}`,
		},
		{
			// A timing that is not a plain word is JSON-encoded, never pasted into the body.
			name: "CancelSubscription/timing that needs escaping",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CancelSubscription(ctx, "sub_1", flowgladapi.CancellationTiming(`now","x":"<y>\`))
			},
			reply:  `{"subscription":{"id":"sub_1","status":"canceled"}}`,
			method: "POST", path: "/api/v1/subscriptions/sub_1/cancel",
			body: `{"cancellation":{"timing":"now\",\"x\":\"\u003cy\u003e\\"}}`,
		},
		{
			name: "UncancelSubscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.UncancelSubscription(ctx, rawID)
			},
			reply:  `{"subscription":{"id":"sub_1","status":"active"}}`,
			method: "POST", path: "/api/v1/subscriptions/" + escapedID + "/uncancel",
			body: `{}`,
		},
		{
			name: "AdjustSubscription/immediately with proration",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.AdjustSubscription(ctx, rawID, flowgladapi.AdjustSubscriptionParams{
					Timing: flowgladapi.AdjustImmediately, Prorate: ptr(false),
					Items: []flowgladapi.SubscriptionItemParams{{PriceSlug: "enterprise_monthly", Quantity: 2}, {PriceID: "price_x"}},
				})
			},
			reply:  `{"subscription":{"id":"sub_1"},"subscriptionItems":[],"resolvedTiming":"immediately","isUpgrade":true}`,
			method: "POST", path: "/api/v1/subscriptions/" + escapedID + "/adjust",
			body: `{"adjustment":{"timing":"immediately","newSubscriptionItems":[{"priceSlug":"enterprise_monthly","quantity":2},{"priceId":"price_x"}],"prorateCurrentBillingPeriod":false}}`,
		},
		{
			name: "AdjustSubscription/end of period drops proration",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.AdjustSubscription(ctx, "sub_1", flowgladapi.AdjustSubscriptionParams{
					Timing: flowgladapi.AdjustAtEndOfPeriod, Prorate: ptr(true),
					Items: []flowgladapi.SubscriptionItemParams{{PriceSlug: "free_monthly"}},
				})
			},
			reply:  `{"subscription":{"id":"sub_1"},"subscriptionItems":[],"resolvedTiming":"at_end_of_current_billing_period","isUpgrade":false}`,
			method: "POST", path: "/api/v1/subscriptions/sub_1/adjust",
			body: `{"adjustment":{"timing":"at_end_of_current_billing_period","newSubscriptionItems":[{"priceSlug":"free_monthly"}]}}`,
		},
		{
			name: "AdjustSubscription/auto with no items sends []",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.AdjustSubscription(ctx, "sub_1", flowgladapi.AdjustSubscriptionParams{Timing: flowgladapi.AdjustAuto})
			},
			reply:  `{"subscription":{"id":"sub_1"},"subscriptionItems":[],"resolvedTiming":"immediately","isUpgrade":false}`,
			method: "POST", path: "/api/v1/subscriptions/sub_1/adjust",
			body: `{"adjustment":{"timing":"auto","newSubscriptionItems":[]}}`,
		},
		{
			name: "CreateUsageEvent/given transactionId",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateUsageEvent(ctx, flowgladapi.UsageEventParams{
					SubscriptionID: "sub_1", Amount: 5, TransactionID: "tx-1", UsageDate: ptr(int64(1767225600000)),
					Properties: map[string]any{"user": "u9"}, UsageMeterSlug: "api_calls",
				})
			},
			reply:  `{"usageEvent":{"id":"ue_1","transactionId":"tx-1"}}`,
			method: "POST", path: "/api/v1/usage-events",
			body: `{"usageEvent":{"subscriptionId":"sub_1","amount":5,"transactionId":"tx-1","usageDate":1767225600000,"properties":{"user":"u9"},"usageMeterSlug":"api_calls"}}`,
		},
		{
			name: "CreateUsageEvent/generated transactionId",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateUsageEvent(ctx, flowgladapi.UsageEventParams{SubscriptionID: "sub_1", Amount: 1, PriceSlug: "api_overage"})
			},
			reply:  `{"usageEvent":{"id":"ue_2"}}`,
			method: "POST", path: "/api/v1/usage-events",
			checkBody: func(t *testing.T, body string) {
				var got struct {
					UsageEvent map[string]any `json:"usageEvent"`
				}
				require.NoError(t, json.Unmarshal([]byte(body), &got))
				tx, _ := got.UsageEvent["transactionId"].(string)
				_, err := uuid.Parse(tx)
				assert.NoError(t, err, "transactionId %q", tx)
				delete(got.UsageEvent, "transactionId")
				assert.Equal(t, map[string]any{"subscriptionId": "sub_1", "amount": 1.0, "priceSlug": "api_overage"}, got.UsageEvent)
			},
		},
		{
			name: "BulkCreateUsageEvents",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.BulkCreateUsageEvents(ctx, []flowgladapi.UsageEventParams{
					{SubscriptionID: "sub_1", Amount: 2, TransactionID: "tx-a", UsageMeterID: "meter_1"},
					{SubscriptionID: "sub_1", Amount: 3, PriceID: "price_1"},
				})
			},
			reply:  `{"usageEvents":[{"id":"ue_a"},{"id":"ue_b"}]}`,
			method: "POST", path: "/api/v1/usage-events/bulk",
			checkBody: func(t *testing.T, body string) {
				var got struct {
					UsageEvents []map[string]any `json:"usageEvents"`
				}
				require.NoError(t, json.Unmarshal([]byte(body), &got))
				require.Len(t, got.UsageEvents, 2)
				assert.Equal(t, map[string]any{"subscriptionId": "sub_1", "amount": 2.0, "transactionId": "tx-a", "usageMeterId": "meter_1"}, got.UsageEvents[0])
				tx, _ := got.UsageEvents[1]["transactionId"].(string)
				_, err := uuid.Parse(tx)
				assert.NoError(t, err, "generated transactionId %q", tx)
			},
		},
		{
			name:   "GetDefaultPricingModel",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetDefaultPricingModel(ctx) },
			reply:  `{"pricingModel":{"id":"pm_default","products":[]}}`,
			method: "GET", path: "/api/v1/pricing-models/default",
		},
		{
			name:   "GetPricingModel",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetPricingModel(ctx, rawID) },
			reply:  `{"pricingModel":{"id":"pm_1"}}`,
			method: "GET", path: "/api/v1/pricing-models/" + escapedID,
		},
		{
			name: "ClaimResource",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ClaimResource(ctx, rawID, flowgladapi.ClaimParams{ResourceSlug: "seats", ExternalIDs: []string{"u1", "u2"}, Metadata: map[string]any{"team": "core"}})
			},
			reply:  `{"claims":[{"id":"claim_1"}],"usage":{"resourceSlug":"seats","capacity":5,"claimed":2,"available":3}}`,
			method: "POST", path: "/api/v1/resource-claims/" + escapedID + "/claim",
			body: `{"resourceSlug":"seats","metadata":{"team":"core"},"externalIds":["u1","u2"]}`,
		},
		{
			name: "ClaimResource/quantity",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ClaimResource(ctx, "sub_1", flowgladapi.ClaimParams{ResourceSlug: "seats", Quantity: 2})
			},
			reply:  `{"claims":[],"usage":{}}`,
			method: "POST", path: "/api/v1/resource-claims/sub_1/claim",
			body: `{"resourceSlug":"seats","quantity":2}`,
		},
		{
			name: "ReleaseResource",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ReleaseResource(ctx, rawID, flowgladapi.ReleaseParams{ResourceSlug: "seats", ClaimIDs: []string{"claim_1"}})
			},
			reply:  `{"releasedClaims":[{"id":"claim_1"}],"usage":{}}`,
			method: "POST", path: "/api/v1/resource-claims/" + escapedID + "/release",
			body: `{"resourceSlug":"seats","claimIds":["claim_1"]}`,
		},
		{
			name: "ReleaseResource/externalId",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ReleaseResource(ctx, "sub_1", flowgladapi.ReleaseParams{ResourceSlug: "seats", ExternalID: "u1"})
			},
			reply:  `{"releasedClaims":[],"usage":{}}`,
			method: "POST", path: "/api/v1/resource-claims/sub_1/release",
			body: `{"resourceSlug":"seats","externalId":"u1"}`,
		},
		{
			name: "GetResourceUsage/slug",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetResourceUsage(ctx, rawID, flowgladapi.ResourceRef{ResourceSlug: "seats"})
			},
			reply:  `{"usage":{"resourceSlug":"seats"},"claims":[]}`,
			method: "GET", path: "/api/v1/resource-claims/" + escapedID + "/usage", query: "resourceSlug=seats",
		},
		{
			name: "GetResourceUsage/id",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetResourceUsage(ctx, "sub_1", flowgladapi.ResourceRef{ResourceID: "res_1"})
			},
			reply:  `{"usage":{"resourceId":"res_1"},"claims":[]}`,
			method: "GET", path: "/api/v1/resource-claims/sub_1/usage", query: "resourceId=res_1",
		},
		{
			name: "ListResourceUsages/all",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ListResourceUsages(ctx, rawID, flowgladapi.ResourceUsagesQuery{})
			},
			reply:  `[]`,
			method: "GET", path: "/api/v1/resource-claims/" + escapedID + "/usages",
		},
		{
			name: "ListResourceUsages/lone slug is doubled",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ListResourceUsages(ctx, "sub_1", flowgladapi.ResourceUsagesQuery{ResourceSlugs: []string{"seats"}})
			},
			reply:  `[{"usage":{"resourceSlug":"seats"},"claims":[]}]`,
			method: "GET", path: "/api/v1/resource-claims/sub_1/usages", query: "resourceSlugs=seats&resourceSlugs=seats",
		},
		{
			name: "ListResourceUsages/several slugs and ids",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ListResourceUsages(ctx, "sub_1", flowgladapi.ResourceUsagesQuery{ResourceSlugs: []string{"seats", "projects"}, ResourceIDs: []string{"res_1"}})
			},
			reply:  `[]`,
			method: "GET", path: "/api/v1/resource-claims/sub_1/usages", query: "resourceIds=res_1&resourceIds=res_1&resourceSlugs=seats&resourceSlugs=projects",
		},
		{
			name: "ListResourceClaims/all",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ListResourceClaims(ctx, rawID, "")
			},
			reply:  `{"claims":[]}`,
			method: "GET", path: "/api/v1/resource-claims/" + escapedID + "/claims",
		},
		{
			name: "ListResourceClaims/by slug",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ListResourceClaims(ctx, "sub_1", "seats")
			},
			reply:  `{"claims":[{"id":"claim_1"}]}`,
			method: "GET", path: "/api/v1/resource-claims/sub_1/claims", query: "resourceSlug=seats",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := newStub(t, jsonReply(http.StatusOK, tt.reply))
			got, err := tt.call(t.Context(), c)
			require.NoError(t, err)

			r := soleRequest(t, s.requests(), tt.method, tt.path, tt.query)
			assert.Equal(t, testKey, r.Header.Get("Authorization"))
			assert.Equal(t, "application/json", r.Header.Get("Accept"))
			assert.True(t, strings.HasPrefix(r.Header.Get("User-Agent"), "flowglad-go/"), r.Header.Get("User-Agent"))
			switch {
			case tt.checkBody != nil:
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				tt.checkBody(t, r.Body)
			case tt.body != "":
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.JSONEq(t, tt.body, r.Body)
			default:
				assert.Empty(t, r.Body)
				assert.Empty(t, r.Header.Get("Content-Type"))
			}

			if tt.want != nil {
				tt.want(t, got)
				return
			}
			raw, ok := got.(json.RawMessage)
			require.True(t, ok, "%T", got)
			assert.JSONEq(t, tt.reply, string(raw))
		})
	}
}

// errOf returns the error of a call's two results.
func errOf[T any](_ T, err error) error { return err }

// TestClientRejectsBadInput checks calls that fail before any request: ids
// that would reach another endpoint, and impossible checkout sessions.
func TestClientRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, c *flowgladapi.Client) error
		want string
	}{
		{"empty customer id", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.GetCustomer(ctx, "")) }, "empty externalID"},
		{"dot-dot customer id", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.GetBilling(ctx, "..")) }, "invalid externalID"},
		{"dot-dot customer id, billing body", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.GetBillingBody(ctx, "..")) }, "invalid externalID"},
		{"dot subscription id", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.GetSubscription(ctx, ".")) }, "invalid id"},
		{"empty update id", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.UpdateCustomer(ctx, "", flowgladapi.UpdateCustomerParams{}))
		}, "empty externalID"},
		{"empty archive id", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.ArchiveCustomer(ctx, "")) }, "empty externalID"},
		{"empty balances id", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.GetUsageBalances(ctx, "", "")) }, "empty externalID"},
		{"empty cancel id", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.CancelSubscription(ctx, "", flowgladapi.CancelImmediately))
		}, "empty id"},
		{"empty uncancel id", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.UncancelSubscription(ctx, "")) }, "empty id"},
		{"empty adjust id", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.AdjustSubscription(ctx, "", flowgladapi.AdjustSubscriptionParams{}))
		}, "empty id"},
		{"empty pricing model id", func(ctx context.Context, c *flowgladapi.Client) error { return errOf(c.GetPricingModel(ctx, "")) }, "empty id"},
		{"empty claim sub", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.ClaimResource(ctx, "", flowgladapi.ClaimParams{}))
		}, "empty subscriptionID"},
		{"empty release sub", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.ReleaseResource(ctx, "", flowgladapi.ReleaseParams{}))
		}, "empty subscriptionID"},
		{"empty usage sub", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.GetResourceUsage(ctx, "", flowgladapi.ResourceRef{}))
		}, "empty subscriptionID"},
		{"empty usages sub", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.ListResourceUsages(ctx, "", flowgladapi.ResourceUsagesQuery{}))
		}, "empty subscriptionID"},
		{"empty claims sub", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.ListResourceClaims(ctx, "", ""))
		}, "empty subscriptionID"},
		{"checkout without customer", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{Type: flowgladapi.CheckoutSessionProduct}))
		}, "empty CustomerExternalID"},
		{"checkout unknown type", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{Type: "purchase", CustomerExternalID: "u1"}))
		}, `unknown checkout session type "purchase"`},
		{"activate without target", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{Type: flowgladapi.CheckoutSessionActivateSubscription, CustomerExternalID: "u1"}))
		}, "needs TargetSubscriptionID"},
		{"nil context", func(_ context.Context, c *flowgladapi.Client) error {
			var nilCtx context.Context
			_, err := c.GetDefaultPricingModel(nilCtx) //nolint:staticcheck // testing the guard
			return err
		}, "nil context"},
		{"unencodable metadata", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.ClaimResource(ctx, "sub_1", flowgladapi.ClaimParams{ResourceSlug: "s", Metadata: map[string]any{"f": func() {}}}))
		}, "encode request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := newStub(t, jsonReply(http.StatusOK, `{}`))
			err := tt.call(t.Context(), c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "flowgladapi: "), err.Error())
			assertNoSecret(t, err)
			assert.Empty(t, s.requests(), "no request may be sent")
		})
	}
}

// TestBaseURLPrefix checks that a base URL path prefix (a proxy mount) is
// kept in front of /api/v1, escapes as given, and that the request reaches
// the same escaped path and query whatever the prefix and the ids hold.
func TestBaseURLPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, prefix string
		call         func(context.Context, *flowgladapi.Client) error
		path, query  string
	}{
		{"plain prefix", "/proxy/flowglad/", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.GetDefaultPricingModel(ctx))
		}, "/proxy/flowglad/api/v1/pricing-models/default", ""},
		{"no prefix, escaped id", "", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.GetBillingBody(ctx, rawID))
		}, "/api/v1/customers/" + escapedID + "/billing", ""},
		{"escaped prefix, escaped id, query", "/a%20b/flow%2Fglad", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.GetUsageBalances(ctx, rawID, "sub 1&x"))
		}, "/a%20b/flow%2Fglad/api/v1/customers/" + escapedID + "/usage-balances", "subscriptionId=sub+1%26x"},
		{"escaped prefix, plain id", "/a%20b", func(ctx context.Context, c *flowgladapi.Client) error {
			return errOf(c.GetPricingModel(ctx, "pm_1"))
		}, "/a%20b/api/v1/pricing-models/pm_1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &stub{respond: jsonReply(http.StatusOK, `{"pricingModel":{},"usageMeterBalances":[]}`)}
			srv := newServer(t, s)
			c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(srv+tc.prefix))
			require.NoError(t, err)
			require.NoError(t, tc.call(t.Context(), c))
			soleRequest(t, s.requests(), http.MethodGet, tc.path, tc.query)
		})
	}
}
