package flowglad

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// CheckoutSessionParams describe a hosted checkout of one price: checkout-sessions/create.
type CheckoutSessionParams struct {
	// Exactly one of PriceSlug and PriceID names the price; a slug resolves in the
	// customer's pricing model.
	PriceSlug, PriceID string
	// SuccessURL and CancelURL are absolute http(s) URLs the checkout returns to, on one
	// of Config.RedirectOrigins when it is set.
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
	// SuccessURL and CancelURL are absolute http(s) URLs the checkout returns to, on one
	// of Config.RedirectOrigins when it is set.
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
	is.ownedID("targetSubscriptionId", p.TargetSubscriptionID, p.targetRequired)
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
	f.oneString([]string{"priceId", "priceSlug"}, &p.PriceID, &p.PriceSlug)
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
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	if err := s.checkRedirects(ctx, p.SuccessURL, p.CancelURL); err != nil {
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
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	if err := s.checkRedirects(ctx, p.SuccessURL, p.CancelURL); err != nil {
		return nil, err
	}
	if p.TargetSubscriptionID != "" {
		if _, err := s.subscriptionStatus(ctx, c, p.TargetSubscriptionID); err != nil {
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

// checkRedirects holds a checkout's successUrl and cancelUrl to Config.RedirectOrigins,
// when it is set, and to the origin of the route's request (withRequestOrigin). It runs
// once the rest of the input is valid, so browsers and Go callers get the same issues.
func (s *Service) checkRedirects(ctx context.Context, successURL, cancelURL string) error {
	if s.redirectOrigins == nil {
		return nil
	}
	requestOrigin, _ := ctx.Value(requestOriginKey{}).(string)
	is := &issueList{}
	for _, u := range []struct{ path, url string }{{"successUrl", successURL}, {"cancelUrl", cancelURL}} {
		o, ok := urlOrigin(u.url)
		if !ok || !s.redirectOrigins[o] && o != requestOrigin {
			is.rule(u.path, "must be on one of the allowed redirect origins")
		}
	}
	return is.err()
}

type requestOriginKey struct{}

// withRequestOrigin records the origin the route's request came from (its Origin header),
// which the cross-origin check has already vetted, as a place a checkout may return to.
func withRequestOrigin(ctx context.Context, r *http.Request) context.Context {
	if o, ok := urlOrigin(r.Header.Get("Origin")); ok {
		return context.WithValue(ctx, requestOriginKey{}, o)
	}
	return ctx
}

// urlOrigin returns the origin of an absolute http(s) URL as a browser would compute it,
// scheme://host[:port] in lowercase without the default port, or false for anything else.
// A user part is refused: "https://app.example@evil.example" goes to evil.example, and
// nobody needs one in a redirect. (url.Parse refuses a backslash before the path, which
// browsers read as a slash: "https://evil.example\@app.example" goes to evil.example.)
func urlOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Host), ":")
	if isDefaultPort(u.Scheme, u.Port()) {
		host = strings.TrimSuffix(host, ":"+u.Port())
	}
	return u.Scheme + "://" + host, true
}
