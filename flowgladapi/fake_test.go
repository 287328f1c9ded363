package flowgladapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	fake "github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/spectest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newFake starts the stateful fake with the demo seed behind the OpenAPI
// validator, so every request the client sends and every 2xx the fake
// returns is checked against Flowglad's spec, and returns a client for it
// whose waits are recorded, not spent.
func newFake(t *testing.T) (*fake.Server, *flowgladapi.Client) {
	t.Helper()
	spec := spectest.Load(t)
	srv := fake.NewServer(t, fake.WithSeed(fake.DemoSeed()), fake.WithMiddleware(spec.Middleware(t)))
	c, err := flowgladapi.NewClient(srv.APIKey(), flowgladapi.WithBaseURL(srv.URL))
	require.NoError(t, err)
	recordWaits(c)
	return srv, c
}

// recordedOf gives the fake's request log the stub's shape, so that both are checked
// alike.
func recordedOf(reqs []fake.Request) []recorded {
	out := make([]recorded, len(reqs))
	for i, r := range reqs {
		out[i] = recorded{Method: r.Method, Path: r.Path, Query: r.Query, Body: string(r.Body)}
	}
	return out
}

// jsonPath digs a value out of a JSON document: keys for objects, ints for
// arrays.
func jsonPath(t *testing.T, raw []byte, path ...any) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "%v is not an object at %q", v, k)
			v = m[k]
		case int:
			a, ok := v.([]any)
			require.True(t, ok, "%v is not an array at %d", v, k)
			require.Greater(t, len(a), k)
			v = a[k]
		}
	}
	return v
}

// TestClientAgainstFake runs every client method against the fake behind
// the spec validator and checks the fake's request log and the results.
func TestClientAgainstFake(t *testing.T) {
	t.Parallel()
	const (
		alice    = fake.DemoCustomerAlice
		aliceSub = fake.DemoAliceSubscriptionID
		bob      = fake.DemoCustomerBob
	)
	type result = any
	type fakeCase struct {
		name   string
		setup  func(ctx context.Context, t *testing.T, c *flowgladapi.Client)
		call   func(ctx context.Context, c *flowgladapi.Client) (result, error)
		method string
		path   string
		query  string
		body   string // expected JSON; "" = no body
		// bodyCheck replaces body when the body has generated parts.
		bodyCheck func(t *testing.T, body []byte)
		check     func(t *testing.T, got result)
	}
	// targetCheckout is the case of a checkout session of typ for Alice's subscription.
	targetCheckout := func(typ flowgladapi.CheckoutSessionType) fakeCase {
		return fakeCase{
			name: "CreateCheckoutSession " + string(typ),
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{
					Type: typ, CustomerExternalID: alice,
					SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no", TargetSubscriptionID: aliceSub,
				})
			},
			method: "POST", path: "/api/v1/checkout-sessions",
			body: `{"checkoutSession":{"type":"` + string(typ) + `","customerExternalId":"user_alice","successUrl":"https://app.example/ok","cancelUrl":"https://app.example/no","targetSubscriptionId":"sub_alice_pro"}}`,
			check: func(t *testing.T, got result) {
				raw := got.(json.RawMessage)
				assert.Equal(t, string(typ), jsonPath(t, raw, "checkoutSession", "type"))
				assert.Equal(t, aliceSub, jsonPath(t, raw, "checkoutSession", "targetSubscriptionId"))
			},
		}
	}
	tests := []fakeCase{
		{
			name:   "GetCustomer",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetCustomer(ctx, alice) },
			method: "GET", path: "/api/v1/customers/" + alice,
			check: func(t *testing.T, got result) {
				assert.Equal(t, alice, jsonPath(t, got.(json.RawMessage), "customer", "externalId"))
			},
		},
		{
			name: "CreateCustomer with an awkward external id",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCustomer(ctx, flowgladapi.CreateCustomerParams{ExternalID: rawID, Email: "carol@example.com", Name: "Carol"})
			},
			method: "POST", path: "/api/v1/customers",
			body: `{"customer":{"externalId":"a b/c?d","email":"carol@example.com","name":"Carol"}}`,
			check: func(t *testing.T, got result) {
				assert.Equal(t, rawID, jsonPath(t, got.(json.RawMessage), "customer", "externalId"))
			},
		},
		{
			name: "UpdateCustomer",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.UpdateCustomer(ctx, alice, flowgladapi.UpdateCustomerParams{Name: ptr("Alice Renamed")})
			},
			method: "PUT", path: "/api/v1/customers/" + alice,
			body: `{"customer":{"name":"Alice Renamed"}}`,
			check: func(t *testing.T, got result) {
				assert.Equal(t, "Alice Renamed", jsonPath(t, got.(json.RawMessage), "customer", "name"))
			},
		},
		{
			name:   "ArchiveCustomer",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.ArchiveCustomer(ctx, bob) },
			method: "POST", path: "/api/v1/customers/" + bob + "/archive",
			body: `{}`,
			check: func(t *testing.T, got result) {
				assert.Equal(t, true, jsonPath(t, got.(json.RawMessage), "customer", "archived"))
			},
		},
		{
			name:   "GetBilling",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetBilling(ctx, alice) },
			method: "GET", path: "/api/v1/customers/" + alice + "/billing",
			check: func(t *testing.T, got result) {
				b := got.(*flowgladapi.Billing)
				assert.Equal(t, alice, b.Customer.ExternalID)
				require.NotEmpty(t, b.CurrentSubscriptions)
				assert.Equal(t, aliceSub, b.CurrentSubscriptions[0].ID)
				assert.True(t, b.CheckFeatureAccess(fake.DemoFeaturePremium))
				assert.False(t, b.CheckFeatureAccess(fake.DemoFeatureSSO))
				assert.False(t, b.CheckFeatureAccess(fake.DemoFeatureProAPICalls), "a credit grant is not a toggle")
				assert.NotNil(t, b.CheckUsageBalance(fake.DemoUsageMeterAPICalls))
				assert.NotNil(t, b.Product(fake.DemoProductTeam))
				assert.NotNil(t, b.Price(fake.DemoPriceAPICallsOverage), "usage price")
				assert.True(t, b.HasPurchased(fake.DemoProductCredits))
				assert.False(t, b.HasPurchased(fake.DemoProductPro), "the seeded subscription has no purchase record")
				assert.False(t, b.HasPurchased(fake.DemoProductTeam))
				assert.NotNil(t, b.BillingPortalURL)
			},
		},
		{
			name: "GetUsageBalances",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetUsageBalances(ctx, alice, aliceSub)
			},
			method: "GET", path: "/api/v1/customers/" + alice + "/usage-balances", query: "subscriptionId=" + aliceSub,
			check: func(t *testing.T, got result) {
				assert.Equal(t, fake.DemoUsageMeterAPICalls, jsonPath(t, got.(json.RawMessage), "usageMeterBalances", 0, "slug"))
			},
		},
		{
			name: "CreateCheckoutSession product",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateCheckoutSession(ctx, flowgladapi.CheckoutSessionParams{
					Type: flowgladapi.CheckoutSessionProduct, CustomerExternalID: alice,
					SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no",
					PriceSlug: fake.DemoPriceTeamMonthly, Quantity: 2,
					OutputMetadata: map[string]any{"source": "test"}, OutputName: "Team plan",
				})
			},
			method: "POST", path: "/api/v1/checkout-sessions",
			body: `{"checkoutSession":{"type":"product","customerExternalId":"user_alice","successUrl":"https://app.example/ok","cancelUrl":"https://app.example/no","priceSlug":"team-monthly","quantity":2,"anonymous":false,"outputMetadata":{"source":"test"},"outputName":"Team plan"}}`,
			check: func(t *testing.T, got result) {
				raw := got.(json.RawMessage)
				assert.NotEmpty(t, jsonPath(t, raw, "url"))
				assert.Equal(t, "product", jsonPath(t, raw, "checkoutSession", "type"))
				assert.EqualValues(t, 2, jsonPath(t, raw, "checkoutSession", "quantity"))
			},
		},
		targetCheckout(flowgladapi.CheckoutSessionAddPaymentMethod),
		targetCheckout(flowgladapi.CheckoutSessionActivateSubscription),
		{
			name: "GetSubscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetSubscription(ctx, aliceSub)
			},
			method: "GET", path: "/api/v1/subscriptions/" + aliceSub,
			check: func(t *testing.T, got result) {
				s, err := flowgladapi.DecodeSubscription(got.(json.RawMessage))
				require.NoError(t, err)
				assert.Equal(t, aliceSub, s.ID)
				assert.Equal(t, "active", s.Status)
				assert.True(t, s.Current)
			},
		},
		{
			name: "CreateSubscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateSubscription(ctx, flowgladapi.CreateSubscriptionParams{
					CustomerExternalID: bob, PriceSlug: fake.DemoPriceTeamMonthly, Quantity: 1,
					Metadata: map[string]any{"seats": 3}, Name: "Bob's team", DoNotCharge: true,
				})
			},
			method: "POST", path: "/api/v1/subscriptions",
			body: `{"customerExternalId":"user_bob","priceSlug":"team-monthly","quantity":1,"metadata":{"seats":3},"name":"Bob's team","doNotCharge":true}`,
			check: func(t *testing.T, got result) {
				s, err := flowgladapi.DecodeSubscription(got.(json.RawMessage))
				require.NoError(t, err)
				assert.NotEmpty(t, s.ID)
				assert.Equal(t, fake.DemoBobCustomerID, s.CustomerID)
			},
		},
		{
			name: "CancelSubscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CancelSubscription(ctx, aliceSub, flowgladapi.CancelAtEndOfPeriod)
			},
			method: "POST", path: "/api/v1/subscriptions/" + aliceSub + "/cancel",
			body: `{"cancellation":{"timing":"at_end_of_current_billing_period"}}`,
			check: func(t *testing.T, got result) {
				s, err := flowgladapi.DecodeSubscription(got.(json.RawMessage))
				require.NoError(t, err)
				assert.Equal(t, "cancellation_scheduled", s.Status)
			},
		},
		{
			name: "UncancelSubscription",
			setup: func(ctx context.Context, t *testing.T, c *flowgladapi.Client) {
				_, err := c.CancelSubscription(ctx, aliceSub, flowgladapi.CancelAtEndOfPeriod)
				require.NoError(t, err)
			},
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.UncancelSubscription(ctx, aliceSub)
			},
			method: "POST", path: "/api/v1/subscriptions/" + aliceSub + "/uncancel",
			body: `{}`,
			check: func(t *testing.T, got result) {
				s, err := flowgladapi.DecodeSubscription(got.(json.RawMessage))
				require.NoError(t, err)
				assert.Equal(t, "active", s.Status)
			},
		},
		{
			name: "AdjustSubscription",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.AdjustSubscription(ctx, aliceSub, flowgladapi.AdjustSubscriptionParams{
					Timing: flowgladapi.AdjustImmediately, Prorate: ptr(true),
					Items: []flowgladapi.SubscriptionItemParams{{PriceSlug: fake.DemoPriceTeamMonthly, Quantity: 1}},
				})
			},
			method: "POST", path: "/api/v1/subscriptions/" + aliceSub + "/adjust",
			body: `{"adjustment":{"timing":"immediately","newSubscriptionItems":[{"priceSlug":"team-monthly","quantity":1}],"prorateCurrentBillingPeriod":true}}`,
			check: func(t *testing.T, got result) {
				raw := got.(json.RawMessage)
				assert.Equal(t, "immediately", jsonPath(t, raw, "resolvedTiming"))
				assert.Equal(t, true, jsonPath(t, raw, "isUpgrade"))
			},
		},
		{
			name: "CreateUsageEvent",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.CreateUsageEvent(ctx, flowgladapi.UsageEventParams{
					SubscriptionID: aliceSub, Amount: 5, UsageMeterSlug: fake.DemoUsageMeterAPICalls, UsageDate: ptr(int64(1767225600000)),
				})
			},
			method: "POST", path: "/api/v1/usage-events",
			bodyCheck: func(t *testing.T, body []byte) {
				tx, _ := jsonPath(t, body, "usageEvent", "transactionId").(string)
				_, err := uuid.Parse(tx)
				assert.NoError(t, err, "transactionId %q", tx)
				assert.Equal(t, fake.DemoUsageMeterAPICalls, jsonPath(t, body, "usageEvent", "usageMeterSlug"))
			},
			check: func(t *testing.T, got result) {
				assert.EqualValues(t, 5, jsonPath(t, got.(json.RawMessage), "usageEvent", "amount"))
			},
		},
		{
			name: "BulkCreateUsageEvents",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.BulkCreateUsageEvents(ctx, []flowgladapi.UsageEventParams{
					{SubscriptionID: aliceSub, Amount: 1, TransactionID: "tx-1", UsageMeterSlug: fake.DemoUsageMeterAPICalls},
					{SubscriptionID: aliceSub, Amount: 2, TransactionID: "tx-2", PriceSlug: fake.DemoPriceAPICallsOverage},
				})
			},
			method: "POST", path: "/api/v1/usage-events/bulk",
			body: `{"usageEvents":[{"subscriptionId":"sub_alice_pro","amount":1,"transactionId":"tx-1","usageMeterSlug":"api-calls"},{"subscriptionId":"sub_alice_pro","amount":2,"transactionId":"tx-2","priceSlug":"api-calls-overage"}]}`,
			check: func(t *testing.T, got result) {
				raw := got.(json.RawMessage)
				assert.Equal(t, "tx-1", jsonPath(t, raw, "usageEvents", 0, "transactionId"))
				assert.Equal(t, "tx-2", jsonPath(t, raw, "usageEvents", 1, "transactionId"))
			},
		},
		{
			name:   "GetDefaultPricingModel",
			call:   func(ctx context.Context, c *flowgladapi.Client) (result, error) { return c.GetDefaultPricingModel(ctx) },
			method: "GET", path: "/api/v1/pricing-models/default",
			check: func(t *testing.T, got result) {
				assert.Equal(t, fake.DemoPricingModelID, jsonPath(t, got.(json.RawMessage), "pricingModel", "id"))
			},
		},
		{
			name: "GetPricingModel",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetPricingModel(ctx, fake.DemoPricingModelID)
			},
			method: "GET", path: "/api/v1/pricing-models/" + fake.DemoPricingModelID,
			check: func(t *testing.T, got result) {
				assert.Equal(t, true, jsonPath(t, got.(json.RawMessage), "pricingModel", "isDefault"))
			},
		},
		{
			name: "ClaimResource",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ClaimResource(ctx, aliceSub, flowgladapi.ClaimParams{ResourceSlug: fake.DemoResourceSeats, ExternalIDs: []string{"u1", "u2"}, Metadata: map[string]any{"team": "core"}})
			},
			method: "POST", path: "/api/v1/resource-claims/" + aliceSub + "/claim",
			body: `{"resourceSlug":"seats","metadata":{"team":"core"},"externalIds":["u1","u2"]}`,
			check: func(t *testing.T, got result) {
				raw := got.(json.RawMessage)
				assert.EqualValues(t, 2, jsonPath(t, raw, "usage", "claimed"))
				assert.EqualValues(t, 3, jsonPath(t, raw, "usage", "available"))
			},
		},
		{
			name: "ReleaseResource",
			setup: func(ctx context.Context, t *testing.T, c *flowgladapi.Client) {
				_, err := c.ClaimResource(ctx, aliceSub, flowgladapi.ClaimParams{ResourceSlug: fake.DemoResourceSeats, Quantity: 2})
				require.NoError(t, err)
			},
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ReleaseResource(ctx, aliceSub, flowgladapi.ReleaseParams{ResourceSlug: fake.DemoResourceSeats, Quantity: 1})
			},
			method: "POST", path: "/api/v1/resource-claims/" + aliceSub + "/release",
			body: `{"resourceSlug":"seats","quantity":1}`,
			check: func(t *testing.T, got result) {
				assert.EqualValues(t, 1, jsonPath(t, got.(json.RawMessage), "usage", "claimed"))
			},
		},
		{
			name: "GetResourceUsage",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.GetResourceUsage(ctx, aliceSub, flowgladapi.ResourceRef{ResourceSlug: fake.DemoResourceSeats})
			},
			method: "GET", path: "/api/v1/resource-claims/" + aliceSub + "/usage", query: "resourceSlug=seats",
			check: func(t *testing.T, got result) {
				assert.EqualValues(t, 5, jsonPath(t, got.(json.RawMessage), "usage", "capacity"))
			},
		},
		{
			name: "ListResourceUsages",
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ListResourceUsages(ctx, aliceSub, flowgladapi.ResourceUsagesQuery{ResourceSlugs: []string{fake.DemoResourceSeats}})
			},
			method: "GET", path: "/api/v1/resource-claims/" + aliceSub + "/usages", query: "resourceSlugs=seats&resourceSlugs=seats",
			check: func(t *testing.T, got result) {
				assert.Equal(t, "seats", jsonPath(t, got.(json.RawMessage), 0, "usage", "resourceSlug"))
			},
		},
		{
			name: "ListResourceClaims",
			setup: func(ctx context.Context, t *testing.T, c *flowgladapi.Client) {
				_, err := c.ClaimResource(ctx, aliceSub, flowgladapi.ClaimParams{ResourceSlug: fake.DemoResourceSeats, ExternalID: "u9"})
				require.NoError(t, err)
			},
			call: func(ctx context.Context, c *flowgladapi.Client) (result, error) {
				return c.ListResourceClaims(ctx, aliceSub, fake.DemoResourceSeats)
			},
			method: "GET", path: "/api/v1/resource-claims/" + aliceSub + "/claims", query: "resourceSlug=seats",
			check: func(t *testing.T, got result) {
				assert.Equal(t, "u9", jsonPath(t, got.(json.RawMessage), "claims", 0, "externalId"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := newFake(t)
			if tt.setup != nil {
				tt.setup(t.Context(), t, c)
				srv.ResetRequests()
			}
			got, err := tt.call(t.Context(), c)
			require.NoError(t, err)

			r := soleRequest(t, recordedOf(srv.Requests()), tt.method, tt.path, tt.query)
			switch {
			case tt.bodyCheck != nil:
				tt.bodyCheck(t, []byte(r.Body))
			case tt.body != "":
				assert.JSONEq(t, tt.body, r.Body)
			default:
				assert.Empty(t, r.Body)
			}
			tt.check(t, got)
		})
	}
}

// TestClientErrorsAgainstFake checks the client's error handling against
// the fake's real-server error shapes and injected faults.
func TestClientErrorsAgainstFake(t *testing.T) {
	t.Parallel()
	t.Run("unknown customer, escaped id", func(t *testing.T) {
		t.Parallel()
		srv, c := newFake(t)
		_, err := c.GetCustomer(t.Context(), rawID)
		require.Error(t, err)
		assertNoSecret(t, err)
		assert.ErrorIs(t, err, flowgladapi.ErrNotFound)
		var apiErr *flowgladapi.Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "NOT_FOUND", apiErr.Code)
		assert.NotEmpty(t, apiErr.Message)
		assert.NotEmpty(t, apiErr.RequestID)
		reqs := srv.Requests()
		require.Len(t, reqs, 1, "a 404 is not retried")
		assert.Equal(t, "/api/v1/customers/"+escapedID, reqs[0].Path)
	})
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		srv, _ := newFake(t)
		c, err := flowgladapi.NewClient(testKey, flowgladapi.WithBaseURL(srv.URL))
		require.NoError(t, err)
		_, err = c.GetBilling(t.Context(), fake.DemoCustomerAlice)
		require.Error(t, err)
		assertNoSecret(t, err)
		assert.ErrorIs(t, err, flowgladapi.ErrUnauthorized)
		assert.Len(t, srv.Requests(), 1)
	})
	t.Run("conflict", func(t *testing.T) {
		t.Parallel()
		_, c := newFake(t)
		_, err := c.CreateCustomer(t.Context(), flowgladapi.CreateCustomerParams{ExternalID: fake.DemoCustomerAlice, Email: "a@example.com", Name: "A"})
		require.Error(t, err)
		assert.ErrorIs(t, err, flowgladapi.ErrBadRequest)
		var apiErr *flowgladapi.Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusConflict, apiErr.StatusCode)
	})
	t.Run("transient 503 on GET is retried", func(t *testing.T) {
		t.Parallel()
		srv, c := newFake(t)
		srv.FailNext(1, fake.Fault{Status: http.StatusServiceUnavailable})
		b, err := c.GetBilling(t.Context(), fake.DemoCustomerAlice)
		require.NoError(t, err)
		assert.Equal(t, fake.DemoCustomerAlice, b.Customer.ExternalID)
		assert.Len(t, srv.Requests(), 2)
	})
	t.Run("dropped connection on GET is retried", func(t *testing.T) {
		t.Parallel()
		srv, c := newFake(t)
		srv.FailNext(2, fake.Fault{CloseConnection: true})
		_, err := c.GetDefaultPricingModel(t.Context())
		require.NoError(t, err)
		assert.Len(t, srv.Requests(), 3)
	})
	t.Run("rate limit with Retry-After", func(t *testing.T) {
		t.Parallel()
		srv, c := newFake(t)
		w := recordWaits(c)
		srv.FailNext(1, fake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
		_, err := c.GetSubscription(t.Context(), fake.DemoAliceSubscriptionID)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{2 * time.Second}, w.all())
	})
	t.Run("checkout is sent once", func(t *testing.T) {
		t.Parallel()
		srv, c := newFake(t)
		srv.FailNext(1, fake.Fault{Method: "POST", Path: "/api/v1/checkout-sessions", Status: http.StatusBadGateway})
		_, err := c.CreateCheckoutSession(t.Context(), flowgladapi.CheckoutSessionParams{
			Type: flowgladapi.CheckoutSessionProduct, CustomerExternalID: fake.DemoCustomerAlice,
			SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no", PriceSlug: fake.DemoPriceTeamMonthly,
		})
		require.Error(t, err)
		assert.ErrorIs(t, err, flowgladapi.ErrServer)
		assert.Len(t, srv.Requests(), 1)
	})
	t.Run("usage event retried with one transactionId, recorded once", func(t *testing.T) {
		t.Parallel()
		srv, c := newFake(t)
		srv.FailNext(2, fake.Fault{Method: "POST", Path: "/api/v1/usage-events", Status: http.StatusInternalServerError})
		_, err := c.CreateUsageEvent(t.Context(), flowgladapi.UsageEventParams{SubscriptionID: fake.DemoAliceSubscriptionID, Amount: 1, UsageMeterSlug: fake.DemoUsageMeterAPICalls})
		require.NoError(t, err)
		reqs := srv.Requests()
		require.Len(t, reqs, 3)
		for _, r := range reqs {
			assert.JSONEq(t, string(reqs[0].Body), string(r.Body))
		}
	})
	t.Run("latency beyond the per-call timeout", func(t *testing.T) {
		t.Parallel()
		// No spec middleware here: when the client gives up, the fake writes
		// no response at all, and the validator would see an empty 200.
		srv := fake.NewServer(t, fake.WithSeed(fake.DemoSeed()))
		srv.SetLatency(time.Minute)
		c, err := flowgladapi.NewClient(srv.APIKey(), flowgladapi.WithBaseURL(srv.URL), flowgladapi.WithTimeout(50*time.Millisecond))
		require.NoError(t, err)
		_, err = c.GetCustomer(t.Context(), fake.DemoCustomerAlice)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, errors.Is(err, flowgladapi.ErrServer))
	})
}

// TestBillingFixtureMatchesSpec keeps testdata/billing.json honest: it must
// be a valid billing response per the OpenAPI document.
func TestBillingFixtureMatchesSpec(t *testing.T) {
	t.Parallel()
	spec := spectest.Load(t)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/customers/user_42/billing", nil)
	req.Header.Set("Authorization", testKey)
	assert.NoError(t, spec.ValidateResponse(req, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, readBilling(t)))
}

// TestBulkUsageEventsAgainstFake: the bulk call's contract with live
// Flowglad's semantics. An answer lost after the events landed is retried
// with the same transactionIds, and the retry's answer lists nothing (every
// event is recorded already), yet each counts once; a batch with one bad
// event is refused whole.
func TestBulkUsageEventsAgainstFake(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	events := []flowgladapi.UsageEventParams{
		{SubscriptionID: fake.DemoAliceSubscriptionID, Amount: 10, UsageMeterSlug: fake.DemoUsageMeterAPICalls},
		{SubscriptionID: fake.DemoBobSubscriptionID, Amount: 5, UsageMeterSlug: fake.DemoUsageMeterAPICalls, TransactionID: "bob-1"},
	}
	srv.FailNext(1, fake.Fault{Path: "/api/v1/usage-events/bulk", Status: http.StatusBadGateway, AfterApply: true})
	body, err := c.BulkCreateUsageEvents(t.Context(), events)
	require.NoError(t, err)
	got, err := flowgladapi.DecodeUsageEvents(body)
	require.NoError(t, err)
	assert.Empty(t, got, "the retry inserted nothing: the first attempt had")
	assert.Len(t, srv.UsageEvents(), 2)
	alice, _ := srv.UsageBalance(fake.DemoAliceSubscriptionID, fake.DemoUsageMeterAPICalls)
	bob, _ := srv.UsageBalance(fake.DemoBobSubscriptionID, fake.DemoUsageMeterAPICalls)
	assert.InDelta(t, 990, alice, 0)
	assert.InDelta(t, 95, bob, 0)

	_, err = c.BulkCreateUsageEvents(t.Context(), []flowgladapi.UsageEventParams{
		{SubscriptionID: fake.DemoAliceSubscriptionID, Amount: 1, UsageMeterSlug: fake.DemoUsageMeterAPICalls, TransactionID: "new"},
		{SubscriptionID: fake.DemoAliceSubscriptionID, Amount: 1, UsageMeterSlug: "generations", TransactionID: "bad"},
	})
	var apiErr *flowgladapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, `UsageMeter not found: slug "generations"`, apiErr.Message)
	assert.Len(t, srv.UsageEvents(), 2, "the good event of a refused batch is not recorded")
}
