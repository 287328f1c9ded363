package flowglad_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidationSameFromGoAndHTTP: one rule set per action. The same invalid input, sent by
// a browser as JSON or passed by Go code as params, gets the same invalid_body issues (path
// and message), limits included, and causes no Flowglad call either way.
func TestValidationSameFromGoAndHTTP(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	longMeta := strings.Repeat("m", 501)
	okURLs := func(p *flowglad.CheckoutSessionParams) {
		p.SuccessURL, p.CancelURL = "https://app.example/ok", "https://app.example/no"
	}
	checkout := func(edit func(*flowglad.CheckoutSessionParams)) func(*flowglad.Service) error {
		return func(s *flowglad.Service) error {
			var p flowglad.CheckoutSessionParams
			edit(&p)
			_, err := s.CreateCheckoutSession(context.Background(), goAlice, p)
			return err
		}
	}
	tests := []struct {
		name, key, body string
		goCall          func(*flowglad.Service) error
	}{
		{"checkout: nothing", "checkout-sessions/create", `{}`, checkout(func(*flowglad.CheckoutSessionParams) {})},
		{"checkout: relative URLs, two prices", "checkout-sessions/create",
			`{"successUrl": "/ok", "cancelUrl": "ftp://x", "priceId": "p", "priceSlug": "s"}`,
			checkout(func(p *flowglad.CheckoutSessionParams) {
				p.SuccessURL, p.CancelURL, p.PriceID, p.PriceSlug = "/ok", "ftp://x", "p", "s"
			})},
		{"checkout: limits", "checkout-sessions/create",
			`{` + checkoutURLs + `, "priceSlug": "` + long + `", "quantity": 2147483648, "outputMetadata": {"a": "` + longMeta + `"}}`,
			checkout(func(p *flowglad.CheckoutSessionParams) {
				okURLs(p)
				p.PriceSlug, p.Quantity, p.OutputMetadata = long, 2147483648, map[string]any{"a": longMeta}
			})},
		{"checkout: metadata values", "checkout-sessions/create",
			`{` + checkoutURLs + `, "priceSlug": "pro", "outputMetadata": {"nested": {"a": 1}, "list": [1]}}`,
			checkout(func(p *flowglad.CheckoutSessionParams) {
				okURLs(p)
				p.PriceSlug, p.OutputMetadata = "pro", map[string]any{"nested": map[string]any{"a": 1}, "list": []any{1}}
			})},
		{"add payment method: bad URL, long target", "checkout-sessions/create-add-payment-method",
			`{"successUrl": "https://a.example", "cancelUrl": "mailto:a@example.com", "targetSubscriptionId": "` + long + `"}`,
			func(s *flowglad.Service) error {
				return errOf(s.CreateAddPaymentMethodCheckoutSession(context.Background(), goAlice, flowglad.PaymentMethodCheckoutParams{
					SuccessURL: "https://a.example", CancelURL: "mailto:a@example.com", TargetSubscriptionID: long}))
			}},
		{"activate: no target", "checkout-sessions/create-activate-subscription", `{` + checkoutURLs + `}`,
			func(s *flowglad.Service) error {
				return errOf(s.CreateActivateSubscriptionCheckoutSession(context.Background(), goAlice, flowglad.PaymentMethodCheckoutParams{
					SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/no"}))
			}},
		{"cancel: no id, no timing", "subscriptions/cancel", `{"cancellation": {}}`,
			func(s *flowglad.Service) error {
				return errOf(s.CancelSubscription(context.Background(), goAlice, flowglad.CancelSubscriptionParams{}))
			}},
		{"cancel: unknown timing, long id", "subscriptions/cancel", `{"id": "` + long + `", "cancellation": {"timing": "later"}}`,
			func(s *flowglad.Service) error {
				return errOf(s.CancelSubscription(context.Background(), goAlice, flowglad.CancelSubscriptionParams{SubscriptionID: long, Timing: "later"}))
			}},
		{"uncancel: no id", "subscriptions/uncancel", `{}`,
			func(s *flowglad.Service) error {
				return errOf(s.UncancelSubscription(context.Background(), goAlice, flowglad.UncancelSubscriptionParams{}))
			}},
		{"adjust: nothing", "subscriptions/adjust", `{}`,
			func(s *flowglad.Service) error {
				return errOf(s.AdjustSubscription(context.Background(), goAlice, flowglad.AdjustSubscriptionParams{}))
			}},
		{"adjust: items and a quantity, bad items, bad timing", "subscriptions/adjust",
			`{"subscriptionItems": [{"priceSlug": "a", "priceId": "b"}, {"priceSlug": "` + long + `", "quantity": -1}], "quantity": 2, "timing": "soon"}`,
			func(s *flowglad.Service) error {
				return errOf(s.AdjustSubscription(context.Background(), goAlice, flowglad.AdjustSubscriptionParams{
					Items:    []flowgladapi.SubscriptionItemParams{{PriceSlug: "a", PriceID: "b"}, {PriceSlug: long, Quantity: -1}},
					Quantity: 2, Timing: "soon"}))
			}},
		{"adjust: empty items", "subscriptions/adjust", `{"subscriptionItems": []}`,
			func(s *flowglad.Service) error {
				return errOf(s.AdjustSubscription(context.Background(), goAlice, flowglad.AdjustSubscriptionParams{Items: []flowgladapi.SubscriptionItemParams{}}))
			}},
		{"usage: no identifier", "usage-events/create", `{}`,
			func(s *flowglad.Service) error {
				return errOf(s.CreateUsageEvent(context.Background(), goAlice, flowglad.UsageEventParams{}))
			}},
		{"usage: two identifiers, limits", "usage-events/create",
			`{"priceSlug": "a", "usageMeterSlug": "b", "transactionId": "` + long + `", "subscriptionId": "` + long + `"}`,
			func(s *flowglad.Service) error {
				return errOf(s.CreateUsageEvent(context.Background(), goAlice, flowglad.UsageEventParams{
					PriceSlug: "a", UsageMeterSlug: "b", TransactionID: long, SubscriptionID: long}))
			}},
		{"usage: negative amount", "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": -1}`,
			func(s *flowglad.Service) error {
				return errOf(s.CreateUsageEvent(context.Background(), goAlice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: -1}))
			}},
		{"balances: long subscription id", "usage-meters/balances", `{"subscriptionId": "` + long + `"}`,
			func(s *flowglad.Service) error {
				return errOf(s.UsageMeterBalances(context.Background(), goAlice, flowglad.UsageMeterBalancesParams{SubscriptionID: long}))
			}},
		{"resource usages: long subscription id", "resources/usages", `{"subscriptionId": "` + long + `"}`,
			func(s *flowglad.Service) error {
				return errOf(s.ResourceUsages(context.Background(), goAlice, flowglad.ResourceUsagesParams{SubscriptionID: long}))
			}},
		{"resource usage: no resource", "resources/usages/retrieve", `{}`,
			func(s *flowglad.Service) error {
				return errOf(s.ResourceUsage(context.Background(), goAlice, flowglad.ResourceUsageParams{}))
			}},
		{"resource usage: both", "resources/usages/retrieve", `{"resourceSlug": "seats", "resourceId": "res_1"}`,
			func(s *flowglad.Service) error {
				return errOf(s.ResourceUsage(context.Background(), goAlice, flowglad.ResourceUsageParams{ResourceSlug: "seats", ResourceID: "res_1"}))
			}},
		{"claims: long slug", "resources/claims", `{"resourceSlug": "` + long + `"}`,
			func(s *flowglad.Service) error {
				return errOf(s.ResourceClaims(context.Background(), goAlice, flowglad.ResourceClaimsParams{ResourceSlug: long}))
			}},
		{"claim: no slug, no mode", "resources/claim", `{}`,
			func(s *flowglad.Service) error {
				return errOf(s.ClaimResource(context.Background(), goAlice, flowglad.ClaimResourceParams{}))
			}},
		{"claim: two modes, metadata", "resources/claim", `{"resourceSlug": "seats", "quantity": 1, "externalId": "a", "metadata": {"a": "` + longMeta + `"}}`,
			func(s *flowglad.Service) error {
				return errOf(s.ClaimResource(context.Background(), goAlice, flowglad.ClaimResourceParams{
					ResourceSlug: "seats", Quantity: 1, ExternalID: "a", Metadata: map[string]any{"a": longMeta}}))
			}},
		{"claim: external ids too long or blank", "resources/claim", `{"resourceSlug": "seats", "externalIds": ["ok", "` + long + `", " "]}`,
			func(s *flowglad.Service) error {
				return errOf(s.ClaimResource(context.Background(), goAlice, flowglad.ClaimResourceParams{
					ResourceSlug: "seats", ExternalIDs: []string{"ok", long, " "}}))
			}},
		{"claim: empty external ids", "resources/claim", `{"resourceSlug": "seats", "externalIds": []}`,
			func(s *flowglad.Service) error {
				return errOf(s.ClaimResource(context.Background(), goAlice, flowglad.ClaimResourceParams{ResourceSlug: "seats", ExternalIDs: []string{}}))
			}},
		{"release: no mode", "resources/release", `{"resourceSlug": "seats"}`,
			func(s *flowglad.Service) error {
				return errOf(s.ReleaseResource(context.Background(), goAlice, flowglad.ReleaseResourceParams{ResourceSlug: "seats"}))
			}},
		{"release: long claim id", "resources/release", `{"resourceSlug": "seats", "claimIds": ["` + long + `"]}`,
			func(s *flowglad.Service) error {
				return errOf(s.ReleaseResource(context.Background(), goAlice, flowglad.ReleaseResourceParams{ResourceSlug: "seats", ClaimIDs: []string{long}}))
			}},
		{"checkout: dot-segment slug", "checkout-sessions/create", `{` + checkoutURLs + `, "priceSlug": "."}`,
			checkout(func(p *flowglad.CheckoutSessionParams) { okURLs(p); p.PriceSlug = "." })},
		{"adjust: dot-segment item price", "subscriptions/adjust", `{"subscriptionItems": [{"priceId": ".."}]}`,
			func(s *flowglad.Service) error {
				return errOf(s.AdjustSubscription(context.Background(), goAlice, flowglad.AdjustSubscriptionParams{
					Items: []flowgladapi.SubscriptionItemParams{{PriceID: ".."}}}))
			}},
		{"usage: dot-segment meter", "usage-events/create", `{"usageMeterSlug": "."}`,
			func(s *flowglad.Service) error {
				return errOf(s.CreateUsageEvent(context.Background(), goAlice, flowglad.UsageEventParams{UsageMeterSlug: "."}))
			}},
		{"resource usage: dot-segment id", "resources/usages/retrieve", `{"resourceId": ".."}`,
			func(s *flowglad.Service) error {
				return errOf(s.ResourceUsage(context.Background(), goAlice, flowglad.ResourceUsageParams{ResourceID: ".."}))
			}},
		{"claims: dot-segment slug", "resources/claims", `{"resourceSlug": "."}`,
			func(s *flowglad.Service) error {
				return errOf(s.ResourceClaims(context.Background(), goAlice, flowglad.ResourceClaimsParams{ResourceSlug: "."}))
			}},
		{"release: dot-segment claim id", "resources/release", `{"resourceSlug": "seats", "claimIds": ["clm_1", ".."]}`,
			func(s *flowglad.Service) error {
				return errOf(s.ReleaseResource(context.Background(), goAlice, flowglad.ReleaseResourceParams{ResourceSlug: "seats", ClaimIDs: []string{"clm_1", ".."}}))
			}},
		{"update customer: nothing to change", "customers/update", `{"customer": {}}`,
			func(s *flowglad.Service) error {
				return errOf(s.UpdateCustomer(context.Background(), goAlice, flowglad.UpdateCustomerParams{}))
			}},
		{"update customer: bad email", "customers/update", `{"customer": {"email": "nope"}}`,
			func(s *flowglad.Service) error {
				bad := "nope"
				_, err := s.UpdateCustomer(context.Background(), goAlice, flowglad.UpdateCustomerParams{Email: &bad})
				return err
			}},
	}
	env := newEnv(t)
	svc := env.h.Service()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := env.post(userAlice, tc.key, tc.body)
			j := res.assertError(t, http.StatusBadRequest, "invalid_body")
			var fromHTTP []flowglad.Issue
			raw, err := json.Marshal(j["issues"])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &fromHTTP))
			require.NotEmpty(t, fromHTTP)

			fromGo := goIssues(t, tc.goCall(svc))
			assert.Equal(t, fromHTTP, fromGo, "the same issues from a browser and from Go")
			assert.Empty(t, env.calls(), "no Flowglad call either way")
		})
	}
}
