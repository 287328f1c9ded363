package flowglad

import (
	"context"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// CheckoutSessionParams describe a hosted checkout of one price: checkout-sessions/create.
type CheckoutSessionParams struct {
	// Exactly one of PriceSlug and PriceID names the price; a slug resolves in the
	// customer's pricing model.
	PriceSlug, PriceID string
	// SuccessURL and CancelURL are absolute http(s) URLs the checkout returns to.
	SuccessURL, CancelURL string
	// Quantity defaults to 1; at most 2147483647.
	Quantity int64
	// OutputMetadata is copied to what the checkout creates (a subscription, a purchase):
	// string (at most 500 characters), number or boolean values.
	OutputMetadata map[string]any
	// OutputName names what the checkout creates.
	OutputName string
}

func (p CheckoutSessionParams) check(is *issueList) {
	is.url("successUrl", p.SuccessURL)
	is.url("cancelUrl", p.CancelURL)
	is.exactlyOne("", []string{"priceId", "priceSlug"}, p.PriceID != "", p.PriceSlug != "")
	is.id("priceId", p.PriceID, false)
	is.id("priceSlug", p.PriceSlug, false)
	is.count("quantity", p.Quantity, maxInt32)
	is.metadata("outputMetadata", p.OutputMetadata)
}

// PaymentMethodCheckoutParams describe a checkout that collects a payment method:
// checkout-sessions/create-add-payment-method and create-activate-subscription.
type PaymentMethodCheckoutParams struct {
	// SuccessURL and CancelURL are absolute http(s) URLs the checkout returns to.
	SuccessURL, CancelURL string
	// TargetSubscriptionID is the customer's subscription the checkout is for: optional when
	// adding a payment method (it becomes the subscription's default), required when
	// activating a subscription.
	TargetSubscriptionID string
	// OutputMetadata and OutputName are copied to what the checkout produces.
	OutputMetadata map[string]any
	OutputName     string
}

// paymentMethodCheckout is PaymentMethodCheckoutParams with the rule its kind adds.
type paymentMethodCheckout struct {
	PaymentMethodCheckoutParams
	targetRequired bool
}

func (p paymentMethodCheckout) check(is *issueList) {
	is.url("successUrl", p.SuccessURL)
	is.url("cancelUrl", p.CancelURL)
	is.id("targetSubscriptionId", p.TargetSubscriptionID, p.targetRequired)
	is.metadata("outputMetadata", p.OutputMetadata)
}

// decodeCheckoutSession decodes and validates a checkout-sessions/create body. The React
// SDK's type and autoRedirect members are ignored.
func decodeCheckoutSession(body []byte) (CheckoutSessionParams, error) {
	var p CheckoutSessionParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SuccessURL = f.absoluteURL("successUrl")
	p.CancelURL = f.absoluteURL("cancelUrl")
	switch f.exactlyOne("priceId", "priceSlug") {
	case "priceId":
		p.PriceID = f.reqStr("priceId")
	case "priceSlug":
		p.PriceSlug = f.reqStr("priceSlug")
	}
	if q, ok := f.integer("quantity", 1, "must be a positive integer"); ok {
		p.Quantity = q
	}
	p.OutputMetadata, _ = f.metadata("outputMetadata")
	p.OutputName, _ = f.str("outputName")
	return p, f.checked(p)
}

// decodeAddPaymentMethodCheckout decodes and validates a
// checkout-sessions/create-add-payment-method body.
func decodeAddPaymentMethodCheckout(body []byte) (PaymentMethodCheckoutParams, error) {
	return decodePaymentMethodCheckout(body, false)
}

// decodeActivateSubscriptionCheckout decodes and validates a
// checkout-sessions/create-activate-subscription body.
func decodeActivateSubscriptionCheckout(body []byte) (PaymentMethodCheckoutParams, error) {
	return decodePaymentMethodCheckout(body, true)
}

func decodePaymentMethodCheckout(body []byte, targetRequired bool) (PaymentMethodCheckoutParams, error) {
	var p PaymentMethodCheckoutParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.SuccessURL = f.absoluteURL("successUrl")
	p.CancelURL = f.absoluteURL("cancelUrl")
	if targetRequired || f.has("targetSubscriptionId") {
		p.TargetSubscriptionID = f.reqStr("targetSubscriptionId")
	}
	p.OutputMetadata, _ = f.metadata("outputMetadata")
	p.OutputName, _ = f.str("outputName")
	return p, f.checked(paymentMethodCheckout{p, targetRequired})
}

// CreateCheckoutSession starts a hosted checkout of one price for the customer; send the
// customer to the result's URL. It calls POST /api/v1/checkout-sessions, never retried (a
// repeat would open a second session); when Flowglad does not know the customer yet, it
// creates the customer and tries once more.
func (s *Service) CreateCheckoutSession(ctx context.Context, c Customer, p CheckoutSessionParams) (*flowgladapi.CheckoutSession, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := validate(p); err != nil {
		return nil, err
	}
	qty := p.Quantity
	if qty == 0 {
		qty = 1
	}
	return s.checkout(ctx, c, flowgladapi.CheckoutSessionParams{
		Type:               flowgladapi.CheckoutSessionProduct,
		CustomerExternalID: c.ExternalID,
		SuccessURL:         p.SuccessURL,
		CancelURL:          p.CancelURL,
		PriceID:            p.PriceID,
		PriceSlug:          p.PriceSlug,
		Quantity:           qty,
		OutputMetadata:     p.OutputMetadata,
		OutputName:         p.OutputName,
	})
}

// CreateAddPaymentMethodCheckoutSession starts a checkout that adds a payment method, for
// the given subscription of the customer when p.TargetSubscriptionID is set (read from
// billing to check it is the customer's: 403 otherwise). It calls POST
// /api/v1/checkout-sessions.
func (s *Service) CreateAddPaymentMethodCheckoutSession(ctx context.Context, c Customer, p PaymentMethodCheckoutParams) (*flowgladapi.CheckoutSession, error) {
	return s.paymentMethodCheckout(ctx, c, paymentMethodCheckout{p, false}, flowgladapi.CheckoutSessionAddPaymentMethod)
}

// CreateActivateSubscriptionCheckoutSession starts a checkout that activates one of the
// customer's subscriptions (p.TargetSubscriptionID, required, checked against billing). It
// calls POST /api/v1/checkout-sessions.
func (s *Service) CreateActivateSubscriptionCheckoutSession(ctx context.Context, c Customer, p PaymentMethodCheckoutParams) (*flowgladapi.CheckoutSession, error) {
	return s.paymentMethodCheckout(ctx, c, paymentMethodCheckout{p, true}, flowgladapi.CheckoutSessionActivateSubscription)
}

func (s *Service) paymentMethodCheckout(ctx context.Context, c Customer, p paymentMethodCheckout, typ flowgladapi.CheckoutSessionType) (*flowgladapi.CheckoutSession, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := validate(p); err != nil {
		return nil, err
	}
	if p.TargetSubscriptionID != "" {
		if _, err := s.customersSubscription(ctx, c, p.TargetSubscriptionID); err != nil {
			return nil, err
		}
	}
	return s.checkout(ctx, c, flowgladapi.CheckoutSessionParams{
		Type:                 typ,
		CustomerExternalID:   c.ExternalID,
		SuccessURL:           p.SuccessURL,
		CancelURL:            p.CancelURL,
		TargetSubscriptionID: p.TargetSubscriptionID,
		OutputMetadata:       p.OutputMetadata,
		OutputName:           p.OutputName,
	})
}

// checkout creates the session, creating the customer first when Flowglad does not know it
// (a user who never loaded billing).
func (s *Service) checkout(ctx context.Context, c Customer, p flowgladapi.CheckoutSessionParams) (*flowgladapi.CheckoutSession, error) {
	body, err := withCustomer(ctx, s, c, false, func() ([]byte, error) {
		return s.client.CreateCheckoutSession(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeCheckoutSession(body)
}
