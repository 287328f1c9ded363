package flowgladapitest

// checkoutSessionJSON covers the product, add_payment_method and
// activate_subscription variants of CheckoutSessionRecord.
type checkoutSessionJSON struct {
	ID                               string         `json:"id"`
	CreatedAt                        int64          `json:"createdAt"`
	UpdatedAt                        int64          `json:"updatedAt"`
	Livemode                         bool           `json:"livemode"`
	PricingModelID                   string         `json:"pricingModelId"`
	Status                           string         `json:"status"`
	PriceID                          *string        `json:"priceId"`
	PurchaseID                       *string        `json:"purchaseId"`
	InvoiceID                        *string        `json:"invoiceId"`
	Quantity                         int64          `json:"quantity"`
	OrganizationID                   string         `json:"organizationId"`
	CustomerName                     *string        `json:"customerName"`
	CustomerEmail                    *string        `json:"customerEmail"`
	CustomerID                       *string        `json:"customerId"`
	PaymentMethodType                *string        `json:"paymentMethodType"`
	DiscountID                       *string        `json:"discountId"`
	SuccessURL                       *string        `json:"successUrl"`
	CancelURL                        *string        `json:"cancelUrl"`
	Type                             string         `json:"type"`
	PreserveBillingCycleAnchor       bool           `json:"preserveBillingCycleAnchor"`
	OutputMetadata                   map[string]any `json:"outputMetadata"`
	OutputName                       *string        `json:"outputName"`
	TargetSubscriptionID             *string        `json:"targetSubscriptionId"`
	AutomaticallyUpdateSubscriptions *bool          `json:"automaticallyUpdateSubscriptions"`
	Expires                          int64          `json:"expires"`
}

func (f *Fake) checkoutSessionJSON(cs *checkoutSession) checkoutSessionJSON {
	j := checkoutSessionJSON{
		ID: cs.id, CreatedAt: cs.createdAt, UpdatedAt: cs.updatedAt, PricingModelID: f.st.pm.id,
		Status: cs.status, Quantity: cs.quantity, OrganizationID: organizationID,
		SuccessURL: ptr(cs.successURL), CancelURL: ptr(cs.cancelURL), Type: cs.typ,
		PreserveBillingCycleAnchor: cs.preserveAnchor, OutputMetadata: cs.outputMetadata,
		OutputName: cs.outputName, Expires: cs.expires,
	}
	if cs.price != nil {
		j.PriceID = ptr(cs.price.id)
	}
	if cs.cust != nil {
		j.CustomerID = ptr(cs.cust.id)
		j.CustomerName, j.CustomerEmail = ptr(cs.cust.name), ptr(cs.cust.email)
	}
	switch cs.typ {
	case CheckoutProduct:
		if cs.purchase != nil {
			j.PurchaseID = ptr(cs.purchase.id)
		}
	case CheckoutAddPaymentMethod:
		if cs.target != nil {
			j.TargetSubscriptionID = ptr(cs.target.id)
		}
		j.AutomaticallyUpdateSubscriptions = cs.autoUpdate
	case CheckoutActivateSubscription:
		j.TargetSubscriptionID = ptr(cs.target.id)
		j.AutomaticallyUpdateSubscriptions = cs.autoUpdate
	}
	return j
}
