package flowglad_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests call the Service as Go code on the server does: typed results, the same
// defaults, checks and errors as the route.

var goAlice = flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}

// newGoService returns a Service (no Auth: a worker's) over a fake seeded with the demo data.
func newGoService(t *testing.T, edit ...func(*flowglad.Config)) (*flowglad.Service, *flowgladapitest.Server) {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()), flowgladapitest.WithClock(testNow))
	cfg := flowglad.Config{
		APIKey:      fake.APIKey(),
		BaseURL:     fake.URL,
		Logger:      slog.New(slog.DiscardHandler),
		RetryPolicy: &flowgladapi.RetryPolicy{MaxRetries: 0},
	}
	for _, e := range edit {
		e(&cfg)
	}
	svc, err := flowglad.NewService(cfg)
	require.NoError(t, err)
	return svc, fake
}

// goCalls lists the fake's calls as "METHOD /path" and forgets them.
func goCalls(fake *flowgladapitest.Server) []string {
	out := []string{}
	for _, r := range fake.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	fake.ResetRequests()
	return out
}

// sentBody decodes the body of the last request to path.
func sentBody(t *testing.T, fake *flowgladapitest.Server, path string) map[string]any {
	t.Helper()
	reqs := fake.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			var m map[string]any
			require.NoError(t, json.Unmarshal(reqs[i].Body, &m))
			return m
		}
	}
	t.Fatalf("no request to %s", path)
	return nil
}

// goIssues returns the issues of a 400 invalid_body *flowglad.Error.
func goIssues(t *testing.T, err error) []flowglad.Issue {
	t.Helper()
	var ae *flowglad.Error
	require.True(t, errors.As(err, &ae), "want *flowglad.Error, got %v", err)
	require.Equal(t, http.StatusBadRequest, ae.Status, "%v", err)
	require.Equal(t, flowglad.CodeInvalidBody, ae.Code)
	issues, _ := ae.Details["issues"].([]flowglad.Issue)
	return issues
}

func TestNewServiceNeedsNoAuth(t *testing.T) {
	t.Setenv("FLOWGLAD_SECRET_KEY", "")
	_, err := flowglad.NewService(flowglad.Config{})
	assert.ErrorContains(t, err, "no API key")
	_, err = flowglad.NewService(flowglad.Config{APIKey: "sk_test_x", BillingCacheTTL: -1})
	assert.Error(t, err)
	svc, err := flowglad.NewService(flowglad.Config{APIKey: "sk_test_x"})
	require.NoError(t, err)
	assert.NotNil(t, svc.Client())
}

// TestServiceWorker: a worker with no HTTP route acts for a customer known only by id. The
// first use creates the Flowglad customer with what Config.LookupCustomer supplies (once,
// even when several jobs start together); later uses never ask again.
func TestServiceWorker(t *testing.T) {
	t.Parallel()
	var lookups atomic.Int32
	svc, fake := newGoService(t, func(c *flowglad.Config) {
		c.LookupCustomer = func(_ context.Context, externalID string) (flowglad.Customer, error) {
			lookups.Add(1)
			return flowglad.Customer{Name: "Org Owner", Email: "owner@" + externalID + ".example"}, nil
		}
	})
	org := flowglad.Customer{ExternalID: "org_acme"} // a B2B app's organization: no email at hand
	ctx := t.Context()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			b, err := svc.Billing(ctx, org)
			if assert.NoError(t, err) {
				assert.Equal(t, "org_acme", b.Customer.ExternalID)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), lookups.Load(), "looked up once, on first use")
	creates := 0
	for _, c := range goCalls(fake) {
		if c == "POST /api/v1/customers" {
			creates++
		}
	}
	assert.Equal(t, 1, creates, "concurrent first uses share one creation")
	created, ok := fake.Customer("org_acme")
	require.True(t, ok)
	assert.Equal(t, "owner@org_acme.example", created.Email)
	assert.Equal(t, "Org Owner", created.Name)

	_, err := svc.CreateCheckoutSession(ctx, org, flowglad.CheckoutSessionParams{
		PriceSlug: flowgladapitest.DemoPriceProMonthly, SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no",
	})
	require.NoError(t, err)
	_, err = svc.Billing(ctx, org)
	require.NoError(t, err)
	assert.Equal(t, int32(1), lookups.Load(), "never again once the customer exists")
}

// TestServiceCustomerWithoutEmail: creating a customer with no email and no lookup fails
// with an error that names the fix, not the authenticator, and makes no creation call.
func TestServiceCustomerWithoutEmail(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t)
	_, err := svc.Billing(t.Context(), flowglad.Customer{ExternalID: "user_new"})
	var ae *flowglad.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, flowglad.CodeInvalidCustomer, ae.Code)
	assert.Contains(t, ae.Message, "Customer.Email")
	assert.Contains(t, ae.Message, "Config.LookupCustomer")
	assert.NotContains(t, ae.Message, "authenticator")
	assert.NotContains(t, goCalls(fake), "POST /api/v1/customers")

	// An existing customer needs no email at all.
	b, err := svc.Billing(t.Context(), goAlice)
	require.NoError(t, err)
	assert.True(t, b.CheckFeatureAccess(flowgladapitest.DemoFeaturePremium))
}

func TestServiceLookupFailure(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t, func(c *flowglad.Config) {
		c.LookupCustomer = func(context.Context, string) (flowglad.Customer, error) {
			return flowglad.Customer{}, errors.New("directory down (secret@example.com)")
		}
	})
	_, err := svc.Billing(t.Context(), flowglad.Customer{ExternalID: "user_new"})
	var ae *flowglad.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, flowglad.CodeInvalidCustomer, ae.Code)
	assert.NotContains(t, ae.Message, "secret@example.com", "the lookup's text stays out of the message")
	assert.NotContains(t, goCalls(fake), "POST /api/v1/customers")
}

func TestServiceInvalidCustomer(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t)
	for _, c := range []flowglad.Customer{{}, {ExternalID: "  "}, {ExternalID: ".."}} {
		_, err := svc.Billing(t.Context(), c)
		var ae *flowglad.Error
		require.ErrorAs(t, err, &ae, "%+v", c)
		assert.Equal(t, flowglad.CodeInvalidCustomer, ae.Code)
		_, err = svc.CreateUsageEvent(t.Context(), c, flowglad.UsageEventParams{UsageMeterSlug: "api-calls"})
		require.ErrorAs(t, err, &ae, "%+v", c)
	}
	assert.Empty(t, goCalls(fake))

	// An invalid email matters only when the customer must be created.
	_, err := svc.Billing(t.Context(), flowglad.Customer{ExternalID: "u", Email: "nope"})
	var ae *flowglad.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, flowglad.CodeInvalidCustomer, ae.Code)
	assert.Contains(t, ae.Message, "Customer.Email is not a valid address", "Go callers read the fix")
	assert.NotContains(t, ae.Message, "nope", "never the address itself")
	assert.NotContains(t, goCalls(fake), "POST /api/v1/customers")
	b, err := svc.Billing(t.Context(), flowglad.Customer{ExternalID: goAlice.ExternalID, Email: "nope"})
	require.NoError(t, err, "a customer Flowglad has needs no valid email")
	assert.NotEmpty(t, b.CurrentSubscriptions)
}

// TestServiceTypedResults: every operation returns Go values, with Raw kept.
func TestServiceTypedResults(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t)
	ctx := t.Context()

	b, err := svc.Billing(ctx, goAlice)
	require.NoError(t, err)
	sub := b.CurrentSubscriptions[0]
	assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, sub.ID)
	assert.True(t, b.CheckFeatureAccessFor(sub.ID, flowgladapitest.DemoFeaturePremium))
	assert.False(t, b.CheckFeatureAccessFor("sub_other", flowgladapitest.DemoFeaturePremium))
	assert.NotNil(t, b.CheckUsageBalanceFor(sub.ID, flowgladapitest.DemoUsageMeterAPICalls))
	assert.False(t, sub.CurrentBillingPeriodEnd.IsZero(), "times are time.Time")
	assert.False(t, b.Customer.CreatedAt.IsZero())

	cust, err := svc.FindOrCreateCustomer(ctx, goAlice)
	require.NoError(t, err)
	assert.Equal(t, flowgladapitest.DemoAliceCustomerID, cust.ID)
	assert.NotEmpty(t, cust.Raw)

	name := "Alice Renamed"
	cust, err = svc.UpdateCustomer(ctx, goAlice, flowglad.UpdateCustomerParams{Name: &name})
	require.NoError(t, err)
	assert.Equal(t, name, cust.Name)

	cs, err := svc.CreateCheckoutSession(ctx, goAlice, flowglad.CheckoutSessionParams{
		PriceSlug: flowgladapitest.DemoPriceTeamMonthly, SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no",
	})
	require.NoError(t, err)
	assert.NotEmpty(t, cs.ID)
	assert.Contains(t, cs.URL, "/checkout/"+cs.ID)
	assert.Equal(t, flowgladapi.CheckoutSessionProduct, cs.Type)
	assert.Equal(t, int64(1), cs.Quantity)

	cs, err = svc.CreateAddPaymentMethodCheckoutSession(ctx, goAlice, flowglad.PaymentMethodCheckoutParams{
		SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no", TargetSubscriptionID: sub.ID,
	})
	require.NoError(t, err)
	assert.Equal(t, flowgladapi.CheckoutSessionAddPaymentMethod, cs.Type)

	ev, err := svc.CreateUsageEvent(ctx, goAlice, flowglad.UsageEventParams{UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls, Amount: 7})
	require.NoError(t, err)
	assert.NotEmpty(t, ev.ID)
	assert.Equal(t, int64(7), ev.Amount)
	assert.Equal(t, sub.ID, ev.SubscriptionID, "the current subscription by default")
	assert.NotEmpty(t, ev.TransactionID, "a transaction id fixed before sending")
	assert.NotEmpty(t, ev.PriceID)
	assert.False(t, ev.UsageDate.IsZero())

	evs, err := svc.BulkCreateUsageEvents(ctx, goAlice, []flowglad.UsageEventParams{
		{UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls, TransactionID: "bulk-1"},
		{UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls, Amount: 2, TransactionID: "bulk-2"},
	})
	require.NoError(t, err)
	require.Len(t, evs, 2)
	assert.Equal(t, flowglad.ServerTransactionID(goAlice.ExternalID, "bulk-2"), evs[1].TransactionID, "stored in the server's key space")

	bals, err := svc.UsageMeterBalances(ctx, goAlice, flowglad.UsageMeterBalancesParams{})
	require.NoError(t, err)
	require.NotEmpty(t, bals)
	assert.Equal(t, flowgladapitest.DemoUsageMeterAPICalls, bals[0].Slug)
	assert.InDelta(t, 1000-7-1-2, bals[0].AvailableBalance, 0, "the events are counted")

	claims, err := svc.ClaimResource(ctx, goAlice, flowglad.ClaimResourceParams{ResourceSlug: flowgladapitest.DemoResourceSeats, ExternalIDs: []string{"u1", "u2"}})
	require.NoError(t, err)
	require.Len(t, claims.Claims, 2)
	assert.Equal(t, "u1", claims.Claims[0].ExternalID)
	assert.False(t, claims.Claims[0].ClaimedAt.IsZero())
	assert.Equal(t, int64(2), claims.Usage.Claimed)

	usages, err := svc.ResourceUsages(ctx, goAlice, flowglad.ResourceUsagesParams{})
	require.NoError(t, err)
	require.Len(t, usages, 1)
	assert.Equal(t, flowgladapitest.DemoResourceSeats, usages[0].ResourceSlug)
	assert.Equal(t, int64(5), usages[0].Capacity)

	one, err := svc.ResourceUsage(ctx, goAlice, flowglad.ResourceUsageParams{ResourceSlug: flowgladapitest.DemoResourceSeats})
	require.NoError(t, err)
	assert.Len(t, one.Claims, 2)

	active, err := svc.ResourceClaims(ctx, goAlice, flowglad.ResourceClaimsParams{})
	require.NoError(t, err)
	assert.Len(t, active, 2)

	released, err := svc.ReleaseResource(ctx, goAlice, flowglad.ReleaseResourceParams{ResourceSlug: flowgladapitest.DemoResourceSeats, ExternalID: "u1"})
	require.NoError(t, err)
	require.Len(t, released.Claims, 1)
	assert.False(t, released.Claims[0].ReleasedAt.IsZero())
	assert.Equal(t, int64(1), released.Usage.Claimed)

	adj, err := svc.AdjustSubscription(ctx, goAlice, flowglad.AdjustSubscriptionParams{PriceSlug: flowgladapitest.DemoPriceTeamMonthly})
	require.NoError(t, err)
	assert.True(t, adj.IsUpgrade)
	assert.Equal(t, flowgladapi.AdjustImmediately, adj.ResolvedTiming)
	assert.Equal(t, sub.ID, adj.Subscription.ID)

	canceled, err := svc.CancelSubscription(ctx, goAlice, flowglad.CancelSubscriptionParams{SubscriptionID: sub.ID, Timing: flowgladapi.CancelAtEndOfPeriod})
	require.NoError(t, err)
	assert.Equal(t, "cancellation_scheduled", canceled.Status)
	assert.False(t, canceled.CancelScheduledAt.IsZero())

	list, err := svc.ListSubscriptions(ctx, goAlice, flowglad.ListSubscriptionsParams{})
	require.NoError(t, err)
	require.NotNil(t, list.CurrentSubscription)
	assert.Equal(t, "cancellation_scheduled", list.CurrentSubscription.Status, "the mutation is seen by the next read")

	restored, err := svc.UncancelSubscription(ctx, goAlice, flowglad.UncancelSubscriptionParams{SubscriptionID: sub.ID})
	require.NoError(t, err)
	assert.Equal(t, "active", restored.Status)

	pm, err := svc.PricingModel(ctx, goAlice)
	require.NoError(t, err)
	assert.Equal(t, flowgladapitest.DemoPricingModelID, pm.ID)
	def, err := svc.DefaultPricingModel(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, def.Products)

	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob}
	created, err := svc.CreateSubscription(ctx, bob, flowglad.CreateSubscriptionParams{PriceSlug: flowgladapitest.DemoPriceProMonthly, DoNotCharge: true})
	require.NoError(t, err)
	assert.Equal(t, flowgladapitest.DemoBobCustomerID, created.CustomerID)

	archived, err := svc.ArchiveCustomer(ctx, bob)
	require.NoError(t, err)
	assert.True(t, archived.Archived)
	assert.Contains(t, goCalls(fake), "POST /api/v1/customers/user_bob/archive", "only the given customer")
}

// TestServiceDefaults: what a zero field means, as the route's defaults.
func TestServiceDefaults(t *testing.T) {
	t.Parallel()
	t.Run("checkout quantity 1, always the given customer", func(t *testing.T) {
		svc, fake := newGoService(t)
		_, err := svc.CreateCheckoutSession(t.Context(), goAlice, flowglad.CheckoutSessionParams{
			SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/no", PriceSlug: flowgladapitest.DemoPriceProMonthly,
		})
		require.NoError(t, err)
		cs := sentBody(t, fake, "/api/v1/checkout-sessions")["checkoutSession"].(map[string]any)
		assert.Equal(t, float64(1), cs["quantity"])
		assert.Equal(t, "user_alice", cs["customerExternalId"])
		assert.Equal(t, []string{"POST /api/v1/checkout-sessions"}, goCalls(fake))
	})
	t.Run("adjust timing auto, quantity 1, prorated", func(t *testing.T) {
		svc, fake := newGoService(t)
		_, err := svc.AdjustSubscription(t.Context(), goAlice, flowglad.AdjustSubscriptionParams{
			Items: []flowgladapi.SubscriptionItemParams{{PriceSlug: flowgladapitest.DemoPriceTeamMonthly}},
		})
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"adjustment": map[string]any{
			"timing":                      "auto",
			"newSubscriptionItems":        []any{map[string]any{"priceSlug": "team-monthly", "quantity": float64(1)}},
			"prorateCurrentBillingPeriod": true,
		}}, sentBody(t, fake, "/api/v1/subscriptions/sub_alice_pro/adjust"))
		assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing", "POST /api/v1/subscriptions/sub_alice_pro/adjust"}, goCalls(fake))
	})
	t.Run("usage amount 1, current subscription, a fresh transaction id, usage date", func(t *testing.T) {
		svc, fake := newGoService(t)
		when := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
		ev, err := svc.CreateUsageEvent(t.Context(), goAlice, flowglad.UsageEventParams{UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls, UsageDate: when})
		require.NoError(t, err)
		sent := sentBody(t, fake, "/api/v1/usage-events")["usageEvent"].(map[string]any)
		assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, sent["subscriptionId"])
		assert.Equal(t, float64(1), sent["amount"])
		assert.Equal(t, ev.TransactionID, sent["transactionId"])
		assert.Equal(t, float64(when.UnixMilli()), sent["usageDate"], "epoch milliseconds on the wire")
		assert.Equal(t, when, ev.UsageDate)
	})
}

// TestServiceRefusals: refusals that are not about input shape, as the route's.
func TestServiceRefusals(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t)
	ctx := t.Context()
	bob := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerBob}
	var ae *flowglad.Error

	_, err := svc.CancelSubscription(ctx, bob, flowglad.CancelSubscriptionParams{SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, Timing: flowgladapi.CancelImmediately})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusForbidden, ae.Status, "another customer's subscription")

	_, err = svc.CreateUsageEvent(ctx, bob, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusForbidden, ae.Status)

	_, err = svc.BulkCreateUsageEvents(ctx, bob, []flowglad.UsageEventParams{
		{UsageMeterSlug: "api-calls"}, {UsageMeterSlug: "api-calls", SubscriptionID: flowgladapitest.DemoAliceSubscriptionID},
	})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusForbidden, ae.Status, "every event's subscription must be the customer's current one")
	assert.NotContains(t, goCalls(fake), "POST /api/v1/usage-events/bulk")
}

// TestServiceUsageEventOutcomeUnknown: when every attempt fails, the error carries the
// transaction id, and retrying with it counts the event once.
func TestServiceUsageEventOutcomeUnknown(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t)
	fake.FailNext(1, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusBadGateway, AfterApply: true})
	_, err := svc.CreateUsageEvent(t.Context(), goAlice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 5})
	var ue *flowglad.UsageEventError
	require.ErrorAs(t, err, &ue)
	require.NotEmpty(t, ue.TransactionID)
	assert.ErrorIs(t, err, flowgladapi.ErrServer)

	_, err = svc.CreateUsageEvent(t.Context(), goAlice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 5, TransactionID: ue.TransactionID})
	require.NoError(t, err)
	b, err := svc.Billing(t.Context(), goAlice)
	require.NoError(t, err)
	assert.InDelta(t, 995, b.CheckUsageBalance("api-calls").AvailableBalance, 0, "recorded once")
}

// TestHandlerAndServiceShareState: a mutation through the Service is seen by the route's
// next read, and the other way round, even with a billing cache.
func TestHandlerAndServiceShareState(t *testing.T) {
	t.Parallel()
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour }))
	svc := env.h.Service()
	balance := func() float64 {
		d := env.post(userAlice, "usage-meters/balances", `{}`).data(t)
		return d["usageMeterBalances"].([]any)[0].(map[string]any)["availableBalance"].(float64)
	}
	status := func() string {
		d := env.post(userAlice, "subscriptions/list", `{}`).data(t)
		return d["currentSubscription"].(map[string]any)["status"].(string)
	}
	assert.Equal(t, "active", status())
	_, err := svc.CancelSubscription(t.Context(), goAlice, flowglad.CancelSubscriptionParams{SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, Timing: flowgladapi.CancelAtEndOfPeriod})
	require.NoError(t, err)
	assert.Equal(t, "cancellation_scheduled", status(), "the route sees the Service's change")

	b, err := svc.Billing(t.Context(), goAlice)
	require.NoError(t, err)
	before := b.CheckUsageBalance("api-calls").AvailableBalance
	env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 3}`).data(t)
	b, err = svc.Billing(t.Context(), goAlice)
	require.NoError(t, err)
	assert.InDelta(t, before-3, b.CheckUsageBalance("api-calls").AvailableBalance, 0, "the Service sees the route's change")
	assert.InDelta(t, before-3, balance(), 0)
}

// TestWriteError: any error of the Service answers as the route would.
func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string // the Retry-After header
	}{
		{"retry after", &flowglad.Error{Status: 503, Code: flowglad.CodeBillingUnavailable, Message: "later", RetryAfter: 1500 * time.Millisecond}, 503, "billing_unavailable", "2"},
		{"validation", &flowglad.Error{Status: 400, Code: flowglad.CodeInvalidBody, Message: "invalid request body", Details: map[string]any{"issues": []flowglad.Issue{{Path: "a", Message: "b"}}}}, 400, "invalid_body", ""},
		{"forbidden", &flowglad.Error{Status: 403, Code: flowglad.CodeForbidden, Message: "no"}, 403, "forbidden", ""},
		{"wrapped", fmt.Errorf("job 7: %w", &flowglad.Error{Status: 409, Code: flowglad.CodeAlreadyCanceled, Message: "already"}), 409, "already_canceled", ""},
		{"flowglad 400", &flowgladapi.Error{StatusCode: 400, Message: "Price not found", Code: "BAD_REQUEST"}, 400, "flowglad_rejected", ""},
		{"flowglad 401", &flowgladapi.Error{StatusCode: 401}, 502, "flowglad_auth_failed", ""},
		{"flowglad 500", &flowgladapi.Error{StatusCode: 500}, 502, "flowglad_unavailable", ""},
		{"timeout", context.DeadlineExceeded, 504, "flowglad_timeout", ""},
		{"unknown", errors.New("disk full"), 500, "internal_error", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			flowglad.WriteError(w, httptest.NewRequest("GET", "/api/report", nil), tc.err)
			res := &response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
			j := res.assertError(t, tc.status, tc.code)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, tc.retryAfter, w.Header().Get("Retry-After"))
			if tc.status >= 500 {
				assert.NotEmpty(t, j["requestId"])
				assert.NotContains(t, w.Body.String(), "disk full", "a 5xx says nothing more")
			}
		})
	}
}

// TestWarmCacheSeesSubscriptionsCreatedElsewhere: with a billing cache, a subscription
// created outside this Service (a checkout, another instance) is not refused until the TTL
// ends: a refusal re-reads billing from Flowglad once before it stands.
func TestWarmCacheSeesSubscriptionsCreatedElsewhere(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t, func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour })
	ctx := t.Context()
	carol := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerCarol, Email: "carol@example.com"}
	b, err := svc.Billing(ctx, carol) // cached: Carol's free plan only
	require.NoError(t, err)
	require.Len(t, b.CurrentSubscriptions, 1)

	// Another instance subscribes her to Pro, straight through Flowglad's API.
	other, err := flowgladapi.NewClient(fake.APIKey(), flowgladapi.WithBaseURL(fake.URL))
	require.NoError(t, err)
	body, err := other.CreateSubscription(ctx, flowgladapi.CreateSubscriptionParams{CustomerExternalID: carol.ExternalID, PriceSlug: flowgladapitest.DemoPriceProMonthly, DoNotCharge: true})
	require.NoError(t, err)
	pro, err := flowgladapi.DecodeSubscription(body)
	require.NoError(t, err)
	goCalls(fake)

	ev, err := svc.CreateUsageEvent(ctx, carol, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", SubscriptionID: pro.ID})
	require.NoError(t, err, "the cached billing did not list it; a fresh read does")
	assert.Equal(t, pro.ID, ev.SubscriptionID)
	assert.Equal(t, []string{"GET /api/v1/customers/user_carol/billing", "POST /api/v1/usage-events"}, goCalls(fake),
		"one read from Flowglad, not the cache's")

	_, err = svc.Billing(ctx, carol) // caches billing again (the event invalidated it)
	require.NoError(t, err)
	goCalls(fake)
	var ae *flowglad.Error
	_, err = svc.CreateUsageEvent(ctx, carol, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", SubscriptionID: flowgladapitest.DemoAliceSubscriptionID})
	require.ErrorAs(t, err, &ae, "another customer's subscription is still refused")
	assert.Equal(t, http.StatusForbidden, ae.Status)
	assert.Equal(t, []string{"GET /api/v1/customers/user_carol/billing"}, goCalls(fake),
		"the cached billing read once more from Flowglad, then the refusal stands")
}

// TestFreshRefusalIsNotReadAgain: a refusal decided from billing just read from Flowglad
// stands at once; only billing kept from before (the cache, the request's memo) is read
// again. A cold cache, or the middleware's memo, must not double the read.
func TestFreshRefusalIsNotReadAgain(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t, func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour })
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice, Email: "alice@example.com"}
	fake.ResetRequests()
	ctx := reqmemo.With(t.Context()) // as the middleware's requests have
	_, err := svc.CreateUsageEvent(ctx, alice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", SubscriptionID: "sub_not_current"})
	var ae *flowglad.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusForbidden, ae.Status)
	assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing"}, goCalls(fake), "billing read once: it was fresh")
}

// TestOwnershipRefusalWithCacheCostsOneCall: another customer's subscription id is refused
// after one confirmation with Flowglad, with or without a warm billing cache; the cache is
// not thrown away for it.
func TestOwnershipRefusalWithCacheCostsOneCall(t *testing.T) {
	svc, fake := newGoService(t, func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour })
	ctx := t.Context()
	_, err := svc.Billing(ctx, goAlice) // warm
	require.NoError(t, err)
	goCalls(fake)

	_, err = svc.AdjustSubscription(ctx, goAlice, flowglad.AdjustSubscriptionParams{SubscriptionID: flowgladapitest.DemoBobSubscriptionID, PriceSlug: flowgladapitest.DemoPriceTeamMonthly})
	var ae *flowglad.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusForbidden, ae.Status)
	assert.Equal(t, []string{"GET /api/v1/subscriptions/" + flowgladapitest.DemoBobSubscriptionID}, goCalls(fake))

	_, err = svc.Billing(ctx, goAlice)
	require.NoError(t, err)
	assert.Empty(t, goCalls(fake), "the cached billing is still used")
}

// TestRefusedWriteKeepsCachedBilling: a write Flowglad refuses (4xx) changed nothing, so the
// cached billing is kept; one that may have landed (a 5xx) forgets it.
func TestRefusedWriteKeepsCachedBilling(t *testing.T) {
	svc, fake := newGoService(t, func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour })
	ctx := t.Context()
	cancel := func() error {
		_, err := svc.CancelSubscription(ctx, goAlice, flowglad.CancelSubscriptionParams{SubscriptionID: flowgladapitest.DemoAliceSubscriptionID, Timing: flowgladapi.CancelImmediately})
		return err
	}
	billingReads := func() int {
		n := 0
		for _, c := range goCalls(fake) {
			if c == "GET /api/v1/customers/user_alice/billing" {
				n++
			}
		}
		return n
	}
	_, err := svc.Billing(ctx, goAlice)
	require.NoError(t, err)
	goCalls(fake)

	fake.FailNext(1, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/subscriptions/sub_alice_pro/cancel", Status: http.StatusBadRequest})
	require.Error(t, cancel())
	_, err = svc.Billing(ctx, goAlice)
	require.NoError(t, err)
	assert.Zero(t, billingReads(), "refused: the cache still holds")

	fake.FailNext(1, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/subscriptions/sub_alice_pro/cancel", Status: http.StatusBadGateway, AfterApply: true})
	require.Error(t, cancel())
	b, err := svc.Billing(ctx, goAlice)
	require.NoError(t, err)
	assert.Equal(t, 1, billingReads(), "outcome unknown: billing is read again")
	assert.Equal(t, "canceled", b.Subscription(flowgladapitest.DemoAliceSubscriptionID).Status)
}

// TestUnknownUsageOutcomeForgetsBilling: a usage event whose last attempt got a 429 may
// have been recorded by an earlier one (the route answers with its transactionId for a
// retry), so cached billing, whose balances it may have changed, is forgotten, as after a
// timeout.
func TestUnknownUsageOutcomeForgetsBilling(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t, func(c *flowglad.Config) { c.BillingCacheTTL = time.Hour })
	ctx := t.Context()
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice, Email: "alice@example.com"}
	_, err := svc.Billing(ctx, alice)
	require.NoError(t, err)
	fake.FailNext(100, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/usage-events", Status: http.StatusTooManyRequests})
	_, err = svc.CreateUsageEvent(ctx, alice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls"})
	var ue *flowglad.UsageEventError
	require.ErrorAs(t, err, &ue)
	goCalls(fake)
	_, err = svc.Billing(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing"}, goCalls(fake), "read again from Flowglad")
}

// TestCurrentSubscriptions: a Go caller gets the current subscriptions from the shared
// billing read, as Billing lists them.
func TestCurrentSubscriptions(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t)
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice, Email: "alice@example.com"}
	goCalls(fake)
	subs, err := svc.CurrentSubscriptions(t.Context(), alice)
	require.NoError(t, err)
	require.Len(t, subs, 1)
	assert.Equal(t, flowgladapitest.DemoAliceSubscriptionID, subs[0].ID)
	assert.True(t, subs[0].HasFeature("premium"))
	assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing"}, goCalls(fake))
	b, err := svc.Billing(t.Context(), alice)
	require.NoError(t, err)
	assert.Equal(t, b.CurrentSubscriptions[0].ID, subs[0].ID)

	_, err = svc.CurrentSubscriptions(t.Context(), flowglad.Customer{})
	assert.Error(t, err, "no external id")
}

// TestRefusalFromTheRequestsBillingIsReadAgain: billing the request read earlier (a gate,
// before the handler changed the customer) counts as kept: a refusal decided from it alone
// is checked once more against Flowglad. A gate reads Alice's billing; the handler gives her
// a new subscription and records usage on it: the event is recorded, not refused as on a
// subscription that is not hers.
func TestRefusalFromTheRequestsBillingIsReadAgain(t *testing.T) {
	t.Parallel()
	svc, fake := newGoService(t)
	alice := flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice}
	ctx := reqmemo.With(t.Context()) // as the middleware's requests have
	_, err := svc.CurrentSubscriptions(ctx, alice)
	require.NoError(t, err)
	sub, err := fake.AddSubscription(alice.ExternalID, flowgladapitest.Subscription{
		Items: []flowgladapitest.SubscriptionItem{{PriceSlug: flowgladapitest.DemoPriceFreeMonthly}},
	})
	require.NoError(t, err)
	_, err = svc.CreateUsageEvent(ctx, alice, flowglad.UsageEventParams{
		UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls, Amount: 1, SubscriptionID: sub.ID})
	require.NoError(t, err)
	require.Len(t, fake.UsageEvents(), 1)
	assert.Equal(t, sub.ID, fake.UsageEvents()[0].SubscriptionID)
}
