package actions_test

import (
	"context"
	"testing"

	"github.com/flowglad-go/flowglad/actions"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoAdjustSubscriptionDefaults(t *testing.T) {
	svc, fake := newGoService(t, actions.Options{})
	_, err := svc.AdjustSubscription(context.Background(), goAlice, actions.AdjustInput{
		Items: []flowgladapi.SubscriptionItemParams{{PriceSlug: flowgladapitest.DemoPriceTeamMonthly}},
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"adjustment": map[string]any{
		"timing":                      "auto",
		"newSubscriptionItems":        []any{map[string]any{"priceSlug": "team-monthly", "quantity": float64(1)}},
		"prorateCurrentBillingPeriod": true,
	}}, sentBody(t, fake, "/api/v1/subscriptions/sub_alice_pro/adjust"), "timing auto, quantity 1, prorated")
	assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing", "POST /api/v1/subscriptions/sub_alice_pro/adjust"}, goCalls(fake))
}

func TestGoSubscriptionInputsInvalid(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func(*actions.Service) error
		paths []string
	}{
		{"cancel: no id, unknown timing", func(s *actions.Service) error {
			_, err := s.CancelSubscription(ctx, goAlice, actions.CancelInput{Timing: "later"})
			return err
		}, []string{"ID", "Timing"}},
		{"uncancel: no id", func(s *actions.Service) error {
			_, err := s.UncancelSubscription(ctx, goAlice, "")
			return err
		}, []string{"id"}},
		{"adjust: nothing to change", func(s *actions.Service) error {
			_, err := s.AdjustSubscription(ctx, goAlice, actions.AdjustInput{})
			return err
		}, []string{"PriceSlug|PriceID|Items"}},
		{"adjust: a price and items, bad item, bad timing", func(s *actions.Service) error {
			_, err := s.AdjustSubscription(ctx, goAlice, actions.AdjustInput{
				PriceSlug: "a", Timing: "soon", Quantity: -1,
				Items: []flowgladapi.SubscriptionItemParams{{PriceSlug: "b", PriceID: "c", Quantity: -1}},
			})
			return err
		}, []string{"PriceSlug|PriceID|Items", "Quantity", "Timing", "Items[0]", "Items[0].Quantity"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, fake := newGoService(t, actions.Options{})
			requireGoIssues(t, tc.run(svc), tc.paths...)
			assert.Empty(t, goCalls(fake), "checked before any call")
		})
	}
}
