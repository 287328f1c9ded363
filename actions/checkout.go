package actions

import (
	"context"
	"encoding/json"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// CheckoutSessionInput is the body of checkout-sessions/create: a checkout for one price.
type CheckoutSessionInput struct {
	// SuccessURL and CancelURL are absolute http(s) URLs the checkout returns to.
	SuccessURL, CancelURL string
	// Exactly one of PriceID and PriceSlug names the price.
	PriceID, PriceSlug string
	// Quantity defaults to 1.
	Quantity int64
	// OutputMetadata is copied to what the checkout produces (a subscription, a purchase).
	OutputMetadata map[string]any
	// OutputName names what the checkout produces.
	OutputName string
}

// PaymentMethodCheckoutInput is the body of checkout-sessions/create-add-payment-method and
// checkout-sessions/create-activate-subscription.
type PaymentMethodCheckoutInput struct {
	// SuccessURL and CancelURL are absolute http(s) URLs the checkout returns to.
	SuccessURL, CancelURL string
	// TargetSubscriptionID is the customer's subscription the checkout is for: optional when
	// adding a payment method, required when activating a subscription.
	TargetSubscriptionID string
	// OutputMetadata and OutputName are copied to what the checkout produces.
	OutputMetadata map[string]any
	OutputName     string
}

// DecodeCheckoutSession decodes and validates a checkout-sessions/create body. The React
// SDK's type and autoRedirect members are ignored.
func DecodeCheckoutSession(body []byte) (CheckoutSessionInput, error) {
	var in CheckoutSessionInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SuccessURL = f.absoluteURL("successUrl")
	in.CancelURL = f.absoluteURL("cancelUrl")
	switch f.exactlyOne("priceId", "priceSlug") {
	case "priceId":
		in.PriceID = f.reqStr("priceId")
	case "priceSlug":
		in.PriceSlug = f.reqStr("priceSlug")
	}
	in.Quantity = 1
	// Flowglad stores a checkout quantity as a 32-bit integer.
	if q, ok := f.integer("quantity", 1, "must be a positive integer"); ok {
		if q > maxInt32 {
			f.add("quantity", "must be at most 2147483647")
		}
		in.Quantity = q
	}
	in.OutputMetadata, _ = f.metadata("outputMetadata")
	in.OutputName, _ = f.str("outputName")
	return in, f.err()
}

// DecodeAddPaymentMethodCheckout decodes and validates a
// checkout-sessions/create-add-payment-method body.
func DecodeAddPaymentMethodCheckout(body []byte) (PaymentMethodCheckoutInput, error) {
	return decodePaymentMethodCheckout(body, false)
}

// DecodeActivateSubscriptionCheckout decodes and validates a
// checkout-sessions/create-activate-subscription body.
func DecodeActivateSubscriptionCheckout(body []byte) (PaymentMethodCheckoutInput, error) {
	return decodePaymentMethodCheckout(body, true)
}

func decodePaymentMethodCheckout(body []byte, targetRequired bool) (PaymentMethodCheckoutInput, error) {
	var in PaymentMethodCheckoutInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.SuccessURL = f.absoluteURL("successUrl")
	in.CancelURL = f.absoluteURL("cancelUrl")
	if targetRequired || f.has("targetSubscriptionId") {
		in.TargetSubscriptionID = f.reqStr("targetSubscriptionId")
	}
	in.OutputMetadata, _ = f.metadata("outputMetadata")
	in.OutputName, _ = f.str("outputName")
	return in, f.err()
}

// CreateCheckoutSession starts a checkout of one price for the customer and returns
// Flowglad's {checkoutSession, url}. It calls POST /api/v1/checkout-sessions, which is never
// retried blindly; when Flowglad does not know the customer yet (a user who never loaded
// billing), it creates the customer and tries once more.
func (s *Service) CreateCheckoutSession(ctx context.Context, c Customer, in CheckoutSessionInput) (json.RawMessage, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	qty := in.Quantity
	if qty == 0 {
		qty = 1
	}
	return s.checkout(ctx, c, flowgladapi.CheckoutSessionParams{
		Type:               flowgladapi.CheckoutSessionProduct,
		CustomerExternalID: c.ExternalID,
		SuccessURL:         in.SuccessURL,
		CancelURL:          in.CancelURL,
		PriceID:            in.PriceID,
		PriceSlug:          in.PriceSlug,
		Quantity:           qty,
		OutputMetadata:     in.OutputMetadata,
		OutputName:         in.OutputName,
	})
}

func (in CheckoutSessionInput) validate() error {
	f := goFields()
	f.goURL("SuccessURL", in.SuccessURL)
	f.goURL("CancelURL", in.CancelURL)
	if (in.PriceID == "") == (in.PriceSlug == "") {
		f.add("PriceID|PriceSlug", "exactly one of PriceID, PriceSlug is required")
	}
	if in.Quantity < 0 || in.Quantity > maxInt32 {
		f.add("Quantity", "must be a positive integer of at most 2147483647")
	}
	return f.err()
}

// CreateAddPaymentMethodCheckoutSession starts a checkout that adds a payment method, for
// the given subscription of the customer when in.TargetSubscriptionID is set. It reads
// billing to check that subscription is the customer's, then calls POST
// /api/v1/checkout-sessions.
func (s *Service) CreateAddPaymentMethodCheckoutSession(ctx context.Context, c Customer, in PaymentMethodCheckoutInput) (json.RawMessage, error) {
	return s.paymentMethodCheckout(ctx, c, in, flowgladapi.CheckoutSessionAddPaymentMethod)
}

// CreateActivateSubscriptionCheckoutSession starts a checkout that activates one of the
// customer's subscriptions (in.TargetSubscriptionID, required). It reads billing to check
// the subscription is the customer's, then calls POST /api/v1/checkout-sessions.
func (s *Service) CreateActivateSubscriptionCheckoutSession(ctx context.Context, c Customer, in PaymentMethodCheckoutInput) (json.RawMessage, error) {
	return s.paymentMethodCheckout(ctx, c, in, flowgladapi.CheckoutSessionActivateSubscription)
}

func (s *Service) paymentMethodCheckout(ctx context.Context, c Customer, in PaymentMethodCheckoutInput, typ flowgladapi.CheckoutSessionType) (json.RawMessage, error) {
	f := goFields()
	f.goURL("SuccessURL", in.SuccessURL)
	f.goURL("CancelURL", in.CancelURL)
	if typ == flowgladapi.CheckoutSessionActivateSubscription && in.TargetSubscriptionID == "" {
		f.add("TargetSubscriptionID", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if in.TargetSubscriptionID != "" {
		b, err := s.Billing(ctx, c)
		if err != nil {
			return nil, err
		}
		if _, err := s.ownedSubscription(ctx, b, in.TargetSubscriptionID, "subscription "+in.TargetSubscriptionID); err != nil {
			return nil, err
		}
	}
	return s.checkout(ctx, c, flowgladapi.CheckoutSessionParams{
		Type:                 typ,
		CustomerExternalID:   c.ExternalID,
		SuccessURL:           in.SuccessURL,
		CancelURL:            in.CancelURL,
		TargetSubscriptionID: in.TargetSubscriptionID,
		OutputMetadata:       in.OutputMetadata,
		OutputName:           in.OutputName,
	})
}

// checkout creates the session (creating the customer first when Flowglad does not know it:
// a user who never loaded billing).
func (s *Service) checkout(ctx context.Context, c Customer, p flowgladapi.CheckoutSessionParams) (json.RawMessage, error) {
	return withCustomer(ctx, s.client, c, isUnknownCustomer, func() (json.RawMessage, error) {
		return s.client.CreateCheckoutSession(ctx, p)
	})
}
