package flowglad_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/stretchr/testify/assert"
)

// TestDotSegmentIDs: "." and ".." would change which Flowglad endpoint a path reaches, so
// the REST client refuses them. From a browser they are the usual answers, never a 500: an
// id whose ownership is checked is simply not the customer's (403, as an unknown id); any
// other Flowglad id or slug is a 400 naming the field, before any Flowglad call. A filter
// (features/access) matches nothing.
func TestDotSegmentIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, body string // ID stands for "." or ".."
		status    int
		issue     string // the invalid_body issue's path
	}{
		// Ownership checked: not the customer's.
		{key: "subscriptions/cancel", body: `{"id": "ID", "cancellation": {"timing": "immediately"}}`, status: http.StatusForbidden},
		{key: "subscriptions/uncancel", body: `{"id": "ID"}`, status: http.StatusForbidden},
		{key: "subscriptions/adjust", body: `{"subscriptionId": "ID", "priceSlug": "team-monthly"}`, status: http.StatusForbidden},
		{key: "checkout-sessions/create-add-payment-method", body: `{` + checkoutURLs + `, "targetSubscriptionId": "ID"}`, status: http.StatusForbidden},
		{key: "checkout-sessions/create-activate-subscription", body: `{` + checkoutURLs + `, "targetSubscriptionId": "ID"}`, status: http.StatusForbidden},
		{key: "resources/usages", body: `{"subscriptionId": "ID"}`, status: http.StatusForbidden},
		{key: "resources/usages/retrieve", body: `{"subscriptionId": "ID", "resourceSlug": "seats"}`, status: http.StatusForbidden},
		{key: "resources/claim", body: `{"subscriptionId": "ID", "resourceSlug": "seats", "quantity": 1}`, status: http.StatusForbidden},
		{key: "resources/release", body: `{"subscriptionId": "ID", "resourceSlug": "seats", "quantity": 1}`, status: http.StatusForbidden},
		{key: "resources/claims", body: `{"subscriptionId": "ID"}`, status: http.StatusForbidden},
		{key: "usage-events/create", body: `{"subscriptionId": "ID", "usageMeterSlug": "api-calls"}`, status: http.StatusForbidden},
		{key: "usage-meters/balances", body: `{"subscriptionId": "ID"}`, status: http.StatusForbidden},
		{key: "customers/update", body: `{"customer": {"id": "ID", "name": "A"}}`, status: http.StatusForbidden},
		{key: "customers/update", body: `{"externalId": "ID", "customer": {"name": "A"}}`, status: http.StatusForbidden},
		// A filter: nothing matches.
		{key: "features/access", body: `{"subscriptionId": "ID"}`, status: http.StatusOK},
		// Other Flowglad ids and slugs: refused at validation.
		{key: "checkout-sessions/create", body: `{` + checkoutURLs + `, "priceSlug": "ID"}`, status: http.StatusBadRequest, issue: "priceSlug"},
		{key: "checkout-sessions/create", body: `{` + checkoutURLs + `, "priceId": "ID"}`, status: http.StatusBadRequest, issue: "priceId"},
		{key: "subscriptions/adjust", body: `{"priceSlug": "ID"}`, status: http.StatusBadRequest, issue: "priceSlug"},
		{key: "subscriptions/adjust", body: `{"priceId": "ID"}`, status: http.StatusBadRequest, issue: "priceId"},
		{key: "subscriptions/adjust", body: `{"subscriptionItems": [{"priceSlug": "ID"}]}`, status: http.StatusBadRequest, issue: "subscriptionItems[0].priceSlug"},
		{key: "usage-events/create", body: `{"usageMeterSlug": "ID"}`, status: http.StatusBadRequest, issue: "usageMeterSlug"},
		{key: "usage-events/create", body: `{"usageMeterId": "ID"}`, status: http.StatusBadRequest, issue: "usageMeterId"},
		{key: "usage-events/create", body: `{"priceSlug": "ID"}`, status: http.StatusBadRequest, issue: "priceSlug"},
		{key: "usage-events/create", body: `{"priceId": "ID"}`, status: http.StatusBadRequest, issue: "priceId"},
		{key: "resources/usages/retrieve", body: `{"resourceSlug": "ID"}`, status: http.StatusBadRequest, issue: "resourceSlug"},
		{key: "resources/usages/retrieve", body: `{"resourceId": "ID"}`, status: http.StatusBadRequest, issue: "resourceId"},
		{key: "resources/claims", body: `{"resourceSlug": "ID"}`, status: http.StatusBadRequest, issue: "resourceSlug"},
		{key: "resources/claim", body: `{"resourceSlug": "ID", "quantity": 1}`, status: http.StatusBadRequest, issue: "resourceSlug"},
		{key: "resources/release", body: `{"resourceSlug": "ID", "quantity": 1}`, status: http.StatusBadRequest, issue: "resourceSlug"},
		{key: "resources/release", body: `{"resourceSlug": "seats", "claimIds": ["clm_1", "ID"]}`, status: http.StatusBadRequest, issue: "claimIds[1]"},
	}
	for _, tc := range tests {
		for _, id := range []string{".", ".."} {
			body := strings.ReplaceAll(tc.body, "ID", id)
			t.Run(tc.key+" "+body, func(t *testing.T) {
				env := newEnv(t)
				res := env.post(userAlice, tc.key, body)
				switch tc.status {
				case http.StatusOK:
					assert.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				case http.StatusForbidden:
					res.assertError(t, http.StatusForbidden, "forbidden")
					assertNoDotSegment(t, env.calls())
				case http.StatusBadRequest:
					j := res.assertError(t, http.StatusBadRequest, "invalid_body")
					assert.Equal(t, []any{map[string]any{"path": tc.issue, "message": `must not be "." or ".."`}}, j["issues"])
					assert.Empty(t, env.calls(), "no Flowglad call")
				}
			})
		}
	}
}

// TestDotSegmentExternalID: an authenticator that returns "." or ".." as the external id is
// a bug of the host application: 500 invalid_customer (not a generic internal_error), the
// problem named in the log, and no Flowglad call.
func TestDotSegmentExternalID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{".", ".."} {
		for _, key := range []string{"customers/billing", "subscriptions/cancel", "pricing-models/retrieve"} {
			t.Run(fmt.Sprintf("%s %q", key, id), func(t *testing.T) {
				env := newEnv(t, withConfig(func(c *flowglad.Config) {
					c.Auth = flowglad.AuthenticatorFunc(func(*http.Request) (flowglad.Customer, error) {
						return flowglad.Customer{ExternalID: id, Email: "dot@example.com"}, nil
					})
				}))
				res := env.post(userAlice, key, `{}`)
				res.assertError(t, http.StatusInternalServerError, "invalid_customer")
				assert.Contains(t, env.logs.String(), `ExternalID must not be \".\" or \"..\"`, "the log names the problem")
				assert.NotContains(t, string(res.Body), "dot@example.com")
				assert.Empty(t, env.calls())
			})
		}
	}
}

// TestDotSegmentIDsFromGo: Go callers get the same answers as browsers: an owned
// subscription id "." or ".." is not the customer's (403), without a Flowglad call beyond
// billing.
func TestDotSegmentIDsFromGo(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ok, no = "https://app.example/ok", "https://app.example/no"
	tests := map[string]func(s *flowglad.Service, id string) error{
		"CancelSubscription": func(s *flowglad.Service, id string) error {
			return errOf(s.CancelSubscription(ctx, goAlice, flowglad.CancelSubscriptionParams{SubscriptionID: id, Timing: "immediately"}))
		},
		"UncancelSubscription": func(s *flowglad.Service, id string) error {
			return errOf(s.UncancelSubscription(ctx, goAlice, flowglad.UncancelSubscriptionParams{SubscriptionID: id}))
		},
		"AdjustSubscription": func(s *flowglad.Service, id string) error {
			return errOf(s.AdjustSubscription(ctx, goAlice, flowglad.AdjustSubscriptionParams{SubscriptionID: id, PriceSlug: "team-monthly"}))
		},
		"CreateActivateSubscriptionCheckoutSession": func(s *flowglad.Service, id string) error {
			return errOf(s.CreateActivateSubscriptionCheckoutSession(ctx, goAlice, flowglad.PaymentMethodCheckoutParams{SuccessURL: ok, CancelURL: no, TargetSubscriptionID: id}))
		},
		"ResourceUsages": func(s *flowglad.Service, id string) error {
			return errOf(s.ResourceUsages(ctx, goAlice, flowglad.ResourceUsagesParams{SubscriptionID: id}))
		},
		"ClaimResource": func(s *flowglad.Service, id string) error {
			return errOf(s.ClaimResource(ctx, goAlice, flowglad.ClaimResourceParams{SubscriptionID: id, ResourceSlug: "seats", Quantity: 1}))
		},
		"CreateUsageEvent": func(s *flowglad.Service, id string) error {
			return errOf(s.CreateUsageEvent(ctx, goAlice, flowglad.UsageEventParams{SubscriptionID: id, UsageMeterSlug: "api-calls"}))
		},
		"UsageMeterBalances": func(s *flowglad.Service, id string) error {
			return errOf(s.UsageMeterBalances(ctx, goAlice, flowglad.UsageMeterBalancesParams{SubscriptionID: id}))
		},
	}
	for name, call := range tests {
		for _, id := range []string{".", ".."} {
			t.Run(fmt.Sprintf("%s %q", name, id), func(t *testing.T) {
				env := newEnv(t)
				var e *flowglad.Error
				err := call(env.h.Service(), id)
				if assert.ErrorAs(t, err, &e) {
					assert.Equal(t, http.StatusForbidden, e.Status)
					assert.Equal(t, flowglad.CodeForbidden, e.Code)
				}
				assertNoDotSegment(t, env.calls())
			})
		}
	}
}

// assertNoDotSegment checks that no Flowglad call had "." or ".." as a path segment (at
// the end of the path too, where it would reach the collection's endpoint).
func assertNoDotSegment(t *testing.T, calls []string) {
	t.Helper()
	for _, c := range calls {
		path, _, _ := strings.Cut(strings.TrimPrefix(c, strings.SplitN(c, " ", 2)[0]+" "), "?")
		for _, seg := range strings.Split(path, "/") {
			assert.NotContains(t, []string{".", "..", "%2E", "%2e", "%2E%2E", "%2e%2e"}, seg, "a dot segment in %q", c)
		}
	}
}
