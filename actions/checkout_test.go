package actions_test

import (
	"context"
	"testing"

	"github.com/flowglad-go/flowglad/actions"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoCreateCheckoutSessionDefaults(t *testing.T) {
	svc, fake := newGoService(t, actions.Options{})
	_, err := svc.CreateCheckoutSession(context.Background(), goAlice, actions.CheckoutSessionInput{
		SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/no", PriceSlug: flowgladapitest.DemoPriceProMonthly,
	})
	require.NoError(t, err)
	cs := sentBody(t, fake, "/api/v1/checkout-sessions")["checkoutSession"].(map[string]any)
	assert.Equal(t, float64(1), cs["quantity"], "a zero Quantity means 1")
	assert.Equal(t, "user_alice", cs["customerExternalId"], "always the given customer")
	assert.Equal(t, []string{"POST /api/v1/checkout-sessions"}, goCalls(fake))
}

func TestGoCheckoutInvalid(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func(*actions.Service) error
		paths []string
	}{
		{"product: relative URLs, no price, negative quantity", func(s *actions.Service) error {
			_, err := s.CreateCheckoutSession(ctx, goAlice, actions.CheckoutSessionInput{SuccessURL: "/ok", CancelURL: "ftp://x", Quantity: -2})
			return err
		}, []string{"SuccessURL", "CancelURL", "PriceID|PriceSlug", "Quantity"}},
		{"product: both prices", func(s *actions.Service) error {
			_, err := s.CreateCheckoutSession(ctx, goAlice, actions.CheckoutSessionInput{SuccessURL: "https://a.example", CancelURL: "https://a.example", PriceID: "p", PriceSlug: "s"})
			return err
		}, []string{"PriceID|PriceSlug"}},
		{"activate: no target", func(s *actions.Service) error {
			_, err := s.CreateActivateSubscriptionCheckoutSession(ctx, goAlice, actions.PaymentMethodCheckoutInput{SuccessURL: "https://a.example", CancelURL: "https://a.example"})
			return err
		}, []string{"TargetSubscriptionID"}},
		{"add payment method: bad URL", func(s *actions.Service) error {
			_, err := s.CreateAddPaymentMethodCheckoutSession(ctx, goAlice, actions.PaymentMethodCheckoutInput{SuccessURL: "https://a.example", CancelURL: "mailto:a@example.com"})
			return err
		}, []string{"CancelURL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, fake := newGoService(t, actions.Options{})
			requireGoIssues(t, tc.run(svc), tc.paths...)
			assert.Empty(t, goCalls(fake), "checked before any call")
		})
	}
}
